package supervisor

import (
	"fmt"
	"strings"
	"time"

	"github.com/podrun/podrun/supervisor/probe/results"
	corev1 "k8s.io/api/core/v1"
)

// Blocker is one thing that holds a pod back now ("Waiting for" in
// `podctl describe`): which container, why, and until when.
type Blocker struct {
	Container string
	Class     ContainerClass
	Reason    string    // StartupProbe, ReadinessProbe, CrashLoopBackOff, ErrImagePull, Running, Terminating, ...
	Message   string    // the line a person reads
	Until     time.Time // when this may change next (zero: unknown)
}

// Blockers computes what holds the pod back at now from the engine's
// state: during termination the containers still running (with the grace
// left); while initializing the first init container not done (later ones
// wait for it, R19); then every sidecar and regular container that is not
// ready. A finished pod and a ready one have none.
func Blockers(d *PodDiagnosis, now time.Time) []Blocker {
	if d == nil || d.Record == nil || d.Record.Pod == nil {
		return nil
	}
	pod, st := d.Record.Pod, &d.Record.Engine
	if st.Terminating != nil {
		return terminationBlockers(pod, st, now)
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return nil
	}
	var out []Blocker
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		class := classOf(c, true)
		if st.Initialized && class == PlainInit {
			continue
		}
		b, done := containerBlocker(d, c, class, now)
		if b != nil {
			out = append(out, *b)
		}
		if !st.Initialized && !done {
			return out // the next init containers wait for this one (R19)
		}
	}
	for i := range pod.Spec.Containers {
		if b, _ := containerBlocker(d, &pod.Spec.Containers[i], Regular, now); b != nil {
			out = append(out, *b)
		}
	}
	return out
}

// containerBlocker says what holds container c back, and whether c is done
// as far as the start sequence goes (init exited 0, sidecar started).
func containerBlocker(d *PodDiagnosis, c *corev1.Container, class ContainerClass, now time.Time) (*Blocker, bool) {
	st := &d.Record.Engine
	who := containerWord(class) + " " + c.Name
	b := &Blocker{Container: c.Name, Class: class}
	cur, _ := newest(st, c.Name, -1)
	if w, ok := st.Waiting[c.Name]; ok && (cur == nil || cur.State != InstanceRunning) {
		waitingBlocker(d, b, who, c, cur, w, now)
		return b, false
	}
	switch {
	case cur == nil || cur.State == InstanceCreated:
		b.Reason, b.Message = "NotStarted", who+": not started yet"
		if msg := pullingMessage(d.Record.Pod, c.Name); msg != "" {
			b.Reason, b.Message = "Pulling", fmt.Sprintf("image %s: %s", c.Image, msg)
		}
		return b, false
	case cur.State == InstanceRunning:
		return runningBlocker(d, b, who, c, cur, now)
	case class == PlainInit && cur.ExitCode == 0:
		return nil, true
	case class == Regular && cur.State == InstanceExited && !exitedShouldRestart(d.Record.Pod, c, cur):
		return nil, true // finished for good (R28, R101)
	}
	b.Reason = "Exited"
	b.Message = fmt.Sprintf("%s: exited with code %d, restart pending", who, cur.ExitCode)
	return b, false
}

func waitingBlocker(d *PodDiagnosis, b *Blocker, who string, c *corev1.Container, cur *Instance, w WaitingReason, now time.Time) {
	b.Reason = w.Reason
	switch w.Reason {
	case "CrashLoopBackOff":
		b.Message = who + ": CrashLoopBackOff"
		if e, ok := d.Record.Engine.Backoff[backoffKey(c)]; ok && cur != nil {
			b.Until = cur.FinishedAt.Add(e.Backoff)
			b.Message += ", next start in " + seconds(b.Until.Sub(now))
		}
		if cur != nil {
			b.Message += fmt.Sprintf(" (last exit code %d)", cur.ExitCode)
		}
	case "ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName":
		b.Message = fmt.Sprintf("image %s: pull failing (%s)", c.Image, w.Reason)
		if e, ok := d.PullBackoff[c.Image]; ok && w.Reason != "ErrImageNeverPull" {
			b.Until = e.LastUpdate.Add(e.Backoff)
			b.Message += ", next pull in " + seconds(b.Until.Sub(now))
		}
	default:
		b.Message = who + ": " + w.Reason
		if w.Message != "" {
			b.Message += ": " + w.Message
		}
	}
}

func runningBlocker(d *PodDiagnosis, b *Blocker, who string, c *corev1.Container, cur *Instance, now time.Time) (*Blocker, bool) {
	st := &d.Record.Engine
	if b.Class == PlainInit {
		b.Reason = "Running"
		b.Message = fmt.Sprintf("%s: running for %s, must exit 0 before the next step", who, seconds(now.Sub(cur.StartedAt)))
		return b, false
	}
	if !st.Started[cur.ID] {
		b.Reason = "StartupProbe"
		b.Message = who + ": " + probeLine("startup", c.StartupProbe, d.Probes[cur.ID][results.Startup], now, &b.Until)
		return b, false
	}
	if c.ReadinessProbe != nil && !st.Ready[cur.ID] {
		b.Reason = "ReadinessProbe"
		b.Message = who + ": " + probeLine("readiness", c.ReadinessProbe, d.Probes[cur.ID][results.Readiness], now, &b.Until)
		return b, true
	}
	return nil, true
}

// probeLine says how a probe that has not passed is doing: "startup probe
// failing (4/30), next probe in 1s" or "startup probe not passed yet".
func probeLine(kind string, p *corev1.Probe, pi ProbeInfo, now time.Time, until *time.Time) string {
	if p == nil {
		return kind + " not confirmed yet"
	}
	period := time.Duration(p.PeriodSeconds) * time.Second
	if period <= 0 {
		period = 10 * time.Second
	}
	if pi.Failures == 0 || pi.LastAt.IsZero() {
		return kind + " probe not passed yet"
	}
	*until = pi.LastAt.Add(period)
	threshold := p.FailureThreshold
	if threshold <= 0 {
		threshold = 3
	}
	return fmt.Sprintf("%s probe failing (%d/%d), next probe in %s", kind, pi.Failures, threshold, seconds(until.Sub(now)))
}

func terminationBlockers(pod *corev1.Pod, st *EngineState, now time.Time) []Blocker {
	t := st.Terminating
	end := t.Since.Add(time.Duration(t.GracePeriod) * time.Second)
	var out []Blocker
	for _, in := range st.Instances {
		if in.State != InstanceRunning {
			continue
		}
		c, init := findContainer(pod, in.Container)
		if c == nil {
			continue
		}
		class := classOf(c, init)
		out = append(out, Blocker{Container: in.Container, Class: class, Reason: "Terminating", Until: end,
			Message: fmt.Sprintf("terminating: waiting for %s %s (grace %s left)", containerWord(class), in.Container, seconds(end.Sub(now)))})
	}
	return out
}

func containerWord(class ContainerClass) string {
	switch class {
	case Sidecar:
		return "sidecar"
	case PlainInit:
		return "init container"
	}
	return "container"
}

// seconds prints a duration rounded up to whole seconds, never negative.
func seconds(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	return fmt.Sprintf("%ds", int64((d+time.Second-1)/time.Second))
}

// pullingMessage is the pull in progress of container name as the status
// shows it (pullReporter), e.g. "pulling, 12.3 MB of 40.0 MB".
func pullingMessage(pod *corev1.Pod, name string) string {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for _, cs := range list {
			w := cs.State.Waiting
			if cs.Name != name || w == nil || !strings.HasPrefix(w.Message, "Pulling image ") {
				continue
			}
			if i := strings.LastIndex(w.Message, ": "); i >= 0 {
				return "pulling, " + w.Message[i+2:]
			}
			return "pulling"
		}
	}
	return ""
}
