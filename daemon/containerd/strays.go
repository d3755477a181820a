package containerd

import (
	"context"
	"errors"
	"fmt"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
)

// removeStrays removes the containers of pod that have not exited when its
// sandbox goes: by then the engine has stopped and reaped every instance
// it knows, so what is left is a stray, typically a container whose create
// containerd finished after a SIGKILLed podrund's successor had listed the
// containers (a shim and a process waiting in runc init, never to be
// started). No container may outlive its sandbox. Exited instances are
// left to the reaper, which reads their exit status.
func (r *Runtime) removeStrays(ctx context.Context, pod *corev1.Pod) error {
	ctx = r.nsCtx(ctx)
	conts, err := r.client.Containers(ctx, fmt.Sprintf("labels.%q==%q", labelPodUID, string(pod.UID)))
	if err != nil {
		return fmt.Errorf("list containers of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	var errs []error
	for _, cont := range conts {
		if exited(ctx, cont) {
			continue
		}
		r.log.Warn("removing a container of the pod that the engine did not know of",
			zap.String("pod", pod.Namespace+"/"+pod.Name), zap.String("id", cont.ID()))
		if err := r.RemoveContainer(ctx, cont.ID()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// exited tells whether the container's task has exited (and so waits for
// its reap); a container without a task, or whose task cannot be read, has
// not.
func exited(ctx context.Context, cont containerd.Container) bool {
	task, err := cont.Task(ctx, nil)
	if err != nil {
		return false
	}
	st, err := task.Status(ctx)
	if errdefs.IsNotFound(err) {
		return false
	}
	return err == nil && st.Status == containerd.Stopped
}
