package runtime

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/core/runtime/v2/logging"
)

// LoggerCommand is the first argument with which the shim runs podrund as
// an instance's log writer.
const LoggerCommand = "cri-logger"

// LoggerSpec is the log writer's configuration, passed as one argument.
type LoggerSpec struct {
	Path     string
	MaxBytes int64
	MaxFiles int
}

// String encodes the spec as "MAXBYTES,MAXFILES,PATH" (path last: it may
// hold commas).
func (s LoggerSpec) String() string {
	return fmt.Sprintf("%d,%d,%s", s.MaxBytes, s.MaxFiles, s.Path)
}

// ParseLoggerSpec decodes LoggerSpec.String.
func ParseLoggerSpec(s string) (LoggerSpec, error) {
	parts := strings.SplitN(s, ",", 3)
	if len(parts) != 3 || parts[2] == "" {
		return LoggerSpec{}, fmt.Errorf("logger spec %q: want MAXBYTES,MAXFILES,PATH", s)
	}
	maxBytes, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return LoggerSpec{}, fmt.Errorf("logger spec %q: max bytes: %w", s, err)
	}
	maxFiles, err := strconv.Atoi(parts[1])
	if err != nil {
		return LoggerSpec{}, fmt.Errorf("logger spec %q: max files: %w", s, err)
	}
	return LoggerSpec{Path: parts[2], MaxBytes: maxBytes, MaxFiles: maxFiles}, nil
}

// LoggerMain is the log writer the containerd shim runs for every
// instance (containerd binary logging). The shim executes
//
//	<podrund executable> cri-logger MAXBYTES,MAXFILES,PATH
//
// with the container's stdout on fd 3, stderr on fd 4 and a ready pipe on
// fd 5 (CONTAINER_ID and CONTAINER_NAMESPACE in the environment).
// cmd/podrund dispatches on os.Args[1] == LoggerCommand and calls
// os.Exit(LoggerMain(os.Args[2:])). It writes PATH in CRI format, rotated
// at MAXBYTES (0: never) keeping MAXFILES files, and returns when both
// streams end. Bad arguments return 2; otherwise it exits the process
// itself (containerd's logging.Run).
func LoggerMain(args []string) int {
	if len(args) != 1 {
		fmt.Fprintf(os.Stderr, "usage: podrund %s MAXBYTES,MAXFILES,PATH\n", LoggerCommand)
		return 2
	}
	spec, err := ParseLoggerSpec(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	logging.Run(func(ctx context.Context, cfg *logging.Config, ready func() error) error {
		return runLogger(ctx, spec, cfg, ready)
	})
	return 0
}

func runLogger(ctx context.Context, spec LoggerSpec, cfg *logging.Config, ready func() error) error {
	l, err := openCRILog(spec.Path, spec.MaxBytes, spec.MaxFiles)
	if err != nil {
		ready()
		return err
	}
	defer l.Close()
	if err := ready(); err != nil {
		return fmt.Errorf("signal logger ready: %w", err)
	}
	errs := make(chan error, 2)
	go func() { errs <- l.copyStream("stdout", cfg.Stdout) }()
	go func() { errs <- l.copyStream("stderr", cfg.Stderr) }()
	var firstErr error
	for n := 2; n > 0; n-- {
		select {
		case err := <-errs:
			if err != nil && firstErr == nil {
				firstErr = err
			}
		case <-ctx.Done():
			// SIGTERM from the shim at task deletion, right after it closed
			// the pipes: drain what is left, but never hang the shim.
			return drain(errs, n, firstErr)
		}
	}
	return firstErr
}

// drain waits a little for the remaining n stream copies to reach EOF.
func drain(errs <-chan error, n int, firstErr error) error {
	deadline := time.After(2 * time.Second)
	for ; n > 0; n-- {
		select {
		case err := <-errs:
			if err != nil && firstErr == nil {
				firstErr = err
			}
		case <-deadline:
			return firstErr
		}
	}
	return firstErr
}
