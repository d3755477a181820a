package containerd

import (
	"context"
	"fmt"
	"strconv"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"

	"github.com/podrun/podrun/supervisor"
)

// ListContainers lists podrun's instances with their task state, for
// adoption after a podrund restart. An instance without a task (lost with
// a reboot or a containerd state wipe) is Unknown.
func (r *Runtime) ListContainers(ctx context.Context) ([]supervisor.RuntimeContainer, error) {
	ctx = r.nsCtx(ctx)
	conts, err := r.client.Containers(ctx, fmt.Sprintf("labels.%q", labelPodUID))
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	out := make([]supervisor.RuntimeContainer, 0, len(conts))
	for _, cont := range conts {
		rc, err := r.describe(ctx, cont)
		if errdefs.IsNotFound(err) {
			continue // removed while listing
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rc)
	}
	return out, nil
}

func (r *Runtime) describe(ctx context.Context, cont containerd.Container) (supervisor.RuntimeContainer, error) {
	info, err := cont.Info(ctx)
	if err != nil {
		return supervisor.RuntimeContainer{}, fmt.Errorf("info of %s: %w", cont.ID(), err)
	}
	labels := info.Labels
	attempt, _ := strconv.ParseInt(labels[labelAttempt], 10, 32)
	sandbox, _ := strconv.ParseInt(labels[labelSandbox], 10, 32)
	rc := supervisor.RuntimeContainer{ID: cont.ID(), PodUID: labels[labelPodUID],
		Container: labels[labelContainerName], Attempt: int32(attempt), State: supervisor.InstanceUnknown,
		SandboxAttempt: int32(sandbox), LogPath: labels[labelLogPath],
		StopSignal: parseSignal(labels[labelStopSignal]), ImageRef: info.Image, CreatedAt: info.CreatedAt,
		PodNamespace: labels[labelPodNamespace], PodName: labels[labelPodName]}
	rc.StartedAt = readStartedAt(labels)
	r.rememberPod(cont.ID(), rc.PodUID)
	task, err := cont.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return rc, nil
	}
	if err != nil {
		return supervisor.RuntimeContainer{}, fmt.Errorf("task of %s: %w", cont.ID(), err)
	}
	st, err := task.Status(ctx)
	if err != nil {
		return supervisor.RuntimeContainer{}, fmt.Errorf("task status of %s: %w", cont.ID(), err)
	}
	switch st.Status {
	case containerd.Created:
		rc.State = supervisor.InstanceCreated
	case containerd.Running, containerd.Paused, containerd.Pausing:
		rc.State = supervisor.InstanceRunning
	case containerd.Stopped:
		rc.State = supervisor.InstanceExited
		rc.Exit = &supervisor.ExitStatus{ExitCode: int32(st.ExitStatus), FinishedAt: st.ExitTime,
			OOMKilled: labels[labelOOMKilled] == "true"}
	}
	return rc, nil
}

func (r *Runtime) rememberPod(id, uid string) {
	if uid == "" {
		return
	}
	r.mu.Lock()
	r.podUIDs[id] = uid
	r.mu.Unlock()
}

func (r *Runtime) forgetPod(id string) {
	r.mu.Lock()
	delete(r.podUIDs, id)
	r.mu.Unlock()
}

// podOf maps a container ID to its pod UID, loading labels on a miss;
// "" for containers that are not podrun instances.
func (r *Runtime) podOf(ctx context.Context, id string) string {
	r.mu.Lock()
	uid, ok := r.podUIDs[id]
	r.mu.Unlock()
	if ok {
		return uid
	}
	cont, err := r.client.LoadContainer(ctx, id)
	if err != nil {
		return ""
	}
	labels, err := cont.Labels(ctx)
	if err != nil {
		return ""
	}
	r.rememberPod(id, labels[labelPodUID])
	return labels[labelPodUID]
}
