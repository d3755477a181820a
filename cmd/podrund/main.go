// Command podrund is podrun's daemon: it runs Kubernetes pods, jobs,
// configmaps and secrets on containerd with the kubelet's semantics and
// serves the REST API of design.md §3 on a unix socket.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/podrun/podrun/daemon/config"
	"github.com/podrun/podrun/daemon/runtime"
	"github.com/spf13/cobra"
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
	stopHeapSampling()
	// Fallback log writer, when podrund-logger is not installed beside
	// podrund or on PATH: "podrund cri-logger MAXBYTES,MAXFILES,PATH".
	if len(os.Args) > 1 && os.Args[1] == runtime.LoggerCommand {
		os.Exit(runtime.LoggerMain(os.Args[2:]))
	}
	if err := newCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "podrund:", err)
		os.Exit(1)
	}
}

func newCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:           "podrund",
		Short:         "podrun daemon: Kubernetes pods with native sidecars on containerd",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	flags := config.AddFlags(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := flags.Resolve()
		if err != nil {
			return err
		}
		log, err := newLogger(cfg.LogLevel)
		if err != nil {
			return err
		}
		defer func() { _ = log.Sync() }()
		applyMemory(cfg.Memory, cfg.Pprof, log)
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		return run(ctx, cfg, log)
	}
	return cmd
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
