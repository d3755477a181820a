// Command podrund is podrun's daemon: it runs Kubernetes pods, jobs,
// configmaps and secrets on containerd with the kubelet's semantics and
// serves the REST API of docs/contract.md §3 on a unix socket.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/podrun/podrun/daemon/app"
	"github.com/podrun/podrun/daemon/config"
	"github.com/podrun/podrun/daemon/containerd"
	"github.com/podrun/podrun/daemon/memory"
	"github.com/spf13/pflag"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// version and gitCommit are set at build time with
// -ldflags "-X main.version=... -X main.gitCommit=...".
var (
	version   = "dev"
	gitCommit = ""
)

func main() {
	memory.StopHeapSampling()
	// Fallback log writer, when podrund-logger is not installed beside
	// podrund or on PATH: "podrund cri-logger MAXBYTES,MAXFILES,PATH".
	if len(os.Args) > 1 && os.Args[1] == containerd.LoggerCommand {
		os.Exit(containerd.LoggerMain(os.Args[2:]))
	}
	// …and the shared one: "podrund log-writer --state DIR".
	if len(os.Args) > 1 && os.Args[1] == containerd.WriterCommand {
		os.Exit(containerd.WriterMain(os.Args[2:]))
	}
	// Image archives are imported in a child: "podrund import-image …".
	if len(os.Args) > 1 && os.Args[1] == containerd.ImportCommand {
		os.Exit(containerd.ImportMain(os.Args[2:]))
	}
	if err := execute(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "podrund:", err)
		os.Exit(1)
	}
}

// short is the first line of --help.
const short = "podrun daemon: Kubernetes pods with native sidecars on containerd"

// execute parses podrund's command line and runs the daemon. It is plain
// pflag rather than cobra: podrund has no subcommands, and cobra links
// text/template and its own code, whose pages (about 0.2 MiB) stay resident
// in every podrund. --help and --version print what cobra printed.
func execute(args []string, stdout io.Writer) error {
	fs := pflag.NewFlagSet("podrund", pflag.ContinueOnError)
	fs.SortFlags = true
	flags := config.AddFlags(fs)
	help := fs.BoolP("help", "h", false, "help for podrund")
	showVersion := fs.BoolP("version", "v", false, "version for podrund")
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			*help = true
		} else {
			return err
		}
	}
	switch {
	case *help:
		fmt.Fprintf(stdout, "%s\n\nUsage:\n  podrund [flags]\n\nFlags:\n%s", short, fs.FlagUsages())
		return nil
	case *showVersion:
		fmt.Fprintf(stdout, "podrund version %s\n", version)
		return nil
	case fs.NArg() > 0:
		return fmt.Errorf("unknown command %q for %q", fs.Arg(0), "podrund")
	}
	cfg, err := flags.Resolve()
	if err != nil {
		return err
	}
	log, err := newLogger(cfg.LogLevel)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	memory.Apply(cfg.Memory, cfg.Pprof, log)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return app.Run(ctx, cfg, log, app.Options{Version: version, GitCommit: gitCommit,
		Listen:               func(path string) (net.Listener, error) { return listen(path, log) },
		WaitingForContainerd: notifyWaitingForContainerd(cfg.ContainerdAddress, log),
		Ready:                func() { notifyReady(log) },
		SettingUp:            notifySettingUp(log),
		SettingUpInterval:    settingUpInterval,
		Stopping:             notifyStopping,
		Watchdog:             func(ctx context.Context, healthy func() bool) { watchdog(ctx, healthy, log) }})
}

// newLogger builds the structured logger (JSON to stderr, journald reads it).
func newLogger(level string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	zc := zap.NewProductionConfig()
	zc.Level = zap.NewAtomicLevelAt(lvl)
	zc.Sampling = nil // every pod event matters when diagnosing a device
	// The source location of a log line is for developers: resolving it
	// reads the binary's line tables for every call site that logs, which
	// keeps about half a MiB of them resident in an idle podrund. Lines are
	// found by their message and logger name; debug logs keep the location.
	zc.DisableCaller = lvl > zapcore.DebugLevel
	zc.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	log, err := zc.Build()
	if err != nil {
		return nil, fmt.Errorf("build logger: %w", err)
	}
	return log, nil
}
