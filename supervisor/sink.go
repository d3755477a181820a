package supervisor

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// EngineState is the engine's own memory of a pod, persisted beside the pod
// so that a podrund restart changes nothing a user can see (R94): every
// instance still remembered (newest last per container), back-off entries,
// the sandbox attempt and the termination bookkeeping.
type EngineState struct {
	Instances      []Instance               `json:"instances,omitempty"`
	Backoff        map[string]BackoffEntry  `json:"backoff,omitempty"` // key: container name + "/" + spec hash (R35)
	SandboxAttempt int32                    `json:"sandboxAttempt,omitempty"`
	Initialized    bool                     `json:"initialized,omitempty"` // a regular container was created in this sandbox
	Terminating    *Termination             `json:"terminating,omitempty"`
	Started        map[string]bool          `json:"started,omitempty"` // instance ID -> started (R94: no flap after restart)
	Ready          map[string]bool          `json:"ready,omitempty"`   // instance ID -> ready
	Waiting        map[string]WaitingReason `json:"waiting,omitempty"` // container name -> last start failure (R87)
	// History is the bounded life record of the pod's instances, pruned
	// ones included, for `podctl timeline` (history.go).
	History []InstanceRecord `json:"history,omitempty"`
}

// BackoffEntry is one crash-loop back-off record (R35).
type BackoffEntry struct {
	Backoff    time.Duration `json:"backoff"`
	LastUpdate time.Time     `json:"lastUpdate"`
}

// WaitingReason is a kubelet waiting reason with its message.
type WaitingReason struct {
	Reason  string    `json:"reason"`
	Message string    `json:"message,omitempty"`
	Since   time.Time `json:"since,omitempty"`
}

// Termination records that the pod is being stopped and why.
type Termination struct {
	Reason      string    `json:"reason"` // Deleted, Completed (Job-style), InitFailed, DeadlineExceeded, Evicted, Replaced, Shutdown
	Since       time.Time `json:"since"`
	GracePeriod int64     `json:"gracePeriod"` // seconds; only ever decreases (R61)
	// Message says why, where the status shows it (an eviction's).
	Message string `json:"message,omitempty"`
}

// PodRecord is a pod as the engine keeps it: the API object (spec and the
// status the engine computed) and the engine's state behind that status.
type PodRecord struct {
	Pod    *corev1.Pod `json:"pod"`
	Engine EngineState `json:"engine"`
}

// Sink is where the engine reports. The daemon implements it with the bbolt
// store and the watch broadcaster; each call commits before it returns.
type Sink interface {
	// SavePod persists the record (status and engine state) and publishes a
	// MODIFIED watch event when the pod's status changed.
	SavePod(ctx context.Context, rec *PodRecord) error
	// SavePodWithEvents is SavePod and the events that explain the change,
	// committed together: a sync costs the store one transaction (one
	// fsync on the device's flash), however many events it has. The
	// events are stored even when the pod is gone.
	SavePodWithEvents(ctx context.Context, rec *PodRecord, events []*corev1.Event) error
	// RecordEvent stores (or bumps the count of) an Event about a pod.
	RecordEvent(ctx context.Context, ev *corev1.Event) error
	// PodFinished is called once a deleted pod has stopped everything: the
	// daemon removes it and publishes DELETED with this final object.
	PodFinished(ctx context.Context, rec *PodRecord) error
}
