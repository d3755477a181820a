package supervisor

import (
	"context"
	"io"
	"net"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// ContainerClass tells how the kubelet treats a spec container.
type ContainerClass string

const (
	// PlainInit is an init container without restartPolicy: runs once, to exit 0.
	PlainInit ContainerClass = "Init"
	// Sidecar is an init container with restartPolicy: Always.
	Sidecar ContainerClass = "Sidecar"
	// Regular is an entry of spec.containers.
	Regular ContainerClass = "Regular"
)

// InstanceState is the runtime state of one container instance.
type InstanceState string

const (
	InstanceCreated InstanceState = "Created"
	InstanceRunning InstanceState = "Running"
	InstanceExited  InstanceState = "Exited"
	InstanceUnknown InstanceState = "Unknown"
)

// Instance is one runtime container created for a spec container; every
// restart makes a new instance with a new ID and Attempt+1 (the restartCount).
type Instance struct {
	ID             string         `json:"id"`
	Container      string         `json:"container"`
	Attempt        int32          `json:"attempt"`
	SandboxAttempt int32          `json:"sandboxAttempt"`
	Image          string         `json:"image"`              // image as written in the spec
	ImageRef       string         `json:"imageRef,omitempty"` // normalised image name the runtime used
	ImageID        string         `json:"imageID,omitempty"`  // content digest of the image
	SpecHash       string         `json:"specHash,omitempty"` // hash of name+image (R29 "definition changed")
	StopSignal     syscall.Signal `json:"stopSignal,omitempty"`
	LogPath        string         `json:"logPath,omitempty"`
	State          InstanceState  `json:"state"`
	CreatedAt      time.Time      `json:"createdAt,omitempty"`
	StartedAt      time.Time      `json:"startedAt,omitempty"`
	FinishedAt     time.Time      `json:"finishedAt,omitempty"`
	ExitCode       int32          `json:"exitCode,omitempty"`
	Reason         string         `json:"reason,omitempty"`  // Completed, Error, OOMKilled, StartError, ContainerStatusUnknown
	Message        string         `json:"message,omitempty"` // termination message
	// Unreaped: the exit was recorded from the runtime's event and the
	// runtime has not deleted the task and container yet (the reap runs
	// after the engine reacted); adoption reaps it after a podrund restart.
	Unreaped bool `json:"unreaped,omitempty"`
}

// ExitStatus is what the runtime knows about an instance that stopped.
type ExitStatus struct {
	ExitCode   int32
	FinishedAt time.Time
	OOMKilled  bool
	// Message is the termination message (terminationMessagePath, with the
	// FallbackToLogsOnError policy already applied by the runtime).
	Message string
}

// Sandbox is the pod's shared namespaces (network, IPC, UTS) that outlive
// any single container.
type Sandbox struct {
	Attempt   int32  // increments each time the sandbox is re-created (R14)
	PodIP     string // empty for loopback-only networking
	HostIPs   []string
	NetNSPath string // empty with hostNetwork
}

// CreateRequest asks the runtime for a new instance of one spec container.
// The runtime resolves env (ConfigMaps, Secrets, fieldRefs), volumes and the
// OCI spec; a failure there is a *StartError with a kubelet waiting reason.
type CreateRequest struct {
	Pod       *corev1.Pod
	Container *corev1.Container
	Class     ContainerClass
	Attempt   int32
	Sandbox   Sandbox
	ImageRef  string // as returned by EnsureImage's ImageStatus.Ref
	// Ahead: the instance is prepared before its turn (Options.PrepareAhead);
	// a PreparedChecker runtime records what it resolved so that
	// PreparedCurrent can tell at the turn whether it is still current.
	Ahead bool
}

// ImageStatus describes a local image.
type ImageStatus struct {
	Present bool
	Ref     string // normalised name, e.g. docker.io/library/busybox:1.28
	ID      string // content digest (imageID)
	Size    int64
}

// PullProgress reports bytes of an image pull in progress.
type PullProgress func(done, total int64)

// ExecRequest runs a command in a running instance. Stdin may be nil.
type ExecRequest struct {
	Command []string
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	TTY     bool
	Resize  <-chan TerminalSize // only with TTY
}

// TerminalSize is a TTY window size.
type TerminalSize struct{ Width, Height uint16 }

// RuntimeEventKind is the kind of a RuntimeEvent.
type RuntimeEventKind string

const (
	// EventExit: an instance's process exited; the pod's engine reaps it.
	EventExit RuntimeEventKind = "Exit"
	// EventOOM: the kernel OOM-killed a process of the instance (arrives before its exit).
	EventOOM RuntimeEventKind = "OOM"
	// EventDisconnected / EventReconnected: the runtime connection was lost / came back;
	// after a reconnect every engine re-observes its instances.
	EventDisconnected RuntimeEventKind = "Disconnected"
	EventReconnected  RuntimeEventKind = "Reconnected"
)

// RuntimeEvent is pushed by the runtime (subscribed, never polled).
type RuntimeEvent struct {
	Kind        RuntimeEventKind
	PodUID      string // from the instance's labels; empty for connection events
	ContainerID string
	ExitCode    int32
	At          time.Time
	// Message says what failed, for EventDisconnected (the error that
	// ended the connection); pods' events quote it.
	Message string
}

// RuntimeContainer is an instance found in the runtime, for adoption after a
// podrund restart.
type RuntimeContainer struct {
	ID        string
	PodUID    string
	Container string
	Attempt   int32
	State     InstanceState
	StartedAt time.Time
	Exit      *ExitStatus // set when State is Exited

	// What an instance the store does not name needs to become one
	// (adopt_unrecorded.go): podrund stopped after starting it, before the
	// status naming it was committed.
	SandboxAttempt int32
	LogPath        string
	StopSignal     syscall.Signal
	ImageRef       string // the image the runtime created it from
	CreatedAt      time.Time

	// The pod's namespace and name, for the orphan sweep (orphans.go),
	// which has no stored pod to read them from.
	PodNamespace string
	PodName      string
}

// PodRef names a pod that left something on the host. Namespace and Name
// are empty where what is left does not say them.
type PodRef struct {
	UID       types.UID
	Namespace string
	Name      string
}

// String is namespace/name (uid), or the uid alone.
func (r PodRef) String() string {
	if r.Name == "" {
		return string(r.UID)
	}
	return r.Namespace + "/" + r.Name + " (" + string(r.UID) + ")"
}

// Runtime is everything the engine needs from the container runtime. The
// daemon implements it on containerd; unit tests use a fake.
type Runtime interface {
	// Images.
	ImageStatus(ctx context.Context, ref string) (ImageStatus, error)
	PullImage(ctx context.Context, ref string, progress PullProgress) (ImageStatus, error)

	// Sandbox: idempotent; SandboxStatus reports whether the pod's namespaces
	// still exist (false after a reboot: R14 re-initialization).
	EnsureSandbox(ctx context.Context, pod *corev1.Pod, attempt int32) (Sandbox, error)
	SandboxExists(ctx context.Context, pod *corev1.Pod) (bool, error)
	RemoveSandbox(ctx context.Context, pod *corev1.Pod) error

	// Containers. CreateContainer prepares an instance (snapshot, container,
	// task created with its process not yet started); StartContainer starts
	// the process. StopContainer sends sig (0: the instance's StopSignal),
	// waits up to grace for the exit, then SIGKILLs and waits; "not found"
	// is success. Reap deletes the task, the container and its snapshot of an
	// exited instance and returns its exit status. RemoveContainer removes an
	// instance that never started (or kills and removes a running one).
	CreateContainer(ctx context.Context, req CreateRequest) (Instance, error)
	StartContainer(ctx context.Context, id string) (time.Time, error)
	StopContainer(ctx context.Context, id string, sig syscall.Signal, grace time.Duration) error
	Reap(ctx context.Context, id string) (ExitStatus, error)
	RemoveContainer(ctx context.Context, id string) error
	ListContainers(ctx context.Context) ([]RuntimeContainer, error)

	// Exec runs a command in a running instance and returns its exit code.
	Exec(ctx context.Context, id string, req ExecRequest) (int, error)
	// Dial connects from inside the pod's network namespace (probes, hooks).
	Dial(ctx context.Context, pod *corev1.Pod, network, address string) (net.Conn, error)

	// Events streams exits and OOMs of podrun's instances until ctx ends.
	Events(ctx context.Context) <-chan RuntimeEvent

	// Instances created ahead of their turn (Options.PrepareAhead).
	PreparedChecker

	// What pods leave on the host beyond containers, for the orphan sweep:
	// PodLeftovers lists the pods that still have a sandbox, pod directory
	// or logs; RemovePodLogs deletes a pod's logs (RemoveSandbox removes
	// the rest).
	PodLeftovers(ctx context.Context) ([]PodRef, error)
	RemovePodLogs(pod *corev1.Pod) error
}

// StartError is a failure to create or start an instance, with the waiting
// reason the kubelet would report (R87): CreateContainerConfigError,
// CreateContainerError, RunContainerError, ErrImagePull, ErrImageNeverPull,
// InvalidImageName, ...
type StartError struct {
	Reason  string
	Message string
	Err     error
}

func (e *StartError) Error() string {
	if e.Err != nil {
		return e.Reason + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Reason + ": " + e.Message
}

func (e *StartError) Unwrap() error { return e.Err }
