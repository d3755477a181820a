package crilog

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// drainWait bounds how long the writer waits for the streams' last bytes
// after the shim's SIGTERM: it must never hang the shim's task deletion.
const drainWait = 2 * time.Second

// Main runs the writer as containerd's binary log driver starts it, args
// being what follows Command: the encoded Spec. The shim passes the
// container's stdout on fd 3, stderr on fd 4 and a ready pipe on fd 5
// (what containerd's runtime/v2/logging.Run reads, without its imports).
// It returns the exit code: 2 for bad arguments, 1 when writing failed,
// 0 when both streams ended.
func Main(args []string) int {
	if len(args) != 1 {
		fmt.Fprintf(os.Stderr, "usage: %s MAXBYTES,MAXFILES,PATH\n", Command)
		return 2
	}
	spec, err := ParseSpec(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	// Non-blocking pipes are read through Go's poller: no OS thread per
	// stream blocked in read(2), so less memory per container.
	for _, fd := range []int{3, 4} {
		_ = syscall.SetNonblock(fd, true)
	}
	stdout := os.NewFile(3, "CONTAINER_STDOUT")
	stderr := os.NewFile(4, "CONTAINER_STDERR")
	wait := os.NewFile(5, "CONTAINER_WAIT")
	if err := Run(ctx, spec, stdout, stderr, wait.Close); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// Run writes both streams to the spec's log until they end. ready is
// called once the log is open (the shim starts the container only then;
// it is called on failure too, so the shim learns of it at once). When ctx
// ends (SIGTERM from the shim at task deletion, right after it closed the
// pipes) what is left is drained for at most drainWait.
func Run(ctx context.Context, spec Spec, stdout, stderr io.Reader, ready func() error) error {
	l, err := Open(spec.Path, spec.MaxBytes, spec.MaxFiles)
	if err != nil {
		_ = ready()
		return err
	}
	defer l.Close()
	if err := ready(); err != nil {
		return fmt.Errorf("signal logger ready: %w", err)
	}
	return copyStreams(ctx, l, stdout, stderr)
}

// copyStreams writes both streams to l until they end, or until ctx ends
// and what is left has drained for at most drainWait: the one copy loop of
// the per-container writer (Run) and the shared one (Serve).
func copyStreams(ctx context.Context, l *Log, stdout, stderr io.Reader) error {
	errs := make(chan error, 2)
	go func() { errs <- l.CopyStream("stdout", stdout) }()
	go func() { errs <- l.CopyStream("stderr", stderr) }()
	var firstErr error
	for n := 2; n > 0; n-- {
		select {
		case err := <-errs:
			if err != nil && firstErr == nil {
				firstErr = err
			}
		case <-ctx.Done():
			return drain(errs, n, firstErr)
		}
	}
	return firstErr
}

// drain waits up to drainWait for the remaining n stream copies to end.
func drain(errs <-chan error, n int, firstErr error) error {
	deadline := time.NewTimer(drainWait)
	defer deadline.Stop()
	for ; n > 0; n-- {
		select {
		case err := <-errs:
			if err != nil && firstErr == nil {
				firstErr = err
			}
		case <-deadline.C:
			return firstErr
		}
	}
	return firstErr
}
