package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// StackMemory is the memory of the stack below containerd with the plain
// pods running, under one shimGrouping: podrund, the runc shims of its
// containerd namespace and its log writers. PSS is their summed PSS
// (/proc/PID/smaps_rollup) on this machine; Alone counts their distinct
// resident pages (pageFrames), which is their PSS on a device where
// nothing else maps their binaries, and is what the goal is stated for.
type StackMemory struct {
	ShimGrouping string   `json:"shimGrouping"`
	Shims        int      `json:"shims"`
	Loggers      int      `json:"loggers"`
	PSS          StackMiB `json:"pssMiB"`
	Alone        StackMiB `json:"aloneMiB"` // zero when the frames could not be read
	AloneErr     string   `json:"aloneError,omitempty"`
}

// StackMiB is one measure of the stack, part by part; Total is the whole
// stack's (for Alone, pages two parts share count once).
type StackMiB struct {
	Podrund float64 `json:"podrund"`
	Shims   float64 `json:"shims"`
	Loggers float64 `json:"loggers"`
	Total   float64 `json:"total"`
}

func (m StackMiB) String() string {
	return fmt.Sprintf("podrund %.1f + shims %.1f + log writers %.1f = %.1f MiB", m.Podrund, m.Shims, m.Loggers, m.Total)
}

func (s StackMemory) String() string {
	alone := "not measured: " + s.AloneErr
	if s.AloneErr == "" {
		alone = s.Alone.String()
	}
	return fmt.Sprintf("shimGrouping %s, %d shims and %d log writers: PSS here %s; alone on the device (distinct pages) %s",
		s.ShimGrouping, s.Shims, s.Loggers, s.PSS, alone)
}

// measureStack reads the stack of daemon d, whose shimGrouping is grouping.
func measureStack(d *Daemon, grouping string) StackMemory {
	podrund, shims, loggers := []int{d.P.PID()}, shimPIDs(d), loggerPIDs(d.P.Dir)
	s := StackMemory{ShimGrouping: grouping, Shims: len(shims), Loggers: len(loggers)}
	s.PSS = StackMiB{Podrund: summedPSSMiB(podrund), Shims: summedPSSMiB(shims), Loggers: summedPSSMiB(loggers)}
	s.PSS.Total = round2(s.PSS.Podrund + s.PSS.Shims + s.PSS.Loggers)
	var errs [4]error
	s.Alone.Podrund, errs[0] = framesMiB(podrund...)
	s.Alone.Shims, errs[1] = framesMiB(shims...)
	s.Alone.Loggers, errs[2] = framesMiB(loggers...)
	s.Alone.Total, errs[3] = framesMiB(slices.Concat(podrund, shims, loggers)...)
	if err := errors.Join(errs[:]...); err != nil {
		s.Alone, s.AloneErr = StackMiB{}, err.Error()
	}
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
