package crilog

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// startWait bounds how long Writer waits for a writer it started to
// listen; a new writer may first wait lockWait for its predecessor.
const startWait = lockWait + 5*time.Second

// callAttempts is how often a request is tried: the writer may be exiting
// (its last container ended) when a request arrives, and the next one is
// started.
const callAttempts = 4

// Writer is podrund's side of the shared writer (Serve): it starts the
// writer when none runs, registers attachments, waits for their drain,
// and starts the writer again when it dies while containers are attached.
type Writer struct {
	Binary string    // podrund-logger
	State  string    // the writer's private dir
	Stderr io.Writer // the writer's stderr
	Logf   func(format string, args ...any)

	mu       sync.Mutex // one start at a time; watching
	watching bool
	stop     chan struct{}
	stopOnce sync.Once
}

// FIFODir is where podrund makes the FIFOs of container id: below the
// writer's private dir, which no other local user may enter.
func (w *Writer) FIFODir(id string) string { return filepath.Join(w.State, "fifos", id) }

// FIFOOwners lists the containers that have a FIFO dir.
func (w *Writer) FIFOOwners() []string {
	entries, _ := os.ReadDir(filepath.Join(w.State, "fifos"))
	ids := make([]string, 0, len(entries))
	for _, e := range entries {
		ids = append(ids, e.Name())
	}
	return ids
}

// MakeFIFOs creates the container's FIFOs (stderr too unless tty) and
// returns the attachment to register.
func (w *Writer) MakeFIFOs(id string, log Spec, tty bool) (Attachment, error) {
	a := Attachment{ID: id, Log: log, Stdout: filepath.Join(w.FIFODir(id), "stdout")}
	if !tty {
		a.Stderr = filepath.Join(w.FIFODir(id), "stderr")
	}
	if err := a.Validate(); err != nil {
		return Attachment{}, err
	}
	if err := os.MkdirAll(w.State, 0o700); err != nil {
		return Attachment{}, err
	}
	if err := os.Chmod(w.State, 0o700); err != nil {
		return Attachment{}, err
	}
	if err := os.MkdirAll(w.FIFODir(id), 0o700); err != nil {
		return Attachment{}, fmt.Errorf("create FIFO dir: %w", err)
	}
	for _, p := range []string{a.Stdout, a.Stderr} {
		if p == "" {
			continue
		}
		if err := syscall.Mkfifo(p, 0o600); err != nil && !errors.Is(err, os.ErrExist) {
			os.RemoveAll(w.FIFODir(id))
			return Attachment{}, fmt.Errorf("create FIFO %s: %w", p, err)
		}
	}
	return a, nil
}

// Attach registers a container, starting the writer if needed. On return
// the log is open and the writer reads (or waits for) the FIFOs.
func (w *Writer) Attach(a Attachment) error {
	return w.call(request{Op: opAttach, Attach: &a}, func() bool { return false })
}

// Drained returns once container id's log is complete and closed (both
// streams ended, or were cut drainWait after this call): call it after the
// task is deleted, before reading the log or removing the container. It
// removes what is left of the attachment, the writer's or not.
func (w *Writer) Drained(id string) error {
	defer os.RemoveAll(w.FIFODir(id))
	if !w.stored(id) {
		return nil // never attached, or its log is closed already
	}
	err := w.call(request{Op: opDrained, ID: id}, func() bool { return !w.stored(id) })
	if err != nil {
		// No writer will finish it: drop it, or it is restarted forever.
		os.Remove(w.attachmentFile(id))
	}
	return err
}

// Stored lists the attachments the writer keeps.
func (w *Writer) Stored() []string {
	entries, _ := os.ReadDir(attachmentsDir(w.State))
	var ids []string
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// Close stops watching the writer; the writer goes on.
func (w *Writer) Close() {
	w.stopOnce.Do(func() {
		w.mu.Lock()
		if w.stop == nil {
			w.stop = make(chan struct{})
		}
		close(w.stop)
		w.mu.Unlock()
	})
}

func (w *Writer) attachmentFile(id string) string {
	return filepath.Join(attachmentsDir(w.State), id+".json")
}

func (w *Writer) stored(id string) bool {
	_, err := os.Stat(w.attachmentFile(id))
	return err == nil
}

// call sends one request, starting the writer when none answers. done
// tells, after a lost connection, that the request has no more to do.
func (w *Writer) call(req request, done func() bool) error {
	var last error
	for i := 0; i < callAttempts; i++ {
		if i > 0 && done() {
			return nil
		}
		conn, err := w.dial()
		if err != nil {
			if err = w.ensure(); err != nil {
				return err
			}
			continue
		}
		resp, err := roundTrip(conn, req)
		pid := peerPID(conn)
		conn.Close()
		if err == nil && resp.Error == "" && req.Op == opDrained && len(w.Stored()) == 0 {
			// The writer exits with its last container: let it be gone
			// before the caller reports the container removed.
			waitExit(pid, exitWait)
		}
		switch {
		case err != nil:
			last = err // the writer exited or died meanwhile: again
		case resp.Error != "":
			last = errors.New(resp.Error)
			if !strings.Contains(resp.Error, "exiting") {
				return last
			}
			time.Sleep(20 * time.Millisecond)
		default:
			return nil
		}
	}
	return fmt.Errorf("log writer %s: %w", req.Op, last)
}

// exitWait bounds the wait for a writer that is exiting.
const exitWait = time.Second

// peerPID is the pid of the process at the other end of conn, 0 if
// unknown.
func peerPID(conn net.Conn) int {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return 0
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0
	}
	pid := 0
	_ = raw.Control(func(fd uintptr) {
		if cred, err := syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED); err == nil {
			pid = int(cred.Pid)
		}
	})
	return pid
}

// waitExit waits up to limit until process pid is gone or a zombie (its
// cmdline is empty then).
func waitExit(pid int, limit time.Duration) {
	if pid <= 0 {
		return
	}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err != nil || len(b) == 0 {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func roundTrip(conn net.Conn, req request) (response, error) {
	raw, err := json.Marshal(req)
	if err != nil {
		return response{}, err
	}
	if _, err := conn.Write(append(raw, '\n')); err != nil {
		return response{}, err
	}
	line, err := bufio.NewReader(conn).ReadBytes('\n')
	if err != nil {
		return response{}, fmt.Errorf("read answer: %w", err)
	}
	var resp response
	if err := json.Unmarshal(line, &resp); err != nil {
		return response{}, fmt.Errorf("decode answer: %w", err)
	}
	return resp, nil
}

func (w *Writer) dial() (net.Conn, error) {
	return net.Dial("unix", SocketPath(w.State))
}

// ensure starts the writer unless one answers, and waits until it does.
func (w *Writer) ensure() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if conn, err := w.dial(); err == nil {
		conn.Close()
		w.watchLocked()
		return nil
	}
	if err := os.MkdirAll(w.State, 0o700); err != nil {
		return err
	}
	cmd := exec.Command(w.Binary, ServeCommand, "--state", w.State)
	cmd.Stdout, cmd.Stderr = w.Stderr, w.Stderr
	// Its own session: it outlives podrund, whose process group a stop
	// may signal (and systemd's KillMode=process spares it).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start log writer %s: %w", w.Binary, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(startWait)
	for {
		conn, err := w.dial()
		if err == nil {
			conn.Close()
			w.watchLocked()
			return nil
		}
		select {
		case err := <-exited:
			// A writer that found another one serving exits at once.
			if conn, derr := w.dial(); derr == nil {
				conn.Close()
				w.watchLocked()
				return nil
			}
			return fmt.Errorf("log writer %s exited before it listened: %v", w.Binary, err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("log writer %s does not listen on %s", w.Binary, SocketPath(w.State))
		}
	}
}

// watchLocked starts the watch unless it runs; w.mu is held.
func (w *Writer) watchLocked() {
	if w.watching {
		return
	}
	if w.stop == nil {
		w.stop = make(chan struct{})
	}
	w.watching = true
	go w.watch(w.stop)
}

// watch holds a connection to the writer; when it breaks while
// containers are attached (the writer was killed), it starts the writer
// again, which reattaches them. It ends when the writer exited with
// nothing attached.
func (w *Writer) watch(stop <-chan struct{}) {
	for {
		conn, err := w.dial()
		if err == nil {
			held := make(chan struct{})
			go func() {
				select {
				case <-stop:
					conn.Close()
				case <-held:
				}
			}()
			_, _ = io.Copy(io.Discard, conn)
			close(held)
			conn.Close()
		}
		select {
		case <-stop:
			return
		default:
		}
		w.mu.Lock()
		if conn, err := w.dial(); err == nil {
			conn.Close()
			w.mu.Unlock()
			continue
		}
		if len(w.Stored()) == 0 {
			w.watching = false
			w.mu.Unlock()
			return
		}
		w.watching = false // ensure starts the next watch
		w.mu.Unlock()
		if err := w.ensure(); err != nil {
			if w.Logf != nil {
				w.Logf("restart the container log writer: %v", err)
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
			}
			w.mu.Lock()
			w.watchLocked()
			w.mu.Unlock()
		}
		return
	}
}
