package containerd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/daemon/crilog"
	"github.com/podrun/podrun/supervisor"
)

// labelInputs, on an instance created ahead of its turn, is the
// fingerprint of what its creation resolved from objects that may change
// before the turn (inputsFingerprint).
const labelInputs = "io.podrun.instance.inputs"

// maxHashedFile bounds how much of a subPath file the fingerprint reads;
// ConfigMaps and Secrets are at most 1 MiB.
const maxHashedFile = 4 << 20

// inputsFingerprint hashes what a create resolves at the container's turn
// under the kubelet and that may change meanwhile: the env (ConfigMap and
// Secret keys, envFrom, field references) and the files mounted with
// subPath (fixed at create, unlike whole configMap/secret volumes, which
// are updated in place). Computed before a creation ahead resolves them,
// so a change in between makes the instance stale, never wrongly current.
func (r *Runtime) inputsFingerprint(ctx context.Context, req supervisor.CreateRequest) (string, error) {
	pod, c := req.Pod, req.Container
	res := &envResolver{objects: r.opts.Objects, pod: pod, sandbox: req.Sandbox,
		cms: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}}
	env, err := res.resolve(ctx, c)
	if err != nil {
		return "", fmt.Errorf("resolve env: %w", err)
	}
	h := sha256.New()
	for _, e := range env {
		h.Write([]byte(e))
		h.Write([]byte{0})
	}
	if hasSubPath(c) && r.opts.Volumes != nil {
		mounts, err := r.opts.Volumes.Mounts(ctx, pod, c)
		if err != nil {
			return "", fmt.Errorf("volume mounts: %w", err)
		}
		for i, vm := range c.VolumeMounts {
			if i < len(mounts) && (vm.SubPath != "" || vm.SubPathExpr != "") {
				hashMountSource(h, mounts[i].Source)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hasSubPath(c *corev1.Container) bool {
	for _, vm := range c.VolumeMounts {
		if vm.SubPath != "" || vm.SubPathExpr != "" {
			return true
		}
	}
	return false
}

// hashMountSource adds a subPath mount's source: its path and, for a
// file, its content. The path is the mount's staging bind, re-bound by
// every Mounts call to what the subPath resolves to now, so the content
// is what changes with a projected volume's update.
func hashMountSource(h io.Writer, src string) {
	h.Write([]byte(src))
	h.Write([]byte{0})
	f, err := os.Open(src)
	if err != nil {
		return
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		_, _ = io.Copy(h, io.LimitReader(f, maxHashedFile))
	}
}

// aheadLabels returns the label option of an instance created ahead of its
// turn (nothing for one created at its turn); it is computed before the
// creation resolves anything.
func (r *Runtime) aheadLabels(ctx context.Context, req supervisor.CreateRequest) ([]containerd.NewContainerOpts, error) {
	if !req.Ahead {
		return nil, nil
	}
	fp, err := r.inputsFingerprint(ctx, req)
	if err != nil {
		// The turn's create reports it with the kubelet's reason.
		return nil, &supervisor.StartError{Reason: "CreateContainerConfigError", Message: err.Error(), Err: err}
	}
	return []containerd.NewContainerOpts{containerd.WithAdditionalContainerLabels(map[string]string{labelInputs: fp})}, nil
}

// PreparedCurrent tells whether inst, created ahead of its turn, would be
// created the same now: its recorded fingerprint equals req's. Inputs that
// no longer resolve make it stale, so the turn's create reports the error.
func (r *Runtime) PreparedCurrent(ctx context.Context, req supervisor.CreateRequest, inst supervisor.Instance) (bool, error) {
	ctx = r.nsCtx(ctx)
	fp, err := r.inputsFingerprint(ctx, req)
	if err != nil {
		return false, nil
	}
	cont, err := r.client.ContainerService().Get(ctx, inst.ID)
	if err != nil {
		return false, fmt.Errorf("look up prepared container %s: %w", inst.ID, err)
	}
	return cont.Labels[labelInputs] != "" && cont.Labels[labelInputs] == fp, nil
}

// RemovePrepared removes an instance that was created ahead and never
// started, and the empty log file its log writer made, so that nothing
// (a look at the pod's log directory) ever sees it.
func (r *Runtime) RemovePrepared(ctx context.Context, id string) error {
	nctx := r.nsCtx(ctx)
	var logPath string
	if cont, err := r.client.ContainerService().Get(nctx, id); err == nil {
		logPath = cont.Labels[labelLogPath]
	} else if !errdefs.IsNotFound(err) {
		return fmt.Errorf("look up prepared container %s: %w", id, err)
	}
	if err := r.RemoveContainer(ctx, id); err != nil {
		return err
	}
	if logPath != "" {
		crilog.Remove(logPath)
		os.Remove(filepath.Dir(logPath)) // the container's log dir, when empty
	}
	return nil
}
