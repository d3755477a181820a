package containerd

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"
	"go.uber.org/zap"

	"github.com/podrun/podrun/supervisor"
)

// killWait bounds the wait for an exit after SIGKILL; a process in
// uninterruptible sleep must not hang the pod's worker forever.
const killWait = 30 * time.Second

// StartContainer starts the process of a created instance and records
// when, so a restarted podrund can report startedAt (ListContainers). The
// time goes to a file in the instance's directory, not to a containerd
// label: a label update is a containerd metadata commit per container
// start, on the pod's start path.
func (r *Runtime) StartContainer(ctx context.Context, id string) (time.Time, error) {
	ctx = r.nsCtx(ctx)
	ct, err := r.startable(ctx, id)
	if err != nil {
		return time.Time{}, runError(err)
	}
	if err := ct.task.Start(ctx); err != nil {
		return time.Time{}, runError(fmt.Errorf("start task: %w", err))
	}
	started := time.Now()
	if err := writeStartedAt(ct.termLog, started); err != nil {
		r.log.Warn("record start time", zap.String("id", id), zap.Error(err))
	}
	return started, nil
}

func runError(err error) error {
	return &supervisor.StartError{Reason: "RunContainerError", Message: err.Error(), Err: err}
}

func (r *Runtime) loadTask(ctx context.Context, id string) (containerd.Container, containerd.Task, error) {
	cont, err := r.client.LoadContainer(ctx, id)
	if err != nil {
		return nil, nil, fmt.Errorf("load container %s: %w", id, err)
	}
	task, err := cont.Task(ctx, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("load task of %s: %w", id, err)
	}
	return cont, task, nil
}

// StopContainer sends sig (0: the instance's stop signal), waits up to
// grace, then SIGKILLs every process of the instance and waits for the
// exit (R58 step 6). An instance or task that is gone counts as stopped.
// It works for tasks adopted after a podrund restart: all it needs is in
// containerd.
func (r *Runtime) StopContainer(ctx context.Context, id string, sig syscall.Signal, grace time.Duration) error {
	ctx = r.nsCtx(ctx)
	cont, task, err := r.loadTask(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if sig == 0 {
		labels, err := cont.Labels(ctx)
		if err != nil {
			return fmt.Errorf("labels of %s: %w", id, err)
		}
		sig = parseSignal(labels[labelStopSignal])
	}
	exited, err := task.Wait(ctx)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("wait for task of %s: %w", id, err)
	}
	st, err := task.Status(ctx)
	if err == nil && st.Status == containerd.Stopped {
		return nil
	}
	// A never-started process (R59) is PID 1 of its namespace waiting to
	// exec: it ignores catchable signals, so it gets SIGKILL at once.
	neverStarted := err == nil && st.Status == containerd.Created
	if grace > 0 && sig != syscall.SIGKILL && !neverStarted {
		if err := task.Kill(ctx, sig); err != nil && !isGone(err) {
			return fmt.Errorf("signal %s to %s: %w", sig, id, err)
		}
		timer := time.NewTimer(grace)
		defer timer.Stop()
		select {
		case <-exited:
			return nil
		case <-timer.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := task.Kill(ctx, syscall.SIGKILL, containerd.WithKillAll); err != nil && !isGone(err) {
		return fmt.Errorf("kill %s: %w", id, err)
	}
	select {
	case <-exited:
		return nil
	case <-time.After(killWait):
		return fmt.Errorf("container %s did not exit %s after SIGKILL", id, killWait)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// isGone tells errors of signalling a process that already exited.
func isGone(err error) bool {
	return errdefs.IsNotFound(err) || errors.Is(err, errdefs.ErrFailedPrecondition) ||
		errdefs.IsFailedPrecondition(err)
}

// Reap deletes the task of an exited instance, reads its termination
// message and removes the container with its snapshot. An instance whose
// task is gone (host reboot) reports exit code 137, as the kubelet does
// for a container it can no longer find.
func (r *Runtime) Reap(ctx context.Context, id string) (supervisor.ExitStatus, error) {
	ctx = r.nsCtx(ctx)
	cont, err := r.client.LoadContainer(ctx, id)
	if err != nil {
		return supervisor.ExitStatus{}, fmt.Errorf("load container %s: %w", id, err)
	}
	labels, err := cont.Labels(ctx)
	if err != nil {
		return supervisor.ExitStatus{}, fmt.Errorf("labels of %s: %w", id, err)
	}
	es := supervisor.ExitStatus{ExitCode: 137, FinishedAt: time.Now()}
	task, err := cont.Task(ctx, nil)
	switch {
	case err == nil:
		if oom, err := oomKilledInCgroup(ctx, cont); err != nil {
			r.log.Warn("check OOM kill in cgroup", zap.String("id", id), zap.Error(err))
		} else if oom {
			labels[labelOOMKilled] = "true"
		}
		st, err := deleteTask(ctx, task)
		if err != nil {
			return supervisor.ExitStatus{}, fmt.Errorf("delete task of %s: %w", id, err)
		}
		es.ExitCode, es.FinishedAt = int32(st.ExitCode()), st.ExitTime()
	case !errdefs.IsNotFound(err):
		return supervisor.ExitStatus{}, fmt.Errorf("load task of %s: %w", id, err)
	}
	es.OOMKilled = labels[labelOOMKilled] == "true"
	r.drainLog(id) // the message may fall back to the log's tail
	es.Message = terminationMessage(labels, es.ExitCode)
	if err := r.deleteContainer(ctx, cont); err != nil {
		return supervisor.ExitStatus{}, err
	}
	return es, nil
}
