package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vishvananda/netlink"
)

// startWarmup pods of each kind run first and are not counted: the first
// uses of a fresh snapshotter, shim binary and page cache are not what a
// running host sees.
const startWarmup = 2

// startSeries is one podrund's share of the pod-start series: sequential
// (prepareAhead off) or prepared ahead (on).
type startSeries struct {
	ahead      bool
	d          *Daemon
	pw         *podWatch
	ev         *ctrEvents
	podD, delD []time.Duration
	spans      spanSamples
	firstLine  [2][]time.Duration // apply → first log line of sidecar-1, of the app
}

// startNS is the pod namespace of the pod-start series.
const startNS = "bench-start"

// podStart is the pod-start measurement for one network mode: the floor, podrun
// sequential and podrun with later containers prepared ahead, interleaved
// pod by pod (the two podrun modes alternate which goes first), so drift
// of the machine hits all alike.
func (r *run) podStart(ctx context.Context, network string, cni *CNIConfig) error {
	fl, err := newFloor(ctx, r.ctrd, r.env.ImageTar, filepath.Join(r.env.H.Base, "floor-"+network), cni)
	if err != nil {
		return err
	}
	evctx, cancel := context.WithCancel(ctx)
	defer cancel()
	series := []*startSeries{{ahead: false}, {ahead: true}}
	var derr error
	for _, s := range series {
		name := map[bool]string{false: "start-", true: "ahead-"}[s.ahead] + network
		extra := fmt.Sprintf("prepareAhead: %v\n", s.ahead)
		d, err := r.env.StartDaemonWith(ctx, name, cni, extra)
		if d != nil {
			defer r.stopDaemon(ctx, d, startNS)
		}
		if err == nil {
			s.d = d
			if s.pw, err = watchPods(ctx, d.C, startNS); err == nil {
				defer s.pw.Close()
				s.ev = recordEvents(evctx, r.ctrd, d.P.Namespace)
			}
		}
		if err != nil && derr == nil {
			derr = fmt.Errorf("prepareAhead %v: %w", s.ahead, err)
		}
	}
	if derr != nil {
		// podrund is broken: still report the floor, and say what failed.
		r.fail("pod start %s: podrund: %v", network, derr)
		res := PodStartResult{Network: network}
		fd, err := fl.measure(ctx, r.s.StartPods+startWarmup)
		if len(fd) > startWarmup {
			res.Floor = Summarize(fd[startWarmup:])
		}
		r.res.PodStart = append(r.res.PodStart, res)
		return err
	}
	floorD, err := r.startLoop(ctx, network, fl, series)
	if err != nil {
		return err
	}
	for _, s := range series {
		res := PodStartResult{Network: network, PreparedAhead: s.ahead,
			Podrun: Summarize(s.podD), Floor: Summarize(floorD), Delete: Summarize(s.delD), Spans: s.spans.summary(),
			FirstLine: Summarize(s.firstLine[0]), AppFirstLine: Summarize(s.firstLine[1])}
		res.RatioMedian, res.RatioP90 = ratio(res.Podrun.Median, res.Floor.Median), ratio(res.Podrun.P90, res.Floor.P90)
		r.res.PodStart = append(r.res.PodStart, res)
	}
	return nil
}

// startLoop runs the interleaved pods and returns the floor's samples.
func (r *run) startLoop(ctx context.Context, network string, fl *floor, series []*startSeries) ([]time.Duration, error) {
	evctx, cancel := context.WithCancel(ctx)
	defer cancel()
	floorEvents := recordEvents(evctx, r.ctrd, floorNamespace)
	var floorD []time.Duration
	for i := 0; i < r.s.StartPods+startWarmup; i++ {
		fdur, fp, err := fl.runPod(ctx, i)
		var fids []string
		for _, c := range fp.containers {
			fids = append(fids, c.ID())
		}
		if rerr := fp.remove(ctx); err == nil {
			err = rerr
		}
		if err != nil {
			return nil, err
		}
		msg := fmt.Sprintf("pod start %s %d/%d: floor %v", network, i+1, r.s.StartPods+startWarmup, fdur.Round(time.Microsecond))
		for k := range series {
			s := series[(i+k)%len(series)]
			st, err := r.startOne(ctx, s.d, s.pw, startNS, fmt.Sprintf("start-%d", i))
			if err != nil {
				return nil, fmt.Errorf("prepareAhead %v: %w", s.ahead, err)
			}
			if i >= startWarmup {
				s.podD, s.delD = append(s.podD, st.Start), append(s.delD, st.Delete)
				for k, d := range st.FirstLine {
					s.firstLine[k] = append(s.firstLine[k], d)
				}
				if err := s.spans.add(ctx, s.ev, floorEvents, st, fids); err != nil {
					return nil, err
				}
			}
			msg += fmt.Sprintf(", podrun (prepared ahead %v) %v", s.ahead, st.Start.Round(time.Microsecond))
		}
		if i >= startWarmup {
			floorD = append(floorD, fdur)
		}
		r.progress("%s", msg)
	}
	return floorD, nil
}

// startTiming is one pod's start and delete.
type startTiming struct {
	Applied time.Time // before the apply's GET
	Running podEvent  // the first event with every container running
	Start   time.Duration
	Delete  time.Duration
	// FirstLine is apply → the first log line of the first container
	// (sidecar-1) and of the app, as stamped by podrun's log writer.
	FirstLine [2]time.Duration
}

// startOne applies a three-container pod and times apply → every container
// running (as the watch stream reports it), then DELETE → DELETED.
func (r *run) startOne(ctx context.Context, d *Daemon, pw *podWatch, ns, name string) (startTiming, error) {
	var st startTiming
	wctx, cancel := context.WithTimeout(ctx, r.s.ReadyTimeout)
	defer cancel()
	st.Applied = time.Now()
	if err := applyPod(wctx, d.C, ns, firstLinePod(name)); err != nil {
		return st, err
	}
	ev, err := pw.wait(wctx, name, "every container running", allRunning)
	if err != nil {
		return st, fmt.Errorf("%w\npodrund log:\n%s", err, d.P.LogTail(20))
	}
	st.Running, st.Start = ev, ev.At.Sub(st.Applied)
	for k, c := range []string{sidecar1, appName} {
		at, err := firstLineAt(wctx, d.C, ns, name, c)
		if err != nil {
			return st, err
		}
		st.FirstLine[k] = at.Sub(st.Applied)
	}
	t1 := time.Now()
	if err := deletePod(wctx, d.C, ns, name); err != nil {
		return st, err
	}
	ev, err = pw.wait(wctx, name, "DELETED", isDeleted)
	if err != nil {
		return st, err
	}
	pw.forget(name)
	st.Delete = ev.At.Sub(t1)
	return st, nil
}

// spans splits a start by containerd's events of the three containers (in
// start order): before the first /containers/create, from it to the third
// /tasks/start, and from that to the end.
func spans(ctx context.Context, ce *ctrEvents, ids []string, from, to time.Time) (before, inside, after time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var first, last time.Time
	for _, id := range ids {
		t, err := ce.waitFor(ctx, id, "create and start", func(t ctrTimes) bool { return !t.Created.IsZero() && !t.Started.IsZero() })
		if err != nil {
			return 0, 0, 0, err
		}
		if first.IsZero() || t.Created.Before(first) {
			first = t.Created
		}
		if t.Started.After(last) {
			last = t.Started
		}
	}
	return first.Sub(from), last.Sub(first), to.Sub(last), nil
}

// podIDs are the containerd IDs of a running pod's containers.
func podIDs(p podEvent) []string {
	var ids []string
	for _, name := range []string{sidecar1, sidecar2, appName} {
		s, _ := status(p.Pod, name)
		ids = append(ids, containerID(s))
	}
	return ids
}

// benchBridge and benchSubnet are the CNI mode's network; the subnet is
// one that podrun's own tests do not use.
const (
	benchBridge = "prbench0"
	benchSubnet = "10.238.0.0/24"
)

// writeCNIConfig writes a bridge + host-local conflist (no masquerade, no
// portmap: nothing in iptables) with IPAM state below dir.
func writeCNIConfig(dir, binDir string) (*CNIConfig, error) {
	conf := filepath.Join(dir, "conf")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		return nil, err
	}
	body := fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "podrun-bench",
  "plugins": [
    {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": false,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": %q}]], "dataDir": %q}}
  ]
}`, benchBridge, benchSubnet, filepath.Join(dir, "ipam"))
	if err := os.WriteFile(filepath.Join(conf, "10-podrun-bench.conflist"), []byte(body), 0o644); err != nil {
		return nil, fmt.Errorf("write CNI config: %w", err)
	}
	return &CNIConfig{ConfDir: conf, BinDir: binDir, Bridge: benchBridge}, nil
}

// removeBridge deletes the bridge the plugin left for the next pod.
func removeBridge(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return nil // never created
	}
	if err := netlink.LinkDel(l); err != nil {
		return fmt.Errorf("delete bridge %s: %w", name, err)
	}
	return nil
}

// spanSamples collects the containerd-event split of podrun's and the
// floor's starts.
type spanSamples struct {
	before, inside, after, floorInside []time.Duration
}

func (b *spanSamples) add(ctx context.Context, pod, floor *ctrEvents, st startTiming, floorIDs []string) error {
	x, y, z, err := spans(ctx, pod, podIDs(st.Running), st.Applied, st.Running.At)
	if err != nil {
		return err
	}
	_, f, _, err := spans(ctx, floor, floorIDs, time.Time{}, time.Time{})
	if err != nil {
		return err
	}
	b.before, b.inside, b.after, b.floorInside = append(b.before, x), append(b.inside, y), append(b.after, z), append(b.floorInside, f)
	return nil
}

func (b *spanSamples) summary() StartSpans {
	return StartSpans{ApplyToFirstCreate: Summarize(b.before), FirstCreateToLastStart: Summarize(b.inside),
		LastStartToWatch: Summarize(b.after), FloorFirstCreateToLastStart: Summarize(b.floorInside)}
}
