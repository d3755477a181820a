package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/api/client"
	"github.com/podrun/podrun/api/client/fake"
)

// openPTY opens a pseudo-terminal pair with x/sys/unix alone.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty slave: %v", err)
	}
	t.Cleanup(func() { s.Close(); m.Close() })
	return m, s
}

func setSize(t *testing.T, f *os.File, cols, rows uint16) {
	t.Helper()
	if err := unix.IoctlSetWinsize(int(f.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Col: cols, Row: rows}); err != nil {
		t.Fatalf("set window size: %v", err)
	}
}

// TestExecTTY drives exec -it through a real pseudo-terminal: the terminal
// goes raw and comes back, its size is sent at start and on SIGWINCH, input
// typed on the terminal reaches the command, and the exit code comes back.
func TestExecTTY(t *testing.T) {
	master, slave := openPTY(t)
	setSize(t, slave, 80, 24)
	before, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}

	srv := fake.Start(t)
	srv.Set(client.Pods, pod("web", corev1.PodRunning))
	sizes := make(chan fake.TerminalSize, 4)
	typed := make(chan string, 1)
	raw := make(chan bool, 1)
	srv.Exec = func(_ string, _ []string, tty bool, stdin *fake.ExecStdin, stdout, _ *fake.ExecOutput, resize <-chan fake.TerminalSize) int {
		if !tty || stdin == nil {
			t.Errorf("tty %v stdin %v", tty, stdin != nil)
			return 1
		}
		now, _ := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
		raw <- now.Lflag&unix.ICANON == 0 && now.Lflag&unix.ECHO == 0
		for i := 0; i < 2; i++ {
			select {
			case sz := <-resize:
				sizes <- sz
			case <-time.After(10 * time.Second):
				t.Error("no resize frame")
				return 1
			}
			if i == 0 {
				setSize(t, slave, 100, 30)
				_ = syscall.Kill(os.Getpid(), syscall.SIGWINCH)
			}
		}
		buf := make([]byte, 3)
		_, _ = io.ReadFull(stdin, buf)
		typed <- string(buf)
		_, _ = io.WriteString(stdout, "bye\r\n")
		return 42
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		_, _ = master.Write([]byte("hi\n"))
	}()
	go func() { _, _ = io.Copy(io.Discard, master) }() // drain the terminal's output

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := run(ctx, []string{"--socket", srv.Socket, "exec", "-it", "web", "--", "sh"},
		streams{In: slave, Out: slave, ErrOut: io.Discard})
	if code != 42 {
		t.Errorf("exit code %d, want 42", code)
	}
	if !<-raw {
		t.Error("the terminal was not in raw mode during exec")
	}
	if a, b := <-sizes, <-sizes; a != (fake.TerminalSize{Width: 80, Height: 24}) || b != (fake.TerminalSize{Width: 100, Height: 30}) {
		t.Errorf("resizes %+v %+v", a, b)
	}
	if got := <-typed; got != "hi\n" {
		t.Errorf("stdin %q", got)
	}
	after, _ := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if after.Lflag != before.Lflag || after.Iflag != before.Iflag || after.Oflag != before.Oflag {
		t.Error("the terminal mode was not restored")
	}
}

// TestExecTTYWithoutStdin: -t alone gives the command a terminal of the
// right size but leaves the local terminal cooked, so Ctrl-C still stops
// podctl.
func TestExecTTYWithoutStdin(t *testing.T) {
	_, slave := openPTY(t)
	setSize(t, slave, 120, 40)
	srv := fake.Start(t)
	srv.Set(client.Pods, pod("web", corev1.PodRunning))
	type seen struct {
		tty, stdin, cooked bool
		size               fake.TerminalSize
	}
	got := make(chan seen, 1)
	srv.Exec = func(_ string, _ []string, tty bool, stdin *fake.ExecStdin, _, _ *fake.ExecOutput, resize <-chan fake.TerminalSize) int {
		now, _ := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
		s := seen{tty: tty, stdin: stdin != nil, cooked: now.Lflag&unix.ICANON != 0 && now.Lflag&unix.ISIG != 0}
		select {
		case s.size = <-resize:
		case <-time.After(10 * time.Second):
		}
		got <- s
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := run(ctx, []string{"--socket", srv.Socket, "exec", "-t", "web", "--", "top"},
		streams{In: slave, Out: slave, ErrOut: io.Discard})
	s := <-got
	if code != 0 || !s.tty || s.stdin || !s.cooked || s.size != (fake.TerminalSize{Width: 120, Height: 40}) {
		t.Errorf("exit %d, seen %+v", code, s)
	}
}
