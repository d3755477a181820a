package bench

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/pkg/namespaces"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// ReactionResult is the reaction-time measurement. Every interval starts at containerd's
// own exit time of the container (TaskExit.ExitedAt, stamped by the shim
// that reaped the process) and ends at:
//   - ExitToSidecarTERM: the first sidecar's SIGTERM trap creating its file,
//     seen by inotify on the host (the trap is a shell builtin, no fork);
//     SignalBaseline is that same path's own cost (containerd Kill sent by
//     the benchmark → file seen), to subtract when judging podrund;
//   - ExitToSucceeded: the watch event with phase Succeeded received;
//   - CrashToCreate: containerd's /containers/create event of the crashed
//     sidecar's next instance (the restart issued);
//   - CrashToStart: its /tasks/start event (the restart done).
type ReactionResult struct {
	ExitToSidecarTERM Dist `json:"exitToSidecarTERM"`
	ExitToSucceeded   Dist `json:"exitToSucceeded"`
	CrashToCreate     Dist `json:"crashToCreate"`
	CrashToStart      Dist `json:"crashToStart"`
	SignalBaseline    Dist `json:"signalBaseline"`
	// Where the time goes: exit → the exited container reaped (its
	// /containers/delete event: task deleted, container and snapshot
	// removed), for the app of the exit runs and the crashed sidecar.
	ExitToAppReaped      Dist `json:"exitToAppReaped"`
	CrashToSidecarReaped Dist `json:"crashToSidecarReaped"`
}

func (r *run) reaction(ctx context.Context, d *Daemon, pw *podWatch, ns string) error {
	fw, err := watchDir(d.HostDir)
	if err != nil {
		return err
	}
	defer fw.Close()
	evctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ce := recordEvents(evctx, r.ctrd, d.P.Namespace)
	x := &reactor{r: r, d: d, pw: pw, fw: fw, ce: ce, ns: ns}
	res := &ReactionResult{}
	var term, succ, create, start, base, appReap, scReap []time.Duration
	for i := 0; i < r.s.ReactionRuns; i++ {
		a, b, ar, err := x.exitRun(ctx, fmt.Sprintf("exit-%d", i))
		if err != nil {
			return err
		}
		c, s, sr, err := x.crashRun(ctx, fmt.Sprintf("crash-%d", i))
		if err != nil {
			return err
		}
		appReap, scReap = append(appReap, ar), append(scReap, sr)
		k, err := x.calibrate(ctx, fmt.Sprintf("calib-%d", i))
		if err != nil {
			return err
		}
		term, succ, create, start, base = append(term, a), append(succ, b), append(create, c), append(start, s), append(base, k)
		r.progress("reaction %d/%d: exit→TERM %v, exit→Succeeded %v, crash→create %v, crash→start %v, kill→trap %v",
			i+1, r.s.ReactionRuns, a, b, c, s, k)
	}
	res.ExitToSidecarTERM, res.ExitToSucceeded = Summarize(term), Summarize(succ)
	res.CrashToCreate, res.CrashToStart, res.SignalBaseline = Summarize(create), Summarize(start), Summarize(base)
	res.ExitToAppReaped, res.CrashToSidecarReaped = Summarize(appReap), Summarize(scReap)
	r.res.Reaction = res
	return nil
}

type reactor struct {
	r  *run
	d  *Daemon
	pw *podWatch
	fw *fileWatch
	ce *ctrEvents
	ns string
}

func containerID(s corev1.ContainerStatus) string {
	return strings.TrimPrefix(s.ContainerID, "containerd://")
}

func status(p *corev1.Pod, name string) (corev1.ContainerStatus, bool) {
	if s := harness.ContainerStatus(p, name); s != nil {
		return *s, true
	}
	return corev1.ContainerStatus{}, false
}

// exitRun: the app exits 0 (restartPolicy Never) while both sidecars run.
func (x *reactor) exitRun(ctx context.Context, name string) (toTERM, toSucceeded, toReaped time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, x.r.s.ReadyTimeout)
	defer cancel()
	if err := applyPod(ctx, x.d.C, x.ns, exitPod(name, x.d.HostDir, "2")); err != nil {
		return 0, 0, 0, err
	}
	ev, err := x.pw.wait(ctx, name, "every container running", allRunning)
	if err != nil {
		return 0, 0, 0, err
	}
	app, _ := status(ev.Pod, appName)
	ev, err = x.pw.wait(ctx, name, "phase Succeeded", func(e podEvent) bool { return e.Pod.Status.Phase == corev1.PodSucceeded })
	if err != nil {
		return 0, 0, 0, err
	}
	exit, err := x.ce.waitFor(ctx, containerID(app), "exit and reap", func(t ctrTimes) bool { return !t.Exited.IsZero() && !t.Removed.IsZero() })
	if err != nil {
		return 0, 0, 0, err
	}
	first := time.Time{}
	for _, sc := range []string{sidecar2, sidecar1} { // reverse order: sidecar-2 is stopped first
		at, err := x.fw.wait(ctx, name+"."+sc+".term")
		if err != nil {
			return 0, 0, 0, err
		}
		if first.IsZero() || at.Before(first) {
			first = at
		}
	}
	if err := x.remove(ctx, name); err != nil {
		return 0, 0, 0, err
	}
	return first.Sub(exit.Exited), ev.At.Sub(exit.Exited), exit.Removed.Sub(exit.Exited), nil
}

// crashRun: sidecar-1 exits 1 once; its first restart has no back-off.
func (x *reactor) crashRun(ctx context.Context, name string) (toCreate, toStart, toReaped time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, x.r.s.ReadyTimeout)
	defer cancel()
	if err := applyPod(ctx, x.d.C, x.ns, crashPod(name, x.d.HostDir, "1")); err != nil {
		return 0, 0, 0, err
	}
	ev, err := x.pw.wait(ctx, name, "sidecar-1 restarted and running", func(e podEvent) bool {
		s, ok := status(e.Pod, sidecar1)
		return ok && s.RestartCount >= 1 && s.State.Running != nil && s.LastTerminationState.Terminated != nil
	})
	if err != nil {
		return 0, 0, 0, err
	}
	s, _ := status(ev.Pod, sidecar1)
	oldID, newID := strings.TrimPrefix(s.LastTerminationState.Terminated.ContainerID, "containerd://"), containerID(s)
	old, err := x.ce.waitFor(ctx, oldID, "exit and reap", func(t ctrTimes) bool { return !t.Exited.IsZero() && !t.Removed.IsZero() })
	if err != nil {
		return 0, 0, 0, err
	}
	nw, err := x.ce.waitFor(ctx, newID, "create and start", func(t ctrTimes) bool { return !t.Created.IsZero() && !t.Started.IsZero() })
	if err != nil {
		return 0, 0, 0, err
	}
	if err := x.remove(ctx, name); err != nil {
		return 0, 0, 0, err
	}
	return nw.Created.Sub(old.Exited), nw.Started.Sub(old.Exited), old.Removed.Sub(old.Exited), nil
}

// calibrate measures the measuring path itself: the benchmark sends SIGTERM
// to a trapping sidecar through containerd and times until inotify sees the
// trap's file.
func (x *reactor) calibrate(ctx context.Context, name string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, x.r.s.ReadyTimeout)
	defer cancel()
	if err := applyPod(ctx, x.d.C, x.ns, exitPod(name, x.d.HostDir, "")); err != nil {
		return 0, err
	}
	ev, err := x.pw.wait(ctx, name, "every container running", allRunning)
	if err != nil {
		return 0, err
	}
	s, _ := status(ev.Pod, sidecar1)
	nctx := namespaces.WithNamespace(ctx, x.d.P.Namespace)
	cont, err := x.r.ctrd.LoadContainer(nctx, containerID(s))
	if err != nil {
		return 0, fmt.Errorf("load sidecar container: %w", err)
	}
	t, err := cont.Task(nctx, nil)
	if err != nil {
		return 0, fmt.Errorf("load sidecar task: %w", err)
	}
	t0 := time.Now()
	if err := t.Kill(nctx, syscall.SIGTERM); err != nil {
		return 0, fmt.Errorf("kill sidecar: %w", err)
	}
	at, err := x.fw.wait(ctx, name+"."+sidecar1+".term")
	if err != nil {
		return 0, err
	}
	return at.Sub(t0), x.remove(ctx, name)
}

func (x *reactor) remove(ctx context.Context, name string) error {
	if err := deletePod(ctx, x.d.C, x.ns, name); err != nil {
		return err
	}
	if _, err := x.pw.wait(ctx, name, "DELETED", isDeleted); err != nil {
		return err
	}
	x.pw.forget(name)
	return nil
}
