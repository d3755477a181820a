package containerd

import (
	"testing"
	"time"

	"github.com/podrun/podrun/supervisor"
)

// TestListDescribesForAdoption: the listing carries what the engine needs
// to adopt an instance its store does not name (a podrund SIGKILLed after
// the start, before the commit; supervisor/adopt_unrecorded.go): sandbox
// attempt, log path, stop signal, image and creation time, as the
// instance was created.
func TestListDescribesForAdoption(t *testing.T) {
	e := newTestEnv(t)
	pod := e.pod(busybox("app", "sleep", "1000"))
	c := &pod.Spec.Containers[0]
	inst, err := e.rt.CreateContainer(e.ctx, supervisor.CreateRequest{Pod: pod, Container: c,
		Class: supervisor.Regular, Attempt: 2, Sandbox: supervisor.Sandbox{Attempt: 3, PodIP: "10.1.2.3"},
		ImageRef: c.Image})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := e.rt.RemoveContainer(e.ctx, inst.ID); err != nil {
			t.Errorf("remove: %v", err)
		}
	}()
	if _, err := e.rt.StartContainer(e.ctx, inst.ID); err != nil {
		t.Fatal(err)
	}
	all, err := e.rt.ListContainers(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var rc *supervisor.RuntimeContainer
	for i := range all {
		if all[i].ID == inst.ID {
			rc = &all[i]
		}
	}
	if rc == nil {
		t.Fatalf("instance %s not listed", inst.ID)
	}
	if rc.State != supervisor.InstanceRunning || rc.Attempt != 2 || rc.SandboxAttempt != 3 {
		t.Errorf("listed %+v, want Running, attempt 2, sandbox attempt 3", rc)
	}
	if rc.LogPath == "" || rc.LogPath != inst.LogPath {
		t.Errorf("listed log path %q, want %q", rc.LogPath, inst.LogPath)
	}
	if rc.StopSignal == 0 || rc.StopSignal != inst.StopSignal {
		t.Errorf("listed stop signal %v, want %v", rc.StopSignal, inst.StopSignal)
	}
	if rc.ImageRef == "" || rc.ImageRef != inst.ImageRef {
		t.Errorf("listed image %q, want %q", rc.ImageRef, inst.ImageRef)
	}
	if d := rc.CreatedAt.Sub(inst.CreatedAt); rc.CreatedAt.IsZero() || d < -time.Minute || d > time.Minute {
		t.Errorf("listed creation time %v, instance created at %v", rc.CreatedAt, inst.CreatedAt)
	}
}
