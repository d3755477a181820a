package supervisor

import (
	"sync"
	"time"

	"github.com/podrun/podrun/supervisor/probe/results"
	corev1 "k8s.io/api/core/v1"
)

type msgKind int

const (
	msgExit msgKind = iota
	msgOOM
	msgReconnected
	msgProbe
	msgDelete
	msgUpdate
	msgKillDone
	msgShutdown
	msgSignalled // a kill sent its stop signal (timeline's kill mark)
	msgEvict     // a local storage limit was exceeded (eviction.go)
)

// workerMsg is one input of a pod worker.
type workerMsg struct {
	kind     msgKind
	id       string // instance ID
	exitCode int32
	at       time.Time
	probe    results.Update
	grace    *int64
	pod      *corev1.Pod
	err      error
	message  string
}

// mailbox is an unbounded queue so that routing an event to one busy pod
// (a long pull or postStart) never blocks the others.
type mailbox struct {
	mu    sync.Mutex
	q     []workerMsg
	ready chan struct{}
}

func newMailbox() *mailbox { return &mailbox{ready: make(chan struct{}, 1)} }

func (mb *mailbox) push(m workerMsg) {
	mb.mu.Lock()
	mb.q = append(mb.q, m)
	mb.mu.Unlock()
	select {
	case mb.ready <- struct{}{}:
	default:
	}
}

// drain moves the queued messages into buf (reused between calls).
func (mb *mailbox) drain(buf []workerMsg) []workerMsg {
	mb.mu.Lock()
	buf = append(buf[:0], mb.q...)
	clear(mb.q)
	mb.q = mb.q[:0]
	mb.mu.Unlock()
	return buf
}
