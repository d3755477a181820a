package containerd

import (
	"context"
	"testing"

	"github.com/containerd/errdefs"
)

// A pod deleted while its container is being created cancels the context of
// CreateContainer; the task may exist in the shim all the same. The cleanup
// of the failed creation must still remove task, container and snapshot
// (found by integration/jobs, where the Job controller deletes pods that
// are just starting).
func TestRemoveFailedContainerWithCanceledContext(t *testing.T) {
	e := newTestEnv(t)
	inst := e.mustCreate(e.pod(busybox("app", "sleep", "60")), 0)
	ctx := e.rt.nsCtx(context.Background())
	cont, err := e.rt.client.LoadContainer(ctx, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cont.Task(ctx, nil); err != nil {
		t.Fatalf("the created instance has no task: %v", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := e.rt.removeFailedContainer(canceled, cont); err != nil {
		t.Fatalf("remove with a canceled context: %v", err)
	}
	if _, err := e.rt.client.LoadContainer(ctx, inst.ID); !errdefs.IsNotFound(err) {
		t.Fatalf("container still there after removal: %v", err)
	}
	// newTestEnv's cleanup checks that no task, snapshot, mount or shim remains.
}
