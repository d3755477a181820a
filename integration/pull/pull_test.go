package pull

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// podctl image pull fetches from the registry and get images lists the result.
func TestPodctlImagePull(t *testing.T) {
	t.Parallel()
	_, ref, c := pushedImage(t, "pulled")
	if out := c.MustPodctl("image", "pull", ref); !strings.Contains(out, ref) || !strings.Contains(out, "pulled") {
		t.Errorf("podctl image pull %s printed %q", ref, out)
	}
	if out := c.MustPodctl("get", "images"); !strings.Contains(out, ref) {
		t.Errorf("podctl get images does not list %s:\n%s", ref, out)
	}
}

// IfNotPresent pulls an absent image once (Pulling, Pulled "Successfully
// pulled"); the next pod finds it "already present on machine" (R27).
func TestPodPullIfNotPresent(t *testing.T) {
	t.Parallel()
	_, ref, c := pushedImage(t, "e2e")
	c.Apply(podYAML("first", ref, corev1.PullIfNotPresent))
	waitRunning(c, "first")
	wantEvent(c, "first", corev1.EventTypeNormal, "Pulling", fmt.Sprintf("Pulling image %q", ref))
	wantEvent(c, "first", corev1.EventTypeNormal, "Pulled", fmt.Sprintf("Successfully pulled image %q", ref))

	c.Apply(podYAML("second", ref, corev1.PullIfNotPresent))
	waitRunning(c, "second")
	wantEvent(c, "second", corev1.EventTypeNormal, "Pulled", fmt.Sprintf("Container image %q already present on machine", ref))
	noEvent(c, "second", "Pulling", ref)
}

// Never with an absent image waits with ErrImageNeverPull and never asks
// the registry.
func TestPodPullNeverAbsent(t *testing.T) {
	t.Parallel()
	_, ref, c := pushedImage(t, "never")
	c.Apply(podYAML("never", ref, corev1.PullNever))
	waitWaiting(c, "never", "ErrImageNeverPull", 30*time.Second)
	wantEvent(c, "never", corev1.EventTypeWarning, "ErrImageNeverPull",
		fmt.Sprintf("Container image %q is not present with pull policy of Never", ref))
	noEvent(c, "never", "Pulling", ref)
}

// A tag the registry does not have: ErrImagePull, then ImagePullBackOff
// with the Failed and BackOff events (R87, R99).
func TestPodPullMissingTag(t *testing.T) {
	t.Parallel()
	reg, _, c := pushedImage(t, "e2e")
	ref := reg.Host + "/busybox:nosuchtag"
	c.Apply(podYAML("missing", ref, corev1.PullIfNotPresent))
	p := waitWaiting(c, "missing", "ErrImagePull", 30*time.Second)
	if msg := p.Status.ContainerStatuses[0].State.Waiting.Message; !strings.Contains(msg, ref) || !strings.Contains(msg, "not found") {
		t.Errorf("ErrImagePull message should name %s and say it is not found: %q", ref, msg)
	}
	// The retry after an error comes 10 s later and finds the back-off.
	waitWaiting(c, "missing", "ImagePullBackOff", 30*time.Second)
	wantEvent(c, "missing", corev1.EventTypeNormal, "Pulling", fmt.Sprintf("Pulling image %q", ref))
	wantEvent(c, "missing", corev1.EventTypeWarning, "Failed", fmt.Sprintf("Failed to pull image %q", ref))
	wantEvent(c, "missing", corev1.EventTypeWarning, "Failed", "Error: ErrImagePull")
	wantEvent(c, "missing", corev1.EventTypeNormal, "BackOff", fmt.Sprintf("Back-off pulling image %q", ref))
	wantEvent(c, "missing", corev1.EventTypeWarning, "Failed", "Error: ImagePullBackOff")
}

// Always with the registry down and the image present runs the image and
// says with a Warning that the pull failed.
func TestPodPullAlwaysRegistryDown(t *testing.T) {
	t.Parallel()
	reg, ref, c := pushedImage(t, "always")
	c.MustPodctl("image", "pull", ref)
	if err := reg.Stop(); err != nil {
		t.Fatal(err)
	}
	c.Apply(podYAML("always", ref, corev1.PullAlways))
	waitRunning(c, "always")
	wantEvent(c, "always", corev1.EventTypeNormal, "Pulling", fmt.Sprintf("Pulling image %q", ref))
	wantEvent(c, "always", corev1.EventTypeWarning, "Failed", fmt.Sprintf("Failed to pull image %q", ref))
}

// A registry with htpasswd auth: podrund configured with a docker
// config.json (imagePull.dockerConfig) pulls; a podrund without the
// credentials gets ErrImagePull.
func TestPodPullWithCredentials(t *testing.T) {
	t.Parallel()
	reg := startRegistry(t, true)
	ref := reg.push(t, "private/busybox", "e2e")

	anon := env.Client(t)
	anon.Apply(podYAML("anonymous", ref, corev1.PullIfNotPresent))
	p := waitWaiting(anon, "anonymous", "ErrImagePull", 30*time.Second)
	if msg := p.Status.ContainerStatuses[0].State.Waiting.Message; !strings.Contains(msg, "authorization") {
		t.Errorf("ErrImagePull message without credentials should say authorization failed: %q", msg)
	}
	wantEvent(anon, "anonymous", corev1.EventTypeWarning, "Failed", fmt.Sprintf("Failed to pull image %q", ref))

	d := env.PrivateDaemon(t)
	dockerConfig := filepath.Join(d.Dir, "docker-config.json")
	auth := base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPass))
	cfg, err := json.Marshal(map[string]any{"auths": map[string]any{reg.Host: map[string]string{"auth": auth}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dockerConfig, cfg, 0o600); err != nil {
		t.Fatalf("write docker config.json: %v", err)
	}
	f, err := os.OpenFile(d.Config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatalf("open podrund config: %v", err)
	}
	_, err = fmt.Fprintf(f, "imagePull:\n  dockerConfig: %s\n", dockerConfig)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("add imagePull.dockerConfig to podrund config: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := d.Restart(ctx, syscall.SIGTERM); err != nil {
		t.Fatalf("restart podrund with the docker config: %v", err)
	}
	removeImageAtCleanup(t, d, ref)
	c := env.ClientOn(t, d)
	c.Apply(podYAML("authenticated", ref, corev1.PullIfNotPresent))
	waitRunning(c, "authenticated")
	wantEvent(c, "authenticated", corev1.EventTypeNormal, "Pulled", fmt.Sprintf("Successfully pulled image %q", ref))
}
