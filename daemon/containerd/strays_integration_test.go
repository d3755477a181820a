package containerd

import (
	"testing"

	"github.com/podrun/podrun/supervisor"
)

// TestRemoveSandboxRemovesStrays: when a pod's sandbox is removed, a
// container of the pod the engine never knew of (created, never started,
// as a create that finished after a SIGKILLed podrund's successor listed
// the containers leaves it) goes with it; an exited instance of the pod is
// left for its reap, which still reads its exit status; another pod's
// instance is untouched.
func TestRemoveSandboxRemovesStrays(t *testing.T) {
	e := newTestEnv(t)
	pod := e.pod(busybox("app", "sleep", "1000"))
	stray := e.mustCreate(pod, 0)
	quick := e.pod(busybox("quick", "sh", "-c", "exit 4"))
	quick.UID = pod.UID // a second container of the same pod
	exited := e.createAndStart(quick)
	e.waitExit(exited.ID)
	kept := e.mustCreate(e.pod(busybox("other", "sleep", "1000")), 0)

	if err := e.rt.RemoveSandbox(e.ctx, pod); err != nil {
		t.Fatal(err)
	}
	listed := e.listed()
	if _, ok := listed[stray.ID]; ok {
		t.Error("the stray (created, never started) instance outlived its sandbox")
	}
	if rc, ok := listed[exited.ID]; !ok || rc.State != supervisor.InstanceExited {
		t.Errorf("the exited instance of the pod was not left for its reap: %+v (listed %v)", rc, ok)
	}
	if _, ok := listed[kept.ID]; !ok {
		t.Error("another pod's instance was removed")
	}
	if st, err := e.rt.Reap(e.ctx, exited.ID); err != nil || st.ExitCode != 4 {
		t.Errorf("reap after the sandbox went: %+v, %v", st, err)
	}
	if err := e.rt.RemoveContainer(e.ctx, kept.ID); err != nil {
		t.Error(err)
	}
}
