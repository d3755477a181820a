package containerd

import (
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/supervisor"
)

// TestPreparedCurrentAndRemove: an instance created ahead records the
// fingerprint of its env; it is current until the ConfigMap it reads
// changes; one created at its turn never passes for prepared; a prepared
// instance starts with the env it was checked for; RemovePrepared leaves
// no container and no log file.
func TestPreparedCurrentAndRemove(t *testing.T) {
	objs := testObjects()
	e := newTestEnvWith(t, func(o *Options) { o.Objects = objs })
	c := busybox("app", "sh", "-c", `echo "mode=$MODE"`)
	c.Env = []corev1.EnvVar{{Name: "MODE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "mode"}}}}
	pod := e.pod(c)
	req := supervisor.CreateRequest{Pod: pod, Container: &pod.Spec.Containers[0], Class: supervisor.Regular,
		Sandbox: supervisor.Sandbox{PodIP: "10.1.2.3"}, ImageRef: c.Image, Ahead: true}
	prepared, err := e.rt.CreateContainer(e.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	current := func(inst supervisor.Instance) bool {
		t.Helper()
		ok, err := e.rt.PreparedCurrent(e.ctx, req, inst)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !current(prepared) {
		t.Fatal("unchanged inputs: prepared instance not current")
	}
	objs.cms["ns/cfg"] = &corev1.ConfigMap{Data: map[string]string{"mode": "slow"}}
	if current(prepared) {
		t.Fatal("ConfigMap changed: prepared instance still current")
	}
	delete(objs.cms, "ns/cfg")
	if current(prepared) {
		t.Fatal("ConfigMap gone: prepared instance still current")
	}
	objs.cms["ns/cfg"] = &corev1.ConfigMap{Data: map[string]string{"mode": "fast"}}
	if !current(prepared) {
		t.Fatal("ConfigMap back as it was: prepared instance not current")
	}
	if _, err := os.Stat(prepared.LogPath); err != nil {
		t.Fatalf("the log writer made no log file for the prepared instance: %v", err)
	}
	if err := e.rt.RemovePrepared(e.ctx, prepared.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(prepared.LogPath); !os.IsNotExist(err) {
		t.Fatalf("removed prepared instance left its log file: %v", err)
	}
	if left, _ := os.ReadDir(filepath.Dir(prepared.LogPath)); len(left) > 0 {
		t.Fatalf("removed prepared instance left %s in its log directory", left[0].Name())
	}

	// Created at its turn: no fingerprint, never current as prepared.
	atTurn := req
	atTurn.Ahead = false
	inst, err := e.rt.CreateContainer(e.ctx, atTurn)
	if err != nil {
		t.Fatal(err)
	}
	if current(inst) {
		t.Fatal("an instance created at its turn passed for a prepared one")
	}
	if err := e.rt.RemoveContainer(e.ctx, inst.ID); err != nil {
		t.Fatal(err)
	}

	// A current prepared instance starts and runs with its env.
	prepared, err = e.rt.CreateContainer(e.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !current(prepared) {
		t.Fatal("second prepared instance not current")
	}
	if _, err := e.rt.StartContainer(e.ctx, prepared.ID); err != nil {
		t.Fatal(err)
	}
	e.waitExit(prepared.ID)
	if _, err := e.rt.Reap(e.ctx, prepared.ID); err != nil {
		t.Fatal(err)
	}
	if out := e.stdout(prepared); len(out) != 1 || out[0] != "mode=fast" {
		t.Fatalf("prepared instance printed %q", out)
	}
}
