package crilog

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ServeCommand is the shared writer's first argument:
// "podrund-logger log-writer --state DIR" (or podrund's own subcommand
// without podrund-logger). One such process
// writes the logs of every container, instead of one process per
// container, and outlives podrund: it is started detached and exits once
// no container is attached.
const ServeCommand = "log-writer"

// ServeMain runs the shared writer with the arguments after ServeCommand
// and returns the exit code: 2 for bad arguments, 1 when serving failed.
func ServeMain(args []string) int {
	fs := flag.NewFlagSet(ServeCommand, flag.ContinueOnError)
	state := fs.String("state", "", "the writer's private state dir (socket, attachments, FIFOs)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *state == "" || fs.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "usage: %s --state DIR\n", ServeCommand)
		return 2
	}
	if err := Serve(*state, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "log writer:", err)
		return 1
	}
	return 0
}

// Attachment is one container's streams and log, as podrund registers it.
type Attachment struct {
	ID     string `json:"id"`
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr,omitempty"` // empty with a TTY
	Log    Spec   `json:"log"`
}

// The protocol: one JSON request per line, one JSON response per line.
type request struct {
	Op     string      `json:"op"` // "attach" or "drained"
	Attach *Attachment `json:"attach,omitempty"`
	ID     string      `json:"id,omitempty"`
}

type response struct {
	Error string `json:"error,omitempty"`
}

const (
	opAttach  = "attach"
	opDrained = "drained"
	// maxRequest bounds a request line: an attachment is a few paths.
	maxRequest = 64 << 10
)

// startupGrace is how long a writer with nothing to do waits for its first
// attachment before it exits.
const startupGrace = 10 * time.Second

// lockWait bounds how long a writer waits for its predecessor, which is
// exiting, to release the state dir.
const lockWait = 5 * time.Second

// validID: 1-128 of [A-Za-z0-9_.-], not starting with '_', '.' or '-':
// an attachment's file is named by it. (A loop, not a regexp compiled at
// every start of the per-container writer too.)
func validID(id string) bool {
	if len(id) == 0 || len(id) > 128 || strings.ContainsRune("_.-", rune(id[0])) {
		return false
	}
	for _, c := range []byte(id) {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && c != '_' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

// Validate checks an attachment before anything is opened or stored.
func (a Attachment) Validate() error {
	if !validID(a.ID) {
		return fmt.Errorf("attachment id %q: want 1-128 letters, digits, '_', '.', '-'", a.ID)
	}
	for name, p := range map[string]string{"stdout": a.Stdout, "log.path": a.Log.Path} {
		if !filepath.IsAbs(p) {
			return fmt.Errorf("attachment %s: %s %q is not an absolute path", a.ID, name, p)
		}
	}
	if a.Stderr != "" && !filepath.IsAbs(a.Stderr) {
		return fmt.Errorf("attachment %s: stderr %q is not an absolute path", a.ID, a.Stderr)
	}
	if a.Log.MaxBytes < 0 || a.Log.MaxFiles < 0 {
		return fmt.Errorf("attachment %s: negative log rotation limits", a.ID)
	}
	return nil
}

// attachmentsDir holds one file per attachment below the state dir, so that
// a restarted writer reattaches to every live FIFO.
func attachmentsDir(state string) string { return filepath.Join(state, "attachments") }

// SocketPath is the writer's socket in its state dir.
func SocketPath(state string) string { return filepath.Join(state, "writer.sock") }

type attachment struct {
	spec    Attachment
	cancel  context.CancelFunc
	streams []*fifoReader
	done    chan struct{}
}

type server struct {
	state string
	log   io.Writer

	mu       sync.Mutex
	attached map[string]*attachment
	closing  bool
	ln       net.Listener
	inflight int        // requests being handled
	idle     *sync.Cond // on mu: inflight dropped to 0
}

// Serve runs the shared writer on state (its private dir: socket, lock,
// attachments) until no container is attached. A second writer on the same
// state dir waits for the first to exit, then serves; if it is still
// there after lockWait, the second exits at once.
func Serve(state string, logw io.Writer) error {
	if err := os.MkdirAll(attachmentsDir(state), 0o700); err != nil {
		return fmt.Errorf("create writer state: %w", err)
	}
	// The FIFOs' and the socket's dir: no other local user may reach them.
	if err := os.Chmod(state, 0o700); err != nil {
		return err
	}
	lock, err := lockState(state)
	if err != nil || lock == nil {
		return err
	}
	defer lock.Close()
	sock := SocketPath(state)
	_ = os.Remove(sock) // a predecessor's, SIGKILLed: we hold the lock
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", sock, err)
	}
	if err := os.Chmod(sock, 0o600); err != nil {
		ln.Close()
		return err
	}
	s := &server{state: state, log: logw, attached: map[string]*attachment{}, ln: ln}
	s.idle = sync.NewCond(&s.mu)
	s.reattach()
	time.AfterFunc(startupGrace, s.exitIfIdle)
	for {
		conn, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if !closing {
				return fmt.Errorf("accept: %w", err)
			}
			break
		}
		go s.serveConn(conn)
	}
	// Answer what is in flight (a drained that removed the last
	// attachment) before the process exits.
	s.mu.Lock()
	for s.inflight > 0 {
		s.idle.Wait()
	}
	s.mu.Unlock()
	return nil
}

// lockState takes the state dir's lock; nil, nil when another writer keeps
// it.
func lockState(state string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(state, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open writer lock: %w", err)
	}
	deadline := time.Now().Add(lockWait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, nil
			}
			return nil, fmt.Errorf("lock writer state: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *server) logf(format string, args ...any) {
	fmt.Fprintf(s.log, "podrund-logger: "+format+"\n", args...)
}

// reattach starts every stored attachment again (after a crash or an
// upgrade): their FIFOs kept what the containers wrote meanwhile.
func (s *server) reattach() {
	entries, _ := os.ReadDir(attachmentsDir(s.state))
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		p := filepath.Join(attachmentsDir(s.state), e.Name())
		var a Attachment
		raw, err := os.ReadFile(p)
		if err == nil {
			err = json.Unmarshal(raw, &a)
		}
		if err == nil {
			err = a.Validate()
		}
		if err == nil {
			err = s.attach(a, false)
		}
		if err != nil {
			s.logf("drop stored attachment %s: %v", e.Name(), err)
			os.Remove(p)
		}
	}
}

func (s *server) serveConn(conn net.Conn) {
	defer conn.Close()
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 4096), maxRequest)
	enc := json.NewEncoder(conn)
	for sc.Scan() {
		s.mu.Lock()
		s.inflight++
		s.mu.Unlock()
		err := s.handle(sc.Bytes())
		resp := response{}
		if err != nil {
			resp.Error = err.Error()
		}
		werr := enc.Encode(resp)
		s.mu.Lock()
		if s.inflight--; s.inflight == 0 {
			s.idle.Broadcast()
		}
		s.mu.Unlock()
		if werr != nil {
			return
		}
	}
}

func (s *server) handle(line []byte) error {
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		return fmt.Errorf("decode request: %w", err)
	}
	switch req.Op {
	case opAttach:
		if req.Attach == nil {
			return errors.New("attach: no attachment")
		}
		if err := req.Attach.Validate(); err != nil {
			return err
		}
		return s.attach(*req.Attach, true)
	case opDrained:
		s.drained(req.ID)
		return nil
	default:
		return fmt.Errorf("unknown op %q", req.Op)
	}
}

// attach opens the log and starts copying; again for an attached ID is a
// no-op (podrund registers what it adopts after its restart).
func (s *server) attach(a Attachment, store bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return errors.New("the log writer is exiting")
	}
	if _, ok := s.attached[a.ID]; ok {
		return nil
	}
	l, err := Open(a.Log.Path, a.Log.MaxBytes, a.Log.MaxFiles)
	if err != nil {
		return err
	}
	if store {
		if err := s.store(a); err != nil {
			l.Close()
			return err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	at := &attachment{spec: a, cancel: cancel, done: make(chan struct{}),
		streams: []*fifoReader{newFifoReader(a.Stdout)}}
	var stderr io.Reader = strings.NewReader("")
	if a.Stderr != "" {
		r := newFifoReader(a.Stderr)
		at.streams = append(at.streams, r)
		stderr = r
	}
	s.attached[a.ID] = at
	go s.run(ctx, at, l, at.streams[0], stderr)
	return nil
}

// store writes the attachment's file, whole or not at all.
func (s *server) store(a Attachment) error {
	raw, err := json.Marshal(a)
	if err != nil {
		return err
	}
	p := filepath.Join(attachmentsDir(s.state), a.ID+".json")
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return fmt.Errorf("store attachment: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store attachment: %w", err)
	}
	return nil
}

// run copies until both streams end (the shim closed them: the container
// is gone) or drained gave up waiting, then forgets the attachment: its
// file, its FIFOs, and, when it was the last, the writer itself.
func (s *server) run(ctx context.Context, at *attachment, l *Log, stdout, stderr io.Reader) {
	err := copyStreams(ctx, l, stdout, stderr)
	l.Close()
	for _, r := range at.streams {
		r.Close()
	}
	if err != nil {
		s.logf("container %s: %v", at.spec.ID, err)
	}
	os.Remove(filepath.Join(attachmentsDir(s.state), at.spec.ID+".json"))
	for _, r := range at.streams {
		os.Remove(r.path)
	}
	os.Remove(filepath.Dir(at.spec.Stdout)) // podrund's dir per container, if empty
	s.mu.Lock()
	delete(s.attached, at.spec.ID)
	s.mu.Unlock()
	close(at.done)
	s.exitIfIdle()
}

// drained waits until the container's streams ended and its log is closed:
// podrund asks once the task is deleted, before it reads the log for a
// termination message. Streams still open after drainWait are cut.
func (s *server) drained(id string) {
	s.mu.Lock()
	at := s.attached[id]
	s.mu.Unlock()
	if at == nil {
		return
	}
	at.cancel()
	for _, r := range at.streams {
		r.release()
	}
	<-at.done
}

// exitIfIdle stops accepting once nothing is attached; Serve then returns
// when the requests in flight are answered.
func (s *server) exitIfIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.attached) == 0 && !s.closing {
		s.closing = true
		s.ln.Close()
	}
}
