package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/api/client"
	"github.com/podrun/podrun/integration/harness"
)

// BootPods is how many stored pods the boot phase brings back.
const BootPods = 20

// BootResult is a host reboot with BootPods stored pods: podrund, its
// containerd and every shim and container die, containerd's and
// podrund's state directories (tmpfs on a real host) are cleared, the
// store is kept; then both start again.
type BootResult struct {
	Pods             int     `json:"pods"`
	ConcurrentStarts int     `json:"concurrentPodStarts"` // the bound in podrund's config
	ReadySec         float64 `json:"readySec"`            // podrund's start → /readyz 200
	AllRunningSec    float64 `json:"allRunningSec"`       // podrund's start → every container of every pod running
	FirstRunningSec  float64 `json:"firstRunningSec"`     // podrund's start → the first pod running
	PodrundCPUSec    float64 `json:"podrundCPUSec"`       // podrund's CPU from start to all running
}

// bootConcurrency is the bound the phase runs with: the default a small
// device gets (supervisor.Options.ConcurrentStarts).
const bootConcurrency = 4

func (r *run) boot(ctx context.Context) error {
	const ns = "bench-boot"
	d, err := r.env.StartDaemonWith(ctx, "boot", nil, fmt.Sprintf("concurrentPodStarts: %d\n", bootConcurrency))
	if d != nil {
		defer r.stopDaemon(ctx, d, ns)
	}
	if err != nil {
		return err
	}
	pods := make([]*corev1.Pod, BootPods)
	for i := range pods {
		pods[i] = threeContainerPod(fmt.Sprintf("boot-%d", i))
	}
	if err := runPods(ctx, d, ns, pods, r.s.ReadyTimeout*4); err != nil {
		return err
	}
	if err := r.env.crashHost(d); err != nil {
		return err
	}
	res := &BootResult{Pods: BootPods, ConcurrentStarts: bootConcurrency}
	r.res.Boot = res
	if err := r.env.H.Containerd.Start(ctx); err != nil {
		return fmt.Errorf("containerd after the reboot: %w", err)
	}
	t0 := time.Now()
	if err := d.P.Launch(); err != nil {
		return err
	}
	if err := d.P.WaitReady(ctx, time.Minute); err != nil {
		return fmt.Errorf("podrund after the reboot: %w", err)
	}
	res.ReadySec = round2(time.Since(t0).Seconds())
	for {
		var list corev1.PodList
		if err := d.C.List(ctx, client.Pods, ns, &list); err != nil {
			return fmt.Errorf("list pods after the reboot: %w", err)
		}
		running := 0
		for i := range list.Items {
			if p := &list.Items[i]; allRunning(podEvent{Pod: p}) && startedSince(p, t0) {
				running++
			}
		}
		if running > 0 && res.FirstRunningSec == 0 {
			res.FirstRunningSec = round2(time.Since(t0).Seconds())
		}
		if running == BootPods {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d pods running after the reboot: %w", running, BootPods, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	res.AllRunningSec = round2(time.Since(t0).Seconds())
	if st, err := readProcStat(d.P.PID()); err == nil {
		res.PodrundCPUSec = round2(float64(st.CPUTicks) / clockTick)
	}
	r.progress("boot: %d stored pods all running %.2f s after podrund's start (ready after %.2f s, first pod %.2f s, "+
		"podrund CPU %.2f s)", BootPods, res.AllRunningSec, res.ReadySec, res.FirstRunningSec, res.PodrundCPUSec)
	return nil
}

// startedSince: every container's running instance started after t
// (startedAt has a resolution of a second). The store keeps the statuses
// of before the crash, so "running" alone would count the dead ones.
func startedSince(p *corev1.Pod, t time.Time) bool {
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, st := range list {
			if st.State.Running == nil || st.State.Running.StartedAt.Time.Before(t.Truncate(time.Second)) {
				return false
			}
		}
	}
	return true
}

// crashHost is the power going out: podrund, containerd, the shims and
// the containers die at once; the directories a reboot clears (tmpfs
// /run) are removed, and so are the pods' cgroups.
func (e *Env) crashHost(d *Daemon) error {
	ctrd := e.H.Containerd
	if err := d.P.Stop(syscall.SIGKILL); err != nil {
		return err
	}
	if err := ctrd.Stop(syscall.SIGKILL); err != nil {
		return err
	}
	for _, dir := range []string{ctrd.Dir, d.P.Dir} {
		if err := harness.KillProcessesMentioning(dir); err != nil {
			return err
		}
	}
	if err := harness.RemovePodCgroups(d.P); err != nil {
		return fmt.Errorf("remove the pods' cgroups: %w", err)
	}
	for _, dir := range []string{filepath.Join(ctrd.Dir, "state"), d.P.State} {
		if err := harness.UnmountUnder(dir); err != nil {
			return err
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("clear %s: %w", dir, err)
		}
	}
	return nil
}

func (b *BootResult) writeTable(w io.Writer) {
	fmt.Fprintf(w, "\nBoot after a host crash with %d stored pods (3 containers each, concurrentPodStarts %d): "+
		"podrund ready %.2f s after its start, the first pod running at %.2f s, all at %.2f s; "+
		"podrund used %.2f s of CPU.\n", b.Pods, b.ConcurrentStarts, b.ReadySec, b.FirstRunningSec, b.AllRunningSec, b.PodrundCPUSec)
}
