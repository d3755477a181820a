package crilog

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runAsync runs Run on two pipes and reports its result on the channel.
func runAsync(ctx context.Context, spec Spec, ready func() error) (stdout, stderr *io.PipeWriter, done <-chan error) {
	or, ow := io.Pipe()
	er, ew := io.Pipe()
	ch := make(chan error, 1)
	go func() { ch <- Run(ctx, spec, or, er, ready) }()
	return ow, ew, ch
}

func TestRunIsReadyBeforeTheFirstRecordAndEndsWithBothStreams(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c", "0.log")
	readyCh := make(chan struct{})
	ready := func() error {
		if _, err := os.Stat(path); err != nil {
			t.Errorf("ready before the log exists: %v", err)
		}
		close(readyCh)
		return nil
	}
	stdout, stderr, done := runAsync(context.Background(), Spec{Path: path}, ready)
	<-readyCh
	io.WriteString(stdout, "out 1\n")
	io.WriteString(stderr, "err 1\n")
	stdout.Close()
	select {
	case err := <-done:
		t.Fatalf("Run returned (%v) while stderr was still open", err)
	case <-time.After(50 * time.Millisecond):
	}
	io.WriteString(stderr, "err 2")
	stderr.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	recs := readRecords(t, path)
	var errs []string
	for _, r := range recs {
		if r[0] == "stderr" {
			errs = append(errs, r[2])
		}
	}
	if len(recs) != 3 || strings.Join(errs, ",") != "err 1,err 2" {
		t.Fatalf("records %q, want out 1 and err 1, err 2 in order", recs)
	}
}

func TestRunReportsAnUnopenableLogAfterSignallingReady(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	readied := false
	_, _, done := runAsync(context.Background(), Spec{Path: filepath.Join(file, "0.log")},
		func() error { readied = true; return nil })
	if err := <-done; err == nil || !readied {
		t.Fatalf("Run = %v, ready called %v; want an error after ready", err, readied)
	}
}

func TestRunStopsDrainingWhenCancelled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr, done := runAsync(ctx, Spec{Path: path}, func() error { return nil })
	io.WriteString(stdout, "kept\n")
	stdout.Close()
	cancel() // stderr never closes: a writer that kept it open must not hang the shim
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(drainWait + 5*time.Second):
		t.Fatal("Run did not return after cancellation")
	}
	stderr.Close()
	wantRecords(t, readRecords(t, path), [][]string{{"stdout", "F", "kept"}})
}

// TestMainAsTheShimRunsIt runs this test binary as the shim runs the
// writer: argv "cri-logger SPEC", stdout on fd 3, stderr on fd 4, the
// ready pipe on fd 5 (closed by the writer once the log is open), SIGTERM
// at task deletion.
func TestMainAsTheShimRunsIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "0.log")
	outR, outW, _ := os.Pipe()
	errR, errW, _ := os.Pipe()
	readyR, readyW, _ := os.Pipe()
	cmd := exec.Command(os.Args[0], Command, Spec{Path: path, MaxBytes: 1 << 20, MaxFiles: 2}.String())
	cmd.ExtraFiles = []*os.File{outR, errR, readyW}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	outR.Close()
	errR.Close()
	readyW.Close()
	if _, err := io.ReadAll(readyR); err != nil { // EOF: the writer is ready
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("ready before the log was created: %v", err)
	}
	io.WriteString(outW, "hello\n")
	io.WriteString(errW, "oops\n")
	outW.Close()
	errW.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("writer exited with %v after both streams ended", err)
	}
	recs := readRecords(t, path)
	if len(recs) != 2 {
		t.Fatalf("records %q, want hello and oops", recs)
	}
}

func TestMainExitsOnSIGTERMWithAStreamLeftOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	outR, outW, _ := os.Pipe()
	errR, errW, _ := os.Pipe()
	readyR, readyW, _ := os.Pipe()
	defer errW.Close()
	cmd := exec.Command(os.Args[0], Command, Spec{Path: path}.String())
	cmd.ExtraFiles = []*os.File{outR, errR, readyW}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	outR.Close()
	errR.Close()
	readyW.Close()
	io.ReadAll(readyR)
	io.WriteString(outW, "before term\n")
	outW.Close()
	cmd.Process.Signal(syscall.SIGTERM)
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		if err != nil {
			t.Fatalf("writer exited with %v after SIGTERM, want 0", err)
		}
	case <-time.After(drainWait + 10*time.Second):
		cmd.Process.Kill()
		t.Fatal("writer did not exit after SIGTERM")
	}
	wantRecords(t, readRecords(t, path), [][]string{{"stdout", "F", "before term"}})
}
