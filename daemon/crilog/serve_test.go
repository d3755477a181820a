package crilog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hang bounds the waits of these tests: only a hang reaches it.
const hang = 30 * time.Second

// newWriter is podrund's side of a shared writer that runs as this test
// binary (TestMain) in a state dir of the test's own; the writer is killed
// at the test's end if it still runs.
func newWriter(t *testing.T) *Writer {
	t.Helper()
	base := t.TempDir()
	w := &Writer{Binary: os.Args[0], State: filepath.Join(base, "state"), Stderr: os.Stderr, Logf: t.Logf}
	t.Cleanup(func() {
		w.Close()
		if pid := writerPID(w); pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return w
}

// writerPID is the pid of the writer serving w's socket, 0 when none.
func writerPID(w *Writer) int {
	conn, err := w.dial()
	if err != nil {
		return 0
	}
	defer conn.Close()
	return peerPID(conn)
}

// shimEnds are the ends of a FIFO that containerd's shim holds: the write
// end it copies the container's output to and a read end it never reads,
// so that the pipe lives while no writer reads it.
type shimEnds struct{ w, r *os.File }

// openShim opens the FIFO as the shim does; the write end's open waits for
// the writer's read end.
func openShim(t testing.TB, path string) *shimEnds {
	t.Helper()
	w, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	r, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	return &shimEnds{w: w, r: r}
}

func (s *shimEnds) Close() { s.w.Close(); s.r.Close() }

// attach registers a container with a log below the writer's test dir.
func attach(t testing.TB, w *Writer, id string, tty bool) (Attachment, string) {
	t.Helper()
	path := filepath.Join(filepath.Dir(w.State), "logs", id, "0.log")
	a, err := w.MakeFIFOs(id, Spec{Path: path, MaxBytes: 1 << 20, MaxFiles: 2}, tty)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Attach(a); err != nil {
		t.Fatal(err)
	}
	return a, path
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hang)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// drainedWithin calls Drained and fails the test if it hangs.
func drainedWithin(t *testing.T, w *Writer, id string) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- w.Drained(id) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("drained %s: %v", id, err)
		}
	case <-time.After(hang):
		t.Fatalf("drained %s hangs", id)
	}
}

func TestSharedWriterLogsEveryContainerThenExits(t *testing.T) {
	w := newWriter(t)
	type ctr struct {
		a    Attachment
		path string
		tty  bool
	}
	var ctrs []ctr
	for i, tty := range []bool{false, false, true} {
		a, path := attach(t, w, fmt.Sprintf("c%d", i), tty)
		ctrs = append(ctrs, ctr{a, path, tty})
	}
	if n := len(w.Stored()); n != 3 {
		t.Fatalf("%d stored attachments, want 3", n)
	}
	for i, c := range ctrs {
		out := openShim(t, c.a.Stdout)
		fmt.Fprintf(out.w, "out of c%d\npartial", i)
		out.Close()
		if !c.tty {
			errs := openShim(t, c.a.Stderr)
			fmt.Fprintf(errs.w, "err of c%d\n", i)
			errs.Close()
		}
		drainedWithin(t, w, c.a.ID)
		want := [][]string{{"stdout", "F", fmt.Sprintf("out of c%d", i)}, {"stdout", "F", "partial"}}
		if !c.tty {
			want = append(want, []string{"stderr", "F", fmt.Sprintf("err of c%d", i)})
		}
		got := readRecords(t, c.path)
		sortByStream(got)
		wantRecords(t, got, want)
		if _, err := os.Stat(w.FIFODir(c.a.ID)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("FIFO dir of %s left after its drain: %v", c.a.ID, err)
		}
	}
	if ids := w.Stored(); len(ids) != 0 {
		t.Errorf("attachments left: %v", ids)
	}
	eventually(t, "the writer exits once nothing is attached", func() bool { return writerPID(w) == 0 })
}

// sortByStream puts stdout records before stderr ones, each stream in its
// order: the two streams are copied concurrently.
func sortByStream(recs [][]string) {
	var out, errs [][]string
	for _, r := range recs {
		if r[0] == "stdout" {
			out = append(out, r)
		} else {
			errs = append(errs, r)
		}
	}
	copy(recs, append(out, errs...))
}

// TestSharedWriterSIGKILLLosesNoLine kills the writer between two bursts
// of numbered lines; the watch starts it again, it reattaches from its
// state dir, and the second burst, which waited in the pipe, follows the
// first: no line lost, none twice.
func TestSharedWriterSIGKILLLosesNoLine(t *testing.T) {
	w := newWriter(t)
	a, path := attach(t, w, "numbered", true)
	shim := openShim(t, a.Stdout)
	burst := func(from, to int) {
		for i := from; i <= to; i++ {
			fmt.Fprintf(shim.w, "line %d\n", i)
		}
	}
	lines := func() int { return countLines(path) }
	burst(1, 100)
	eventually(t, "the first burst is written", func() bool { return lines() == 100 })
	for kill := 1; kill <= 3; kill++ {
		pid := writerPID(w)
		if pid == 0 {
			t.Fatal("no writer")
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		// Dead before the burst: a dying writer must not take a line.
		waitExit(pid, hang)
		burst(kill*100+1, kill*100+100)
		eventually(t, "the restarted writer writes what waited", func() bool { return lines() == kill*100+100 })
		if now := writerPID(w); now == pid || now == 0 {
			t.Fatalf("writer pid %d after killing %d", now, pid)
		}
	}
	shim.Close()
	drainedWithin(t, w, a.ID)
	for i, r := range readRecords(t, path) {
		if want := "line " + strconv.Itoa(i+1); r[2] != want || r[1] != "F" {
			t.Fatalf("record %d is %q, want %q", i, r, want)
		}
	}
}

func countLines(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		n++
	}
	return n
}

// TestSharedWriterDrainedEndsAStreamNoShimOpened: a task that was never
// created (or whose shim died) leaves the writer waiting in the FIFO's
// open; Drained must not hang on it, before and after a writer restart.
func TestSharedWriterDrainedEndsAStreamNoShimOpened(t *testing.T) {
	w := newWriter(t)
	a, path := attach(t, w, "never", false)
	b, _ := attach(t, w, "orphan", false)
	drainedWithin(t, w, a.ID)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("log of a container that wrote nothing: %v", err)
	}
	pid := writerPID(w)
	syscall.Kill(pid, syscall.SIGKILL)
	eventually(t, "the writer restarts", func() bool { p := writerPID(w); return p != 0 && p != pid })
	drainedWithin(t, w, b.ID)
	eventually(t, "the writer exits once nothing is attached", func() bool { return writerPID(w) == 0 })
}

// TestWriterRefusesBadRequests: the socket is root's only, but a request
// is still checked: garbage, an oversized line, an ID that would escape
// the state dir and relative paths are refused and the writer serves on.
func TestWriterRefusesBadRequests(t *testing.T) {
	w := newWriter(t)
	attach(t, w, "keep", true) // keeps the writer up
	for _, tc := range []struct{ name, line, want string }{
		{"garbage", "{not json", "decode request"},
		{"unknown op", `{"op":"rm -rf"}`, "unknown op"},
		{"no attachment", `{"op":"attach"}`, "no attachment"},
		{"escaping id", `{"op":"attach","attach":{"id":"../../x","stdout":"/a","log":{"Path":"/l"}}}`, "attachment id"},
		{"relative path", `{"op":"attach","attach":{"id":"x","stdout":"a","log":{"Path":"/l"}}}`, "absolute"},
		{"negative limits", `{"op":"attach","attach":{"id":"x","stdout":"/a","log":{"Path":"/l","MaxFiles":-1}}}`, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rawRequest(t, w, tc.line); !strings.Contains(got, tc.want) {
				t.Fatalf("answer %q, want one containing %q", got, tc.want)
			}
		})
	}
	t.Run("oversized line", func(t *testing.T) {
		conn, err := w.dial()
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		go conn.Write([]byte(strings.Repeat("x", 4*maxRequest)))
		conn.SetReadDeadline(time.Now().Add(hang))
		if n, err := conn.Read(make([]byte, 1)); err == nil {
			t.Fatalf("read %d bytes, want the connection closed", n)
		}
	})
	if got := rawRequest(t, w, `{"op":"drained","id":"unknown"}`); got != "{}" {
		t.Fatalf("writer after bad requests answers %q", got)
	}
}

func rawRequest(t *testing.T, w *Writer, line string) string {
	t.Helper()
	conn, err := w.dial()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(hang))
	if _, err := io.WriteString(conn, line+"\n"); err != nil {
		t.Fatal(err)
	}
	answer, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(answer)
}

// probeCommand runs this binary as another local user trying the
// writer's socket and a FIFO (TestMain): it prints what each attempt got.
const probeCommand = "probe-writer"

func probe(args []string) int {
	if conn, err := net.Dial("unix", args[0]); err != nil {
		fmt.Println("socket:", err)
	} else {
		conn.Close()
		fmt.Println("socket: connected")
	}
	// Non-blocking: an open that would succeed does not wait for a writer.
	if f, err := os.OpenFile(args[1], os.O_RDONLY|syscall.O_NONBLOCK, 0); err != nil {
		fmt.Println("fifo:", err)
	} else {
		f.Close()
		fmt.Println("fifo: opened")
	}
	return 0
}

// TestSharedWriterRefusesOtherUsers: a local user other than root can
// neither talk to the writer nor read a container's output, through the
// private state dir and, were that dir opened, the socket's and FIFOs' own
// modes.
func TestSharedWriterRefusesOtherUsers(t *testing.T) {
	if os.Getuid() != 0 {
		t.Fatal("needs root, to run the probe as another user")
	}
	w := newWriter(t)
	a, _ := attach(t, w, "private", true)
	// The probe must be executable by nobody: a copy in an open dir.
	bin := filepath.Join(filepath.Dir(w.State), "probe")
	exe, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, exe, 0o755); err != nil {
		t.Fatal(err)
	}
	// Open the two dirs t.TempDir made (TMP/TestName123/001, 0700) and
	// nothing above them; the state dir stays as Serve made it.
	testDir := filepath.Dir(w.State)
	for _, d := range []string{testDir, filepath.Dir(testDir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run := func() string {
		cmd := exec.Command(bin, probeCommand, SocketPath(w.State), a.Stdout)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("probe: %v\n%s", err, out)
		}
		return string(out)
	}
	for _, layer := range []string{"state dir", "socket and FIFO modes"} {
		if got := run(); strings.Contains(got, "connected") || strings.Contains(got, "opened") ||
			strings.Count(got, "permission denied") != 2 {
			t.Errorf("%s: as nobody:\n%s", layer, got)
		}
		// Next, open the dirs themselves to check the files' own modes.
		os.Chmod(w.State, 0o755)
		os.Chmod(filepath.Dir(w.FIFODir(a.ID)), 0o755)
		os.Chmod(w.FIFODir(a.ID), 0o755)
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"0123abcDEF": true, "a_b.c-d": true, strings.Repeat("a", 128): true,
		"": false, strings.Repeat("a", 129): false, ".": false, "..": false, "../x": false,
		"-x": false, "_x": false, "a/b": false, "a b": false, "a\x00": false, "é": false,
	} {
		if got := validID(id); got != want {
			t.Errorf("validID(%q) = %v, want %v", id, got, want)
		}
	}
}

// BenchmarkSharedWriterAttach is the shared writer's cost per container
// start, what the shim's fork and exec of a writer process used to be:
// making the FIFOs and registering them (the log is open on return), then
// the shim's open of the write end. The drain at the container's end is
// outside the timing.
func BenchmarkSharedWriterAttach(b *testing.B) {
	w := &Writer{Binary: os.Args[0], State: filepath.Join(b.TempDir(), "state"), Stderr: os.Stderr}
	defer func() {
		w.Close()
		if pid := writerPID(w); pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}()
	attach(b, w, "keep", true) // the writer runs throughout
	b.ResetTimer()
	for i := range b.N {
		a, _ := attach(b, w, fmt.Sprintf("c%d", i), true)
		shim := openShim(b, a.Stdout)
		b.StopTimer()
		shim.Close()
		if err := w.Drained(a.ID); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
