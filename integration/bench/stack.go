package bench

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// StackPSS is the memory of the stack below containerd with the plain
// pods running, in PSS (/proc/PID/smaps_rollup): podrund, the runc shims
// of its containerd namespace and its log writers, under one shimGrouping.
type StackPSS struct {
	ShimGrouping string  `json:"shimGrouping"`
	PodrundPSSMi float64 `json:"podrundPSSMiB"`
	Shims        int     `json:"shims"`
	ShimsPSSMi   float64 `json:"shimsPSSMiB"`
	Loggers      int     `json:"loggers"`
	LoggersPSSMi float64 `json:"loggersPSSMiB"`
}

// TotalMiB is the whole stack's PSS.
func (s StackPSS) TotalMiB() float64 { return s.PodrundPSSMi + s.ShimsPSSMi + s.LoggersPSSMi }

func (s StackPSS) String() string {
	return fmt.Sprintf("shimGrouping %s: podrund %.1f MiB + %d shims %.1f MiB + %d log writers %.1f MiB = %.1f MiB PSS",
		s.ShimGrouping, s.PodrundPSSMi, s.Shims, s.ShimsPSSMi, s.Loggers, s.LoggersPSSMi, s.TotalMiB())
}

// measureStack reads the stack of daemon d, whose shimGrouping is grouping.
func measureStack(d *Daemon, grouping string) StackPSS {
	s := StackPSS{ShimGrouping: grouping, PodrundPSSMi: round2(float64(readPSS(d.P.PID())) / 1024)}
	s.Shims, s.ShimsPSSMi = shimProcesses(d.P.Namespace)
	s.Loggers, _, s.LoggersPSSMi = loggerProcesses(d.P.Dir)
	return s
}

// footprintStack starts a daemon with the given shimGrouping, runs the
// footprint's plain pods on it for the idle window (as the default daemon
// ran them before its measurement) and adds its stack to the results.
func (r *run) footprintStack(ctx context.Context, grouping string) error {
	const ns = "bench-footprint"
	d, err := r.env.StartDaemonWith(ctx, "footprint-"+grouping, nil, "shimGrouping: "+grouping+"\n")
	if d != nil {
		defer r.stopDaemon(ctx, d, ns)
	}
	if err != nil {
		return err
	}
	if err := runPods(ctx, d, ns, idlePods(r.s.FootprintPods), r.s.ReadyTimeout*4); err != nil {
		return err
	}
	settle(ctx, r.s.IdleWindow)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	st := measureStack(d, grouping)
	r.res.Footprint.Stacks = append(r.res.Footprint.Stacks, st)
	r.progress("footprint %d pods: %s", r.s.FootprintPods, st)
	_, err = deleteAll(ctx, d, ns)
	return err
}

// runPods starts pods on d, 8 applies in flight, and waits until every
// container of each runs.
func runPods(ctx context.Context, d *Daemon, ns string, pods []*corev1.Pod, timeout time.Duration) error {
	pw, err := watchPods(ctx, d.C, ns)
	if err != nil {
		return err
	}
	defer pw.Close()
	_, _, err = startPods(ctx, d, pw, ns, pods, 8, timeout)
	return err
}

// idlePods are the footprint's plain pods: three containers each, no probes.
func idlePods(n int) []*corev1.Pod {
	pods := make([]*corev1.Pod, n)
	for i := range pods {
		pods[i] = threeContainerPod(fmt.Sprintf("idle-%d", i))
	}
	return pods
}
