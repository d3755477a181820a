package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/api/client"
	"github.com/podrun/podrun/daemon/config"
	"github.com/podrun/podrun/integration/harness"
)

// FootprintResult is the memory footprint, all of podrund's own process:
// RSS (VmRSS), threads, fds from /proc/<pid>/status and fd/, goroutines and
// heap from its /metrics, CPU as utime+stime of /proc/<pid>/stat over a
// window in which nothing is asked of it.
type FootprintResult struct {
	Fresh           Snapshot `json:"fresh"`           // right after ready, before the image import
	Idle            Snapshot `json:"idle"`            // image imported, no pods
	EmptyCPU        CPU      `json:"emptyCPU"`        // no pods
	Pods            int      `json:"pods"`            // running pods below
	WithPods        Snapshot `json:"withPods"`        // after the pods settled
	WithPodsCPU     CPU      `json:"withPodsCPU"`     // no probes
	WithProbes      Snapshot `json:"withProbes"`      // same count of pods, each with exec + httpGet probes
	WithProbesCPU   CPU      `json:"withProbesCPU"`   // probe period ProbePeriodSec
	ContainerdCPU   CPU      `json:"containerdCPU"`   // containerd over the probe window, for context
	ProbeStartupSec float64  `json:"probeStartupSec"` // time to start the probed pods
	ProbeRestarts   int32    `json:"probeRestarts"`   // restarts of the probed pods' containers by the window's end
	// podrund's log writers, not part of podrund's RSS: the one shared "podrund-logger log-writer", or with
	// logWriter: perContainer one "podrund-logger cri-logger" process per running container (binary log driver).
	Loggers      int     `json:"loggers"`
	LoggersRSSMi float64 `json:"loggersRSSMiB"` // summed RSS: counts their shared text once per process
	LoggersPSSMi float64 `json:"loggersPSSMiB"` // summed PSS: shared pages split among the sharers
	// Stacks is the stack below containerd with the plain pods running,
	// once per shimGrouping: the default (pod) on the daemon measured
	// above, then node on a daemon of its own (stack.go).
	Stacks []StackMemory `json:"stacks"`
	// Flash wear: bytes podrund had written to storage (/proc/PID/io
	// write_bytes) and the store file's growth over the idle window with
	// the plain pods running, and over one container restart.
	IdleWriteBytes     int64   `json:"idleWriteBytes"`
	IdleStoreGrowth    int64   `json:"idleStoreGrowthBytes"`
	RestartWriteBytes  int64   `json:"restartWriteBytes"`
	RestartStoreGrowth int64   `json:"restartStoreGrowthBytes"`
	PlainDeleteSec     float64 `json:"plainDeleteSec"`  // delete every plain pod, until the last DELETED
	ProbedDeleteSec    float64 `json:"probedDeleteSec"` // the same for the probed pods
	// The slowest answer to one DELETE request (the API promises "at once").
	PlainSlowestDeleteMs  float64 `json:"plainSlowestDeleteMs"`
	ProbedSlowestDeleteMs float64 `json:"probedSlowestDeleteMs"`
}

// Snapshot is one look at podrund.
type Snapshot struct {
	ProcStat
	Goroutines float64 `json:"goroutines"`
	HeapInuse  float64 `json:"heapInuseMiB"`
}

// CPU is CPU time used over a window.
type CPU struct {
	WindowSec float64 `json:"windowSec"`
	CPUSec    float64 `json:"cpuSec"`
	Percent   float64 `json:"percentOfOneCore"`
}

func (d *Daemon) snapshot(ctx context.Context) (Snapshot, error) {
	ps, err := readProcStat(d.P.PID())
	if err != nil {
		return Snapshot{}, err
	}
	m, err := scrapeMetrics(ctx, d.P.Socket, "go_goroutines", "go_memstats_heap_inuse_bytes")
	if err != nil {
		return Snapshot{ProcStat: ps}, err
	}
	return Snapshot{ProcStat: ps, Goroutines: m["go_goroutines"], HeapInuse: round2(m["go_memstats_heap_inuse_bytes"] / (1 << 20))}, nil
}

// cpuOver measures pid's CPU time over window.
func cpuOver(ctx context.Context, pid int, window time.Duration) (CPU, error) {
	a, err := readProcStat(pid)
	if err != nil {
		return CPU{}, err
	}
	t0 := time.Now()
	settle(ctx, window)
	if ctx.Err() != nil {
		return CPU{}, ctx.Err()
	}
	b, err := readProcStat(pid)
	if err != nil {
		return CPU{}, err
	}
	w := time.Since(t0).Seconds()
	sec := float64(b.CPUTicks-a.CPUTicks) / clockTick
	return CPU{WindowSec: round2(w), CPUSec: round2(sec), Percent: round2(sec / w * 100)}, nil
}

// cpuPair measures two processes over the same window.
func cpuPair(ctx context.Context, pidA, pidB int, window time.Duration) (a, b CPU, err error) {
	var wg sync.WaitGroup
	var errB error
	wg.Add(1)
	go func() { defer wg.Done(); b, errB = cpuOver(ctx, pidB, window) }()
	a, err = cpuOver(ctx, pidA, window)
	wg.Wait()
	return a, b, errors.Join(err, errB)
}

// footprint measures the default daemon (footprintDefault), then, once
// it is gone, the stack of a daemon with shimGrouping node: two podrunds
// at once would share their binary's pages and halve each one's PSS.
func (r *run) footprint(ctx context.Context) error {
	if err := r.footprintDefault(ctx); err != nil {
		return err
	}
	return r.footprintStack(ctx, config.ShimGroupingNode)
}

func (r *run) footprintDefault(ctx context.Context) error {
	d, err := r.env.StartDaemon(ctx, "footprint", nil)
	const ns = "bench-footprint"
	if d != nil {
		defer r.stopDaemon(ctx, d, ns)
	}
	if err != nil {
		return err
	}
	res := &FootprintResult{Pods: r.s.FootprintPods, Fresh: d.Fresh}
	r.res.Footprint = res
	settle(ctx, 2*time.Second)
	if res.Idle, err = d.snapshot(ctx); err != nil {
		return err
	}
	if res.EmptyCPU, err = cpuOver(ctx, d.P.PID(), r.s.EmptyWindow); err != nil {
		return err
	}
	r.progress("footprint idle: RSS %d KiB, %v goroutines, CPU %.2f%%", res.Idle.RSSKiB, res.Idle.Goroutines, res.EmptyCPU.Percent)
	pw, err := watchPods(ctx, d.C, ns)
	if err != nil {
		return err
	}
	defer pw.Close()
	if _, _, err := startPods(ctx, d, pw, ns, idlePods(r.s.FootprintPods), 8, r.s.ReadyTimeout*4); err != nil {
		return err
	}
	settle(ctx, 3*time.Second)
	if res.WithPods, err = d.snapshot(ctx); err != nil {
		return err
	}
	before := writesOf(d)
	if res.WithPodsCPU, err = cpuOver(ctx, d.P.PID(), r.s.IdleWindow); err != nil {
		return err
	}
	res.IdleWriteBytes, res.IdleStoreGrowth = writesOf(d).since(before)
	res.Loggers, res.LoggersRSSMi, res.LoggersPSSMi = loggerProcesses(d.P.Dir)
	res.Stacks = append(res.Stacks, measureStack(d, config.Defaults().ShimGrouping))
	r.progress("footprint %d pods: %s; idle writes %d B, store +%d B over %v",
		res.Pods, res.Stacks[0], res.IdleWriteBytes, res.IdleStoreGrowth, r.s.IdleWindow)
	if err := r.restartWrites(ctx, d, pw, ns, res); err != nil {
		return err
	}
	r.progress("footprint %d pods: RSS %d KiB, CPU %.2f%%; %d cri-logger processes, RSS %.1f MiB, PSS %.1f MiB", res.Pods,
		res.WithPods.RSSKiB, res.WithPodsCPU.Percent, res.Loggers, res.LoggersRSSMi, res.LoggersPSSMi)
	t0 := time.Now()
	slowest, err := deleteAll(ctx, d, ns)
	if err != nil {
		return err
	}
	res.PlainDeleteSec, res.PlainSlowestDeleteMs = round2(time.Since(t0).Seconds()), round2(float64(slowest)/1e6)
	probed := make([]*corev1.Pod, r.s.FootprintPods)
	for i := range probed {
		probed[i] = probedPod(fmt.Sprintf("probed-%d", i), r.s.ProbePeriodSec)
	}
	_, total, err := startPods(ctx, d, pw, ns, probed, 8, r.s.ReadyTimeout*4)
	if err != nil {
		return err
	}
	res.ProbeStartupSec = round2(total.Seconds())
	settle(ctx, 3*time.Second)
	if res.WithProbes, err = d.snapshot(ctx); err != nil {
		return err
	}
	if res.WithProbesCPU, res.ContainerdCPU, err = cpuPair(ctx, d.P.PID(), r.env.H.Containerd.PID(), r.s.IdleWindow); err != nil {
		return err
	}
	var list corev1.PodList
	if err := d.C.List(ctx, client.Pods, ns, &list); err != nil {
		return fmt.Errorf("list probed pods: %w", err)
	}
	for _, p := range list.Items {
		for _, st := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
			res.ProbeRestarts += st.RestartCount
		}
	}
	r.progress("footprint %d probed pods: RSS %d KiB, CPU %.2f%%, containerd %.2f%%, %d restarts", res.Pods,
		res.WithProbes.RSSKiB, res.WithProbesCPU.Percent, res.ContainerdCPU.Percent, res.ProbeRestarts)
	t0 = time.Now()
	slowest, err = deleteAll(ctx, d, ns)
	res.ProbedDeleteSec, res.ProbedSlowestDeleteMs = round2(time.Since(t0).Seconds()), round2(float64(slowest)/1e6)
	if err != nil {
		return err
	}
	return nil
}

// writes is podrund's storage writes so far and its store file's size.
type writes struct{ bytes, store int64 }

func writesOf(d *Daemon) writes {
	var w writes
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", d.P.PID())); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "write_bytes:"); ok {
				w.bytes, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			}
		}
	}
	if st, err := os.Stat(filepath.Join(d.P.Root, "podrund.db")); err == nil {
		w.store = st.Size()
	}
	return w
}

func (w writes) since(before writes) (bytes, storeGrowth int64) {
	return w.bytes - before.bytes, w.store - before.store
}

// restartWrites measures what podrund writes for one container restart:
// from a pod's container running to its second instance running.
func (r *run) restartWrites(ctx context.Context, d *Daemon, pw *podWatch, ns string, res *FootprintResult) error {
	pod := restartingPod("flash-restart")
	if _, _, err := startPods(ctx, d, pw, ns, []*corev1.Pod{pod}, 1, r.s.ReadyTimeout*4); err != nil {
		return err
	}
	before := writesOf(d)
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		var p corev1.Pod
		if err := d.C.Get(ctx, client.Pods, ns, pod.Name, &p); err != nil {
			return fmt.Errorf("get %s: %w", pod.Name, err)
		}
		if st := p.Status.ContainerStatuses; len(st) == 1 && st[0].RestartCount == 1 && st[0].State.Running != nil {
			res.RestartWriteBytes, res.RestartStoreGrowth = writesOf(d).since(before)
			r.progress("footprint: one container restart wrote %d B, store +%d B", res.RestartWriteBytes, res.RestartStoreGrowth)
			return nil
		}
		settle(ctx, 100*time.Millisecond)
	}
	return fmt.Errorf("%s never restarted", pod.Name)
}

// shimPIDs lists the runc shims serving daemon d's containerd namespace
// on its containerd: another benchmark on the host may use the same
// namespace name on a containerd of its own.
func shimPIDs(d *Daemon) []int {
	var pids []int
	entries, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, e := range entries {
		b, err := os.ReadFile(e)
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) < 3 || !strings.Contains(args[0], "containerd-shim") || !slices.Contains(args, d.P.Namespace) ||
			!slices.Contains(args, d.P.ContainerdAddress) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(e)))
		pids = append(pids, pid)
	}
	return pids
}

// loggerProcesses counts the log-writer processes of the daemon whose
// files live below dir, and their summed RSS and PSS in MiB.
func loggerProcesses(dir string) (n int, rssMiB, pssMiB float64) {
	var rss int64
	pids := loggerPIDs(dir)
	for _, pid := range pids {
		if st, err := readProcStat(pid); err == nil {
			rss += st.RSSKiB
		}
	}
	return len(pids), round2(float64(rss) / 1024), summedPSSMiB(pids)
}

// loggerPIDs lists the log-writer processes ("… cri-logger …" per
// container, "… log-writer …" shared) of the daemon whose files live below
// dir.
func loggerPIDs(dir string) []int {
	var pids []int
	for _, p := range harness.ProcessesMentioning(dir) {
		if strings.Contains(p.Cmdline, " cri-logger ") || strings.Contains(p.Cmdline, " log-writer ") {
			pids = append(pids, p.PID)
		}
	}
	return pids
}

// summedPSSMiB is the processes' summed PSS in MiB.
func summedPSSMiB(pids []int) float64 {
	var pss int64
	for _, pid := range pids {
		pss += readPSS(pid)
	}
	return round2(float64(pss) / 1024)
}

// startPods applies pods with at most par requests in flight and waits
// until every container of each runs. It returns each pod's apply →
// running time and the time until the last one ran.
func startPods(ctx context.Context, d *Daemon, pw *podWatch, ns string, pods []*corev1.Pod, par int, timeout time.Duration) ([]time.Duration, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t0 := time.Now()
	per := make([]time.Duration, len(pods))
	errs := make([]error, len(pods))
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	var last time.Time
	var mu sync.Mutex
	for i, p := range pods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			t := time.Now()
			err := applyPod(ctx, d.C, ns, p)
			<-sem
			if err != nil {
				errs[i] = err
				return
			}
			ev, err := pw.wait(ctx, p.Name, "every container running", allRunning)
			if err != nil {
				errs[i] = err
				return
			}
			per[i] = ev.At.Sub(t)
			mu.Lock()
			if ev.At.After(last) {
				last = ev.At
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, 0, fmt.Errorf("start %d pods: %w", len(pods), err)
	}
	return per, last.Sub(t0), nil
}

func (f *FootprintResult) writeTable(w io.Writer) {
	fmt.Fprintln(w, "\n| podrund footprint | RSS MiB | anon MiB | file MiB | threads | fds | goroutines | heap MiB | CPU s / window s | % of a core |\n|---|---|---|---|---|---|---|---|---|---|")
	row := func(name string, s Snapshot, c CPU) {
		cpu := "-"
		if c.WindowSec > 0 {
			cpu = fmt.Sprintf("%.2f / %.0f | %.2f", c.CPUSec, c.WindowSec, c.Percent)
		} else {
			cpu += " | -"
		}
		fmt.Fprintf(w, "| %s | %.1f | %.1f | %.1f | %d | %d | %.0f | %.1f | %s |\n", name, float64(s.RSSKiB)/1024,
			float64(s.AnonKiB)/1024, float64(s.FileKiB)/1024, s.Threads, s.FDs, s.Goroutines, s.HeapInuse, cpu)
	}
	row("fresh, before the image import", f.Fresh, CPU{})
	row("idle, image imported, no pods", f.Idle, f.EmptyCPU)
	row(fmt.Sprintf("%d pods, no probes", f.Pods), f.WithPods, f.WithPodsCPU)
	row(fmt.Sprintf("%d pods, exec + httpGet probes every 1 s", f.Pods), f.WithProbes, f.WithProbesCPU)
	fmt.Fprintf(w, "\ncontainerd over the probe window: %.2f s CPU (%.1f%% of a core); restarts of probed containers: %d; "+
		"probed pods took %.1f s to start\n", f.ContainerdCPU.CPUSec, f.ContainerdCPU.Percent, f.ProbeRestarts, f.ProbeStartupSec)
	fmt.Fprintf(w, "\nOutside podrund: %d log-writer processes (`podrund-logger`) with %d pods: "+
		"%.1f MiB PSS in all (%.1f MiB summed RSS, shared text counted in each).\n", f.Loggers, f.Pods, f.LoggersPSSMi, f.LoggersRSSMi)
	for _, s := range f.Stacks {
		fmt.Fprintf(w, "The stack below containerd with %d pods × 3 containers, %s.\n", f.Pods, s)
	}
	fmt.Fprintf(w, "Flash writes by podrund: %d B written and the store grew %d B over %v with %d running pods and nothing changing "+
		"(%.1f KiB per hour); one container restart: %d B written, store +%d B.\n", f.IdleWriteBytes, f.IdleStoreGrowth,
		time.Duration(f.WithPodsCPU.WindowSec*float64(time.Second)), f.Pods,
		float64(f.IdleWriteBytes)/1024*3600/max(f.WithPodsCPU.WindowSec, 1), f.RestartWriteBytes, f.RestartStoreGrowth)
	fmt.Fprintf(w, "Deleting all %d pods (16 DELETEs in flight) took %.1f s (plain) and %.1f s (probed); "+
		"the slowest DELETE answer took %.0f ms (plain) and %.0f ms (probed).\n",
		f.Pods, f.PlainDeleteSec, f.ProbedDeleteSec, f.PlainSlowestDeleteMs, f.ProbedSlowestDeleteMs)
}
