// Package app is podrund itself: it wires the store, containerd's runtime,
// the API server, the pod engine, the Job controller and the monitors,
// serves until its context ends or the host shuts down, and closes them.
// cmd/podrund parses the command line and calls Run; the systemd side
// (sd_notify, socket activation) stays there and comes in as hooks.
package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/podrun/podrun/daemon/config"
	"github.com/podrun/podrun/daemon/containerd"
	"github.com/podrun/podrun/daemon/memory"
	"github.com/podrun/podrun/daemon/metrics"
	"github.com/podrun/podrun/daemon/nodeshutdown"
	"github.com/podrun/podrun/daemon/objects"
	"github.com/podrun/podrun/daemon/sandbox"
	"github.com/podrun/podrun/daemon/secopts"
	"github.com/podrun/podrun/daemon/server"
	"github.com/podrun/podrun/daemon/store"
	"github.com/podrun/podrun/daemon/volumes"
	"github.com/podrun/podrun/supervisor"
	"github.com/podrun/podrun/supervisor/job"
	"github.com/podrun/podrun/supervisor/probe"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
)

// volumeRefreshInterval is how often mounted configMap/secret volumes are
// re-projected, like the kubelet's periodic pod sync.
const volumeRefreshInterval = time.Minute

// Options are what the main hands the daemon: its build and the systemd
// hooks. A nil hook does nothing (Listen: server.Listen).
type Options struct {
	Version, GitCommit string
	// Listen returns the API listener: the socket systemd passed or one
	// opened at path.
	Listen func(path string) (net.Listener, error)
	// WaitingForContainerd is called before each wait for containerd.
	WaitingForContainerd func(retryIn time.Duration, why error)
	// SettingUp is called every SettingUpInterval while the image and
	// manifest directories get their first pass, with what is being done.
	SettingUp         func(status string)
	SettingUpInterval time.Duration
	// Ready is called once the API serves, the stored pods are adopted
	// and the device directories had their first pass.
	Ready func()
	// Stopping is called when podrund begins to stop.
	Stopping func()
	// Watchdog runs until ctx ends, pinging while healthy() holds.
	Watchdog func(ctx context.Context, healthy func() bool)
}

// daemon holds the wired parts.
type daemon struct {
	cfg    config.Config
	log    *zap.Logger
	opts   Options
	st     *store.Store
	rt     *containerd.Runtime
	srv    *server.Server
	mgr    *supervisor.Manager
	jobs   *job.Runner
	crons  func(ctx context.Context) // the CronJob controller and its change feed
	vols   *volumes.Manager
	objs   *objects.Objects
	images memory.Images
	stopCD func() // stops an embedded containerd (host shutdown only)
	// socketGID is socketGroup's gid, -1 without one.
	socketGID int
	https     *https // nil without listenHTTPS
}

// seccompRoot is where Localhost seccomp profiles live: <root>/seccomp, as
// the kubelet's are in <root-dir>/seccomp. With the default root that is
// secopts.DefaultSeccompRoot; a podrund with another --root (tests, a
// second daemon) no longer shares the host-wide directory.
func seccompRoot(cfg config.Config) string {
	return filepath.Join(cfg.Root, "seccomp")
}

// Run wires podrund, re-adopts every stored pod, serves until ctx ends
// (SIGTERM/SIGINT: pods keep running) or the host shuts down (pods are
// stopped in pod order first).
func Run(ctx context.Context, cfg config.Config, log *zap.Logger, opts Options) error {
	log.Info("podrund starting", zap.String("version", opts.Version), zap.String("root", cfg.Root),
		zap.String("state", cfg.State), zap.String("namespace", cfg.Namespace),
		zap.String("cniConfDir", cfg.CNI.ConfDir), zap.Any("policy", cfg.Policy),
		zap.Int64("logMaxBytes", cfg.LogRotation.MaxSizeBytes), zap.Int("logMaxFiles", cfg.LogRotation.MaxFiles),
		zap.Duration("shutdownGracePeriod", cfg.ShutdownGracePeriod.Duration), zap.Bool("pprof", cfg.Pprof))
	if len(cfg.ImagePull.PlainHTTPRegistries) > 0 {
		log.Warn("imagePull.plainHTTPRegistries is not supported by the runtime yet; only localhost registries use plain HTTP",
			zap.Strings("registries", cfg.ImagePull.PlainHTTPRegistries))
	}
	for _, dir := range []string{cfg.Root, cfg.State} {
		if err := privateDir(dir); err != nil {
			return err
		}
	}
	d := &daemon{cfg: cfg, log: log, opts: opts, socketGID: -1}
	if cfg.SocketGroup != "" {
		gid, err := server.LookupGroup(cfg.SocketGroup)
		if err != nil {
			return err
		}
		d.socketGID = gid
	}
	if err := d.wire(ctx); err != nil {
		d.close()
		return err
	}
	defer d.close()
	return d.serve(ctx)
}

// privateDir creates dir, or takes an existing one, as root:root 0700 at
// every start: it holds Secrets, logs and volumes, and one made more open
// by an older podrund or by hand must not stay so. Nothing below it then
// needs to be closed to other local users one file at a time.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if err := os.Chown(dir, 0, 0); err != nil {
		return fmt.Errorf("make %s root's: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("make %s private: %w", dir, err)
	}
	return nil
}

func (d *daemon) wire(ctx context.Context) error {
	cfg, log := d.cfg, d.log
	var err error
	if d.st, err = store.Open(ctx, cfg.Root, log.Named("store")); err != nil {
		return err
	}
	embed, why := containerd.EmbedContainerd(cfg.EmbeddedContainerd, cfg.ContainerdAddress, config.Defaults().ContainerdAddress)
	log.Info("containerd", zap.Bool("mayStartOwn", embed), zap.String("because", why))
	addr, stop, err := containerd.EnsureContainerd(ctx, containerd.ContainerdOptions{Address: cfg.ContainerdAddress,
		Root: cfg.Root, State: cfg.State, Embedded: embed, Logger: log.Named("containerd"),
		Waiting: d.opts.WaitingForContainerd})
	if err != nil {
		return err
	}
	d.stopCD = stop
	oom := oomScoreLimit(log)
	d.vols = volumes.NewManager(cfg.Root, d.st, log.Named("volumes"), volumes.WithHostPathPrefixes(hostPathPrefixes(cfg.Policy)...))
	sb, err := sandbox.NewManager(sandbox.Options{Root: cfg.Root, State: cfg.State, CNIConfDir: cfg.CNI.ConfDir,
		CNIBinDir: cfg.CNI.BinDir, Logger: log.Named("sandbox"), Volumes: d.vols})
	if err != nil {
		return fmt.Errorf("pod sandboxes: %w", err)
	}
	d.rt, err = containerd.New(ctx, containerd.Options{Address: addr, Namespace: cfg.Namespace, Root: cfg.Root,
		State: cfg.State, Objects: d.st, Sandboxes: sb, Volumes: d.vols, Logger: log.Named("runtime"),
		LogMaxBytes: cfg.LogRotation.MaxSizeBytes, LogMaxFiles: cfg.LogRotation.MaxFiles,
		DockerConfig: cfg.ImagePull.DockerConfig, Security: secopts.Config{SeccompRoot: seccompRoot(cfg), OOMScore: oom}.SpecOpts,
		ImportBinary: importBinary(log), PerContainerLogWriter: cfg.LogWriter == config.LogWriterPerContainer,
		ShimPerNode: cfg.ShimGrouping == config.ShimGroupingNode})
	if err != nil {
		return fmt.Errorf("containerd runtime: %w", err)
	}
	clk := clock.RealClock{}
	m := metrics.New(d.listPods, d.rt.Ready)
	heap := memory.NewReleaser(clk, memory.ReleaseDelay)
	pol, err := policy(cfg.Policy)
	if err != nil {
		return err
	}
	objs, err := objects.New(objects.Options{Store: d.st, Volumes: d.vols, Logs: d.rt, Metrics: m, Policy: pol,
		Clock: clk, Logger: log.Named("objects")})
	if err != nil {
		return err
	}
	p := prober{rt: d.rt}
	probes := probe.NewManager(p, clk, log.Named("probe"), probe.WithObserver(observeProbe(m)))
	d.mgr = supervisor.NewManager(memory.Runtime{Runtime: d.rt, Heap: heap}, objs, supervisor.Options{Clock: clk, Logger: log.Named("engine"),
		ConcurrentStarts: cfg.ConcurrentPodStarts, Probes: probes, RunHook: hookRunner(p), PrepareAhead: cfg.PrepareAhead})
	d.objs, d.images = objs, memory.Images{Images: d.rt, Heap: heap}
	ctrl := job.NewController(job.Options{Pods: objs, Jobs: objs, Events: objs, Logger: log.Named("job"),
		MaxPodCreatesPerSync: cfg.Limits.MaxJobPodCreatesPerSync})
	d.jobs = job.NewRunner(ctrl, objs, clk, log.Named("job"))
	if err := objs.Connect(objects.Wiring{Engine: d.mgr, Jobs: d.jobs, Pods: d.jobs}); err != nil {
		return err
	}
	d.crons = cronJobRunner(objs, clk, log.Named("cronjob"))
	if d.https, err = newHTTPS(cfg.ListenHTTPS, cfg.Root, log); err != nil {
		return err
	}
	d.srv, err = server.New(server.Options{Objects: objs, Images: d.images, Execer: d.rt,
		Dialer: sb, Kubeconfig: d.https.kubeconfig(),
		Metrics: m, Root: cfg.Root, Logger: log.Named("api"),
		Version: d.opts.Version, GitCommit: d.opts.GitCommit, ContainerdVersion: d.containerdVersion, Pprof: cfg.Pprof,
		ReadyzNotes: []string{oom.String()},
		Limits: server.Limits{Watches: cfg.Limits.MaxWatches, LogFollows: cfg.Limits.MaxLogFollows,
			ExecSessions: cfg.Limits.MaxExecSessions, RequestTimeout: cfg.Limits.RequestTimeout.Duration}})
	if err != nil {
		return err
	}
	return nil
}

func (d *daemon) listPods(ctx context.Context) ([]*corev1.Pod, error) {
	recs, _, err := d.st.Pods().List(ctx, "")
	pods := make([]*corev1.Pod, 0, len(recs))
	for _, r := range recs {
		pods = append(pods, r.Pod)
	}
	return pods, err
}

func (d *daemon) containerdVersion(ctx context.Context) string {
	v, err := d.rt.Version(ctx)
	if err != nil {
		return ""
	}
	return v
}

// adopt hands every stored pod to the engine: running instances are
// adopted, nothing restarts (R94); after a reboot R95 applies.
func (d *daemon) adopt(ctx context.Context) error {
	recs, _, err := d.st.Pods().List(ctx, "")
	if err != nil {
		return fmt.Errorf("list stored pods: %w", err)
	}
	for _, rec := range recs {
		if err := d.mgr.Start(ctx, rec); err != nil {
			d.log.Error("re-adopt pod", zap.String("pod", rec.Pod.Namespace+"/"+rec.Pod.Name),
				zap.String("uid", string(rec.Pod.UID)), zap.Error(err))
		}
	}
	d.log.Info("re-adopted stored pods", zap.Int("pods", len(recs)))
	return nil
}

// shareSocket gives socketGroup the API socket (also one systemd passed).
func (d *daemon) shareSocket(ln net.Listener) error {
	if d.socketGID < 0 {
		return nil
	}
	path, err := server.SocketPath(ln)
	if err != nil {
		return fmt.Errorf("socketGroup: %w", err)
	}
	if err := server.ShareSocket(path, d.socketGID, d.cfg.State, d.cfg.Root); err != nil {
		return err
	}
	d.log.Info("API socket shared with a group", zap.String("socket", path), zap.Int("gid", d.socketGID))
	return nil
}

// listen opens the API socket through the main's hook, if any.
func (d *daemon) listen() (net.Listener, error) {
	if d.opts.Listen != nil {
		return d.opts.Listen(d.cfg.Socket)
	}
	return server.Listen(d.cfg.Socket)
}

func (d *daemon) serve(ctx context.Context) error {
	inhibitor := nodeshutdown.Inhibit(d.log)
	defer inhibitor.Release()
	if inhibitor != nil {
		nodeshutdown.CheckLogindDelay(d.log, d.cfg.ShutdownGracePeriod.Duration, nodeshutdown.ReadLogindDelayMax)
	}
	ln, err := d.listen()
	if err != nil {
		return err
	}
	if err := d.shareSocket(ln); err != nil {
		_ = ln.Close()
		return err
	}
	var tln net.Listener // the HTTPS listener, if any
	if d.https != nil {
		if tln, err = d.https.listen(); err != nil {
			_ = ln.Close()
			return err
		}
	}
	engineCtx, stopEngine := context.WithCancel(context.WithoutCancel(ctx))
	defer stopEngine()
	engineDone := make(chan error, 1)
	go func() { engineDone <- d.mgr.Run(engineCtx) }()
	d.sweepOrphans(ctx)
	if err := d.adopt(ctx); err != nil {
		_ = ln.Close()
		if tln != nil {
			_ = tln.Close()
		}
		return err
	}
	jobsDone := make(chan struct{})
	go func() { _ = d.jobs.Run(engineCtx); close(jobsDone) }()
	cronJobsDone := make(chan struct{})
	go func() { d.crons(engineCtx); close(cronJobsDone) }()
	go d.vols.Run(engineCtx, volumeRefreshInterval)
	go d.localStorageMonitor().Run(engineCtx)

	serveCtx, stopServe := context.WithCancel(ctx)
	defer stopServe()
	served := make(chan error, 2)
	go func() { served <- d.srv.Serve(serveCtx, ln) }()
	servers := 1
	if tln != nil {
		d.log.Info("serving HTTPS", zap.String("address", tln.Addr().String()))
		servers++
		go func() { served <- d.srv.Serve(serveCtx, tln) }()
	}
	waitDevice := d.setUpDevice(engineCtx)
	d.srv.SetReady(true)
	if d.opts.Ready != nil {
		d.opts.Ready()
	}
	if d.opts.Watchdog != nil {
		go d.opts.Watchdog(serveCtx, d.healthy)
	}
	go inhibitor.Watch(serveCtx, d.shutdownPods, func() { d.resumePods(engineCtx) })
	d.log.Info("podrund ready")

	select {
	case <-ctx.Done():
		d.log.Info("stopping podrund; pods keep running in their shims unless a host shutdown stopped them")
	case err := <-served:
		return fmt.Errorf("API server stopped: %w", err)
	case err := <-engineDone:
		if err == nil {
			err = errors.New("it returned early")
		}
		return fmt.Errorf("pod engine stopped: %w", err)
	}
	if d.opts.Stopping != nil {
		d.opts.Stopping()
	}
	hostShutdown := inhibitor.ShutDown()
	stopServe()
	for range servers {
		<-served
	}
	stopEngine()
	<-engineDone
	<-jobsDone
	<-cronJobsDone
	waitDevice()
	if hostShutdown {
		d.stopCD()
	}
	return nil
}

// healthy is the watchdog's check: the store answers a read within a
// few seconds (a wedged store or a stuck process stops the pings and
// systemd restarts podrund; pods keep running).
func (d *daemon) healthy() bool {
	done := make(chan error, 1)
	go func() {
		_, err := d.st.ResourceVersion()
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			d.log.Error("store read failed", zap.Error(err))
		}
		return err == nil
	case <-time.After(5 * time.Second):
		return false
	}
}

// shutdownPods stops every pod in pod order (apps, then sidecars in
// reverse) within the configured grace; the pods stay in the store.
func (d *daemon) shutdownPods() {
	grace := d.cfg.ShutdownGracePeriod.Duration
	d.log.Info("stopping pods for the host shutdown", zap.Duration("grace", grace))
	ctx, cancel := context.WithTimeout(context.Background(), grace+10*time.Second)
	defer cancel()
	if err := d.mgr.Shutdown(ctx, grace); err != nil {
		d.log.Error("stop pods at host shutdown", zap.Error(err))
	}
}

// resumePods runs again the pods a cancelled host shutdown stopped, as a
// podrund start after the host came back would.
func (d *daemon) resumePods(ctx context.Context) {
	n, err := d.mgr.Resume(ctx)
	if err != nil {
		d.log.Error("run pods again after the cancelled host shutdown", zap.Error(err))
	}
	d.log.Info("host shutdown cancelled: pods run again", zap.Int("pods", n))
}

func (d *daemon) close() {
	var errs []error
	if d.rt != nil {
		errs = append(errs, d.rt.Close())
	}
	if d.st != nil {
		errs = append(errs, d.st.Close())
	}
	if err := errors.Join(errs...); err != nil {
		d.log.Warn("close", zap.Error(err))
	}
}
