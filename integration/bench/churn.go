package bench

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/podrun/podrun/integration/harness"
)

// ChurnResult is the churn measurement: Cycles apply → running → delete → DELETED
// cycles of the three-container pod (ChurnLanes at a time), with podrund
// looked at after a warm-up and again after the cycles, when every pod is
// gone and it has settled.
type ChurnResult struct {
	Cycles  int        `json:"cycles"`
	Lanes   int        `json:"lanes"`
	Seconds float64    `json:"seconds"`
	Before  ChurnState `json:"before"` // after the warm-up
	Mid     ChurnState `json:"mid"`    // after half the cycles
	After   ChurnState `json:"after"`
	// Leftovers: containers, tasks, active snapshots, mounts, processes and
	// namespace files the harness's leak check finds with no pod left.
	Leftovers []string `json:"leftovers,omitempty"`
	NoGrowth  bool     `json:"noGrowth"`
	Why       []string `json:"why,omitempty"` // what grew
}

// ChurnState is podrund and the host as the leak check counts them.
type ChurnState struct {
	Snapshot
	Mounts     int `json:"mounts"`     // below podrund's dirs + rootfs mounts of its containerd namespace
	NetnsFiles int `json:"netnsFiles"` // <state>/sandboxes/...
	Leftovers  int `json:"leftovers"`  // leak check findings
}

// rssSlack is how much RSS may differ before it counts as growth: the Go
// heap's high-water mark settles in steps.
const rssSlack = 0.10

func (r *run) churn(ctx context.Context, d *Daemon, pw *podWatch, ns string) error {
	res := &ChurnResult{Cycles: r.s.ChurnCycles, Lanes: r.s.ChurnLanes}
	err := r.cycles(ctx, d, pw, ns, "warm", r.s.ChurnWarmup)
	if err != nil {
		return err
	}
	settle(ctx, 3*time.Second)
	if res.Before, _, err = r.churnState(ctx, d); err != nil {
		return err
	}
	t0 := time.Now()
	half := r.s.ChurnCycles / 2
	if err := r.cycles(ctx, d, pw, ns, "churn-a", half); err != nil {
		return err
	}
	spent := time.Since(t0)
	settle(ctx, 3*time.Second)
	if res.Mid, _, err = r.churnState(ctx, d); err != nil {
		return err
	}
	t1 := time.Now()
	if err := r.cycles(ctx, d, pw, ns, "churn-b", r.s.ChurnCycles-half); err != nil {
		return err
	}
	res.Seconds = round2((spent + time.Since(t1)).Seconds())
	settle(ctx, 3*time.Second)
	if res.After, res.Leftovers, err = r.churnState(ctx, d); err != nil {
		return err
	}
	res.judge()
	r.res.Churn = res
	return nil
}

func (r *run) cycles(ctx context.Context, d *Daemon, pw *podWatch, ns, prefix string, n int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, r.s.ChurnLanes)
	for lane := 0; lane < r.s.ChurnLanes; lane++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if _, err := r.startOne(ctx, d, pw, ns, fmt.Sprintf("%s-%d", prefix, i)); err != nil {
					errs[lane] = err
					return
				}
				if (i+1)%50 == 0 {
					r.progress("churn %s: %d/%d cycles", prefix, i+1, n)
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (r *run) churnState(ctx context.Context, d *Daemon) (ChurnState, []string, error) {
	// The benchmark's own idle keep-alive connections are goroutines and fds
	// of podrund's; how many the lanes left open is the client's pooling,
	// not podrund's growth.
	d.C.CloseIdleConnections()
	time.Sleep(100 * time.Millisecond) // let podrund see the close
	snap, err := d.snapshot(ctx)
	if err != nil {
		return ChurnState{}, nil, err
	}
	st := ChurnState{Snapshot: snap}
	mounts, _ := harness.MountsUnder(d.P.Dir)
	ctrdMounts, _ := harness.MountsUnder(r.env.H.Containerd.Dir)
	for _, m := range ctrdMounts {
		if strings.Contains(m, "/"+d.P.Namespace+"/") {
			mounts = append(mounts, m)
		}
	}
	st.Mounts = len(mounts)
	st.NetnsFiles = len(harness.FilesUnder(d.P.State + "/sandboxes"))
	left := r.env.H.LeakCheckOn(ctx, d.P, r.env.H.Containerd)
	st.Leftovers = len(left)
	return st, left, nil
}

// judge decides "no growth": nothing countable grew from the warm-up to
// the end, and RSS grew by at most rssSlack over the second half of the
// cycles (the Go heap first rises to its working size; a leak keeps
// rising). Threads are reported but not judged: the Go runtime keeps OS
// threads it once needed.
func (c *ChurnResult) judge() {
	b, a := c.Before, c.After
	check := func(name string, before, after float64) {
		if after > before {
			c.Why = append(c.Why, fmt.Sprintf("%s %v → %v", name, before, after))
		}
	}
	check("goroutines", b.Goroutines, a.Goroutines)
	check("fds", float64(b.FDs), float64(a.FDs))
	check("mounts", float64(b.Mounts), float64(a.Mounts))
	check("netns files", float64(b.NetnsFiles), float64(a.NetnsFiles))
	check("leak-check findings", float64(b.Leftovers), float64(a.Leftovers))
	if m := c.Mid; float64(a.RSSKiB) > float64(m.RSSKiB)*(1+rssSlack) {
		c.Why = append(c.Why, fmt.Sprintf("RSS %d KiB → %d KiB over the second half (more than %.0f%%)", m.RSSKiB, a.RSSKiB, rssSlack*100))
	}
	c.NoGrowth = len(c.Why) == 0
}

func (c *ChurnResult) writeTable(w io.Writer) {
	fmt.Fprintf(w, "\n| churn: %d cycles, %d lanes, %.1f s | RSS MiB | heap MiB | goroutines | threads | fds | mounts | netns files | leak-check findings |\n|---|---|---|---|---|---|---|---|---|\n",
		c.Cycles, c.Lanes, c.Seconds)
	row := func(name string, s ChurnState) {
		fmt.Fprintf(w, "| %s | %.1f | %.1f | %.0f | %d | %d | %d | %d | %d |\n", name, float64(s.RSSKiB)/1024, s.HeapInuse,
			s.Goroutines, s.Threads, s.FDs, s.Mounts, s.NetnsFiles, s.Leftovers)
	}
	row("after warm-up", c.Before)
	row(fmt.Sprintf("after %d cycles", c.Cycles/2), c.Mid)
	row("after churn", c.After)
	if len(c.Why) > 0 {
		fmt.Fprintf(w, "\ngrew: %s\n", strings.Join(c.Why, "; "))
	}
	for _, l := range c.Leftovers {
		fmt.Fprintf(w, "- left: %s\n", l)
	}
}
