package containerd

import (
	"context"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
)

// taskDeleteTimeout bounds a task delete that podrund's own stopping no
// longer cancels.
const taskDeleteTimeout = time.Minute

// deleteTask deletes a task on a context of its own. containerd removes the
// task from its list and only then shuts the shim down, on the request's
// context ("failed to shutdown shim task and the shim might be leaked" in
// its log): a cancellation in between, such as podrund stopping while it
// reaps an exited instance, leaves a shim running that no API lists any
// more. The leak check of TestDaemonRestart saw such a shim under load.
func deleteTask(ctx context.Context, task containerd.Task, opts ...containerd.ProcessDeleteOpts) (*containerd.ExitStatus, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), taskDeleteTimeout)
	defer cancel()
	return task.Delete(ctx, opts...)
}
