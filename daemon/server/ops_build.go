package server

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/daemon/secopts"
	"github.com/podrun/podrun/supervisor"
	corev1 "k8s.io/api/core/v1"
)

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// buildTimeline turns the engine's history into the timeline body: every
// remembered instance oldest first (instances stored before the history
// existed are added from EngineState.Instances), plus the pod's Killing and
// BackOff events.
func buildTimeline(rec *supervisor.PodRecord, evs []*corev1.Event, now time.Time) api.PodTimeline {
	pod, st := rec.Pod, &rec.Engine
	t := api.PodTimeline{Pod: pod.Name, Namespace: pod.Namespace, UID: string(pod.UID),
		Created: pod.CreationTimestamp.Time, Now: now, Instances: []api.TimelineInstance{}}
	seen := map[string]bool{}
	add := func(r supervisor.InstanceRecord) {
		seen[r.ID] = true
		ti := api.TimelineInstance{Container: r.Container, Class: classOfName(pod, r.Container), Attempt: r.Attempt,
			ID: r.ID, State: r.State, CreatedAt: timePtr(r.CreatedAt), StartedAt: timePtr(r.StartedAt),
			ReadyAt: timePtr(r.ReadyAt), KilledAt: timePtr(r.KilledAt), FinishedAt: timePtr(r.FinishedAt),
			Reason: r.Reason, BackoffUntil: timePtr(r.BackoffUntil)}
		if r.State == string(supervisor.InstanceExited) || r.State == string(supervisor.InstanceUnknown) {
			code := r.ExitCode
			ti.ExitCode = &code
		}
		t.Instances = append(t.Instances, ti)
	}
	for _, r := range st.History {
		add(r)
	}
	for _, in := range st.Instances {
		if !seen[in.ID] {
			add(supervisor.InstanceRecord{ID: in.ID, Container: in.Container, Attempt: in.Attempt, CreatedAt: in.CreatedAt,
				StartedAt: in.StartedAt, FinishedAt: in.FinishedAt, ExitCode: in.ExitCode, Reason: in.Reason, State: string(in.State)})
		}
	}
	sort.SliceStable(t.Instances, func(i, j int) bool { return instStart(t.Instances[i]).Before(instStart(t.Instances[j])) })
	for _, ev := range evs {
		io := ev.InvolvedObject
		if io.Name != pod.Name || (io.UID != "" && io.UID != pod.UID) || (ev.Reason != "Killing" && ev.Reason != "BackOff") {
			continue
		}
		at := ev.LastTimestamp.Time
		if at.IsZero() {
			at = ev.EventTime.Time
		}
		t.Events = append(t.Events, api.TimelineEvent{Time: at, Container: fieldContainer(io.FieldPath),
			Reason: ev.Reason, Message: ev.Message, Count: ev.Count})
	}
	sort.SliceStable(t.Events, func(i, j int) bool { return t.Events[i].Time.Before(t.Events[j].Time) })
	return t
}

func instStart(ti api.TimelineInstance) time.Time {
	for _, p := range []*time.Time{ti.CreatedAt, ti.StartedAt, ti.FinishedAt} {
		if p != nil {
			return *p
		}
	}
	return time.Time{}
}

func classOfName(pod *corev1.Pod, name string) string {
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if c.Name == name {
			if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
				return string(supervisor.Sidecar)
			}
			return string(supervisor.PlainInit)
		}
	}
	return string(supervisor.Regular)
}

// fieldContainer extracts NAME from spec.containers{NAME}.
func fieldContainer(fp string) string {
	i, j := strings.IndexByte(fp, '{'), strings.LastIndexByte(fp, '}')
	if i < 0 || j <= i {
		return ""
	}
	return fp[i+1 : j]
}

// samplePod reads every running container's cgroup twice, window apart,
// for the CPU rate; a container that stops in between is left out.
func samplePod(ctx context.Context, cg CgroupSampler, rec *supervisor.PodRecord, window time.Duration, now func() time.Time) (api.PodStats, error) {
	out := api.PodStats{Window: window.String(), Containers: []api.ContainerStats{}}
	type first struct {
		in  supervisor.Instance
		cpu uint64
	}
	var firsts []first
	for _, in := range rec.Engine.Instances {
		if in.State != supervisor.InstanceRunning {
			continue
		}
		s, err := cg.Sample(secopts.PodCgroupParent(rec.Pod.UID) + "/" + in.ID)
		if err != nil {
			continue // stopped since the engine last looked
		}
		firsts = append(firsts, first{in, s.CPUUsageNanos})
	}
	if len(firsts) > 0 {
		tm := time.NewTimer(window)
		select {
		case <-tm.C:
		case <-ctx.Done():
			tm.Stop()
			return out, fmt.Errorf("sample pod %s: %w", rec.Pod.Name, ctx.Err())
		}
	}
	for _, f := range firsts {
		s, err := cg.Sample(secopts.PodCgroupParent(rec.Pod.UID) + "/" + f.in.ID)
		if err != nil {
			continue
		}
		var milli int64
		if s.CPUUsageNanos >= f.cpu {
			milli = int64(s.CPUUsageNanos-f.cpu) * 1000 / window.Nanoseconds()
		}
		out.Containers = append(out.Containers, api.ContainerStats{Name: f.in.Container, ID: f.in.ID,
			CPUUsageNanos: s.CPUUsageNanos, CPUMilli: milli, MemoryBytes: s.WorkingSet, MemoryUsageBytes: s.MemoryUsage})
	}
	out.Time = now()
	return out, nil
}
