package bench

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
)

// floorNamespace is the containerd namespace of the floor's containers.
const floorNamespace = "podrun-bench-floor"

// run is one benchmark run.
type run struct {
	s    Settings
	env  *Env
	ctrd *containerd.Client
	res  *Results
	out  io.Writer // progress lines
}

// Run sets everything up, runs the enabled phases in order and returns the
// results; a failed phase is recorded in Results.Errors and the run goes on
// with the next one. The returned error is about setup only.
func Run(ctx context.Context, s Settings, progress io.Writer) (*Results, error) {
	r := &run{s: s, out: progress, res: &Results{Settings: s, Started: time.Now(), Leaks: map[string][]string{}}}
	env, err := Setup(ctx, s.LogLevel)
	if env != nil {
		defer func() {
			if err := env.Close(); err != nil {
				r.fail("cleanup: %v", err)
			}
		}()
	}
	if err != nil {
		return r.res, fmt.Errorf("benchmark setup: %w", err)
	}
	r.env = env
	r.ctrd, err = containerd.New(env.H.Containerd.Address, containerd.WithDefaultNamespace(floorNamespace))
	if err != nil {
		return r.res, fmt.Errorf("connect to containerd: %w", err)
	}
	defer r.ctrd.Close()
	version := ""
	if v, err := r.ctrd.Version(ctx); err == nil {
		version = v.Version
	}
	r.res.Machine = describeMachine(version)
	r.res.LoadStart = loadAverage()
	if others := otherPodrunds(env.H.Base); len(others) > 0 {
		r.note("other podrund/containerd processes were running on this machine during the run "+
			"(figures are then pessimistic): %s", strings.Join(others, "; "))
	}
	for _, phase := range s.Phases {
		r.runPhase(ctx, phase)
	}
	r.res.LoadEnd = loadAverage()
	r.res.evaluateTargets()
	r.res.Seconds = time.Since(r.res.Started).Round(time.Second).Seconds()
	return r.res, nil
}

func (r *run) runPhase(ctx context.Context, phase string) {
	ctx, cancel := context.WithTimeout(ctx, r.s.PhaseTimeout)
	defer cancel()
	r.progress("phase %s", phase)
	t0 := time.Now()
	var err error
	switch phase {
	case "start":
		err = r.podStart(ctx, "loopback", nil)
	case "start-cni":
		var cni *CNIConfig
		if cni, err = writeCNIConfig(filepath.Join(r.env.H.Base, "cni"), r.s.CNIBinDir); err == nil {
			err = r.podStart(ctx, "cni-bridge", cni)
			if berr := removeBridge(cni.Bridge); berr != nil {
				r.fail("%v", berr)
			}
		}
	case "reaction":
		err = r.watched(ctx, "reaction", "", r.reaction)
	case "footprint":
		err = r.footprint(ctx)
	case "scale":
		err = r.watched(ctx, "scale", "", r.scale)
	case "churn":
		err = r.watched(ctx, "churn", "", r.churn)
	case "boot":
		err = r.watched(ctx, "boot", fmt.Sprintf("concurrentPodStarts: %d\n", bootConcurrency), r.boot)
	}
	if err != nil {
		r.fail("phase %s: %v", phase, err)
	}
	r.progress("phase %s done in %v", phase, time.Since(t0).Round(time.Millisecond))
}

// watched runs phase name against its own daemon (with extraConfig in
// its config file) and a watch of the pods of its namespace, bench-NAME;
// afterwards it closes the watch, deletes what the phase left and stops
// the daemon, also when the watch failed to start.
func (r *run) watched(ctx context.Context, name, extraConfig string, phase func(ctx context.Context, d *Daemon, pw *podWatch, ns string) error) error {
	ns := "bench-" + name
	d, err := r.env.StartDaemonWith(ctx, name, nil, extraConfig)
	if d != nil { // a daemon that failed to get ready may have started
		defer r.stopDaemon(ctx, d, ns)
	}
	if err != nil {
		return err
	}
	pw, err := watchPods(ctx, d.C, ns)
	if err != nil {
		return err
	}
	defer pw.Close()
	return phase(ctx, d, pw, ns)
}

// stopDaemon deletes what a phase left, stops the daemon and records the
// harness's leak check for it.
func (r *run) stopDaemon(ctx context.Context, d *Daemon, ns string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	leaks, err := r.env.StopDaemon(ctx, d, ns)
	if err != nil {
		r.fail("stop podrund %s: %v", d.P.Namespace, err)
	}
	if len(leaks) > 0 {
		r.res.Leaks[d.P.Namespace] = leaks
		shown := leaks
		if len(shown) > 5 {
			shown = shown[:5]
		}
		r.fail("podrund %s left %d things behind (all in the JSON's leaks), e.g.: %s", d.P.Namespace, len(leaks), strings.Join(shown, "; "))
	}
}

func (r *run) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.res.Errors = append(r.res.Errors, msg)
	r.progress("ERROR: %s", msg)
}

func (r *run) note(format string, args ...any) {
	r.res.Notes = append(r.res.Notes, fmt.Sprintf(format, args...))
}

func (r *run) progress(format string, args ...any) {
	if r.out != nil {
		fmt.Fprintf(r.out, "%s bench: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
	}
}
