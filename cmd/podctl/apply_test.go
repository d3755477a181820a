package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podrun/podrun/api/client"
	"github.com/podrun/podrun/api/client/fake"
)

const manifest = `apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  a: "1"
---
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: app
    image: busybox:IMAGE_TAG
    command: ["sleep", "3600"]
`

func TestApplyCreatedConfiguredUnchanged(t *testing.T) {
	srv := fake.Start(t)
	file := appFile(t)

	r := podctl(t, srv, "apply", "-f", file)
	if r.code != 0 || r.stdout != "configmap/cfg created\npod/web created\n" {
		t.Fatalf("first apply: %+v", r)
	}
	if p := srv.Get(client.Pods, "default", "web"); p == nil {
		t.Fatal("pod not stored")
	}

	r = podctl(t, srv, "apply", "-f", file)
	if r.code != 0 || r.stdout != "configmap/cfg unchanged\npod/web unchanged\n" {
		t.Fatalf("second apply: %+v", r)
	}

	changed := writeFile(t, "app.yaml", strings.ReplaceAll(manifest, "IMAGE_TAG", "1.36"))
	r = podctl(t, srv, "apply", "-f", changed)
	if r.code != 0 || r.stdout != "configmap/cfg unchanged\npod/web configured\n" {
		t.Fatalf("changed apply: %+v", r)
	}

	// The rule of the brief: GET, then POST on 404, else PUT.
	var verbs []string
	for _, req := range srv.Requests() {
		if strings.Contains(req, "/pods") {
			verbs = append(verbs, strings.Fields(req)[0])
		}
	}
	if got := strings.Join(verbs, " "); got != "GET POST GET PUT GET PUT" {
		t.Errorf("pod requests %q", got)
	}
}

func TestApplyOutputFormats(t *testing.T) {
	srv := fake.Start(t)
	doc := strings.ReplaceAll(manifest, "IMAGE_TAG", "1.28")
	if r := podctlIn(t, srv, strings.NewReader(doc), "apply", "-f", "-", "-o", "name"); r.stdout != "configmap/cfg\npod/web\n" {
		t.Errorf("-o name: %+v", r)
	}
	r := podctlIn(t, srv, strings.NewReader(doc), "apply", "-f", "-", "-o", "json")
	var l struct {
		Kind  string `json:"kind"`
		Items []struct {
			Kind     string            `json:"kind"`
			Metadata metav1.ObjectMeta `json:"metadata"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil || l.Kind != "List" || len(l.Items) != 2 ||
		l.Items[1].Kind != "Pod" || l.Items[1].Metadata.UID == "" {
		t.Errorf("-o json: %v %+v", err, r)
	}
}

func TestApplyFromStdinAndDirectory(t *testing.T) {
	srv := fake.Start(t)
	doc := strings.ReplaceAll(manifest, "IMAGE_TAG", "1.28")
	r := podctlIn(t, srv, strings.NewReader(doc), "apply", "-f", "-", "-n", "team")
	if r.code != 0 || r.stdout != "configmap/cfg created\npod/web created\n" {
		t.Fatalf("stdin apply: %+v", r)
	}
	if srv.Get(client.Pods, "team", "web") == nil {
		t.Error("pod not created in namespace team")
	}
	dir := t.TempDir()
	writeFileIn(t, dir, "b.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: s1}\nstringData: {k: v}\n")
	writeFileIn(t, dir, "a.json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c1"}}`)
	writeFileIn(t, dir, "notes.txt", "ignored")
	r = podctl(t, srv, "apply", "-f", dir)
	if r.code != 0 || r.stdout != "configmap/c1 created\nsecret/s1 created\n" {
		t.Errorf("dir apply: %+v", r)
	}
}

func TestApplyDecodeErrorSendsNothing(t *testing.T) {
	srv := fake.Start(t)
	bad := writeFile(t, "bad.yaml", strings.ReplaceAll(manifest, "image:", "imagee:"))
	r := podctl(t, srv, "apply", "-f", bad)
	if r.code != 1 || !strings.Contains(r.stderr, "bad.yaml") || !strings.Contains(r.stderr, "imagee") {
		t.Errorf("unknown field: %+v", r)
	}
	notYAML := writeFile(t, "junk.yaml", "\x00\x01 this: is: not yaml")
	r = podctl(t, srv, "apply", "-f", notYAML)
	if r.code != 1 || !strings.Contains(r.stderr, "junk.yaml") {
		t.Errorf("not yaml: %+v", r)
	}
	r = podctl(t, srv, "apply", "-f", "/does/not/exist.yaml")
	if r.code != 1 || r.stderr != "error: the path \"/does/not/exist.yaml\" does not exist\n" {
		t.Errorf("missing path: %+v", r)
	}
	if reqs := srv.Requests(); len(reqs) != 0 {
		t.Errorf("requests were sent: %v", reqs)
	}
}

func TestApplyServerErrorIsPrintedAsKubectlDoes(t *testing.T) {
	srv := fake.Start(t)
	srv.Reject = func(method string, res client.Resource, obj fake.Object) *metav1.Status {
		return &metav1.Status{Status: metav1.StatusFailure, Code: 422, Reason: metav1.StatusReasonInvalid,
			Message: `Pod "web" is invalid: spec.containers[0].image: Required value`}
	}
	file := writeFile(t, "pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers: [{name: app}]\n")
	r := podctl(t, srv, "apply", "-f", file)
	want := "Error from server (Invalid): Pod \"web\" is invalid: spec.containers[0].image: Required value\n"
	if r.code != 1 || r.stderr != want || r.stdout != "" {
		t.Errorf("got %+v, want stderr %q", r, want)
	}
}

// appFile writes manifest (a ConfigMap and pod web, busybox 1.28) to a
// file of the test's own.
func appFile(t *testing.T) string {
	t.Helper()
	return writeFile(t, "app.yaml", strings.ReplaceAll(manifest, "IMAGE_TAG", "1.28"))
}

// applyWaiting starts podctl apply --wait of appFile and returns once it
// watches the pods.
func applyWaiting(t *testing.T, srv *fake.Server) func() result {
	t.Helper()
	return podctlWatching(t, srv, client.Pods, "apply", "-f", appFile(t), "--wait", "--timeout", "10s")
}

// withApp gives p's container "app" the status state.
func withApp(p *corev1.Pod, state corev1.ContainerState) *corev1.Pod {
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: state}}
	return p
}

func TestApplyWait(t *testing.T) {
	srv := fake.Start(t)
	done := applyWaiting(t, srv)
	srv.Set(client.Pods, pod("web", corev1.PodPending))
	srv.Set(client.Pods, pod("web", corev1.PodRunning, readyCond(true)))
	r := done()
	if r.code != 0 || r.stdout != "configmap/cfg created\npod/web created\npod/web ready\n" {
		t.Errorf("apply --wait: %+v", r)
	}
	if !strings.Contains(r.stderr, "pod/web: Running") {
		t.Errorf("no progress on stderr: %q", r.stderr)
	}
}

func TestApplyWaitFailedPod(t *testing.T) {
	srv := fake.Start(t)
	done := applyWaiting(t, srv)
	srv.Set(client.Pods, withApp(pod("web", corev1.PodFailed), corev1.ContainerState{
		Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}))
	r := done()
	if r.code != 1 || !strings.Contains(r.stderr, "pod/web: failed (Error)") {
		t.Errorf("apply --wait of a failing pod: %+v", r)
	}
}

func TestApplyWaitTimeout(t *testing.T) {
	srv := fake.Start(t)
	file := appFile(t)
	start := time.Now()
	r := podctl(t, srv, "apply", "-f", file, "--wait", "--timeout", "300ms")
	if r.code != 1 || !strings.Contains(r.stderr, "timed out waiting for pod/web") {
		t.Errorf("timeout: %+v", r)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("timeout took %v", time.Since(start))
	}
}
