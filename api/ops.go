package api

import "time"

// The podrun-specific operator paths (beyond docs/contract.md):
//   GET /api/v1/namespaces/{ns}/pods/{name}/blockers  → PodBlockers
//   GET /api/v1/namespaces/{ns}/pods/{name}/timeline  → PodTimeline
//   GET /api/v1/namespaces/{ns}/pods/{name}/stats     → PodStats

// Blocker is one thing that holds a pod back now ("Waiting for").
type Blocker struct {
	Container string     `json:"container,omitempty"`
	Class     string     `json:"class,omitempty"` // Init, Sidecar, Regular
	Reason    string     `json:"reason"`          // StartupProbe, CrashLoopBackOff, ErrImagePull, Terminating, ...
	Message   string     `json:"message"`         // the line a person reads
	Until     *time.Time `json:"until,omitempty"` // when this may change next
}

// PodBlockers is the body of GET .../pods/{name}/blockers.
type PodBlockers struct {
	Pod   string    `json:"pod"`
	Time  time.Time `json:"time"` // when the lines were computed (their "in 5s" are relative to it)
	Items []Blocker `json:"items"`
}

// TimelineInstance is the life of one container instance.
type TimelineInstance struct {
	Container    string     `json:"container"`
	Class        string     `json:"class"`
	Attempt      int32      `json:"attempt"`
	ID           string     `json:"id"`
	State        string     `json:"state"` // Created, Running, Exited, Unknown
	CreatedAt    *time.Time `json:"createdAt,omitempty"`
	StartedAt    *time.Time `json:"startedAt,omitempty"`
	ReadyAt      *time.Time `json:"readyAt,omitempty"`
	KilledAt     *time.Time `json:"killedAt,omitempty"`
	FinishedAt   *time.Time `json:"finishedAt,omitempty"`
	ExitCode     *int32     `json:"exitCode,omitempty"`
	Reason       string     `json:"reason,omitempty"`
	BackoffUntil *time.Time `json:"backoffUntil,omitempty"` // crash-loop back-off after this instance
}

// TimelineEvent is an event of the pod placed on the time axis.
type TimelineEvent struct {
	Time      time.Time `json:"time"`
	Container string    `json:"container,omitempty"`
	Reason    string    `json:"reason"`
	Message   string    `json:"message,omitempty"`
	Count     int32     `json:"count,omitempty"`
}

// PodTimeline is the body of GET .../pods/{name}/timeline: every instance
// the engine remembers (the last 50), oldest first, and the pod's Killing
// and BackOff events.
type PodTimeline struct {
	Pod       string             `json:"pod"`
	Namespace string             `json:"namespace"`
	UID       string             `json:"uid"`
	Created   time.Time          `json:"created"`
	Now       time.Time          `json:"now"`
	Instances []TimelineInstance `json:"instances"`
	Events    []TimelineEvent    `json:"events,omitempty"`
}

// ContainerStats is one running container's resource use from its cgroup.
type ContainerStats struct {
	Name string `json:"name"`
	ID   string `json:"id"`
	// CPUUsageNanos is the cumulative CPU time used.
	CPUUsageNanos uint64 `json:"cpuUsageNanos"`
	// CPUMilli is the CPU rate over the sampling window, in millicores.
	CPUMilli int64 `json:"cpuMilli"`
	// MemoryBytes is the working set: usage minus inactive file cache, as
	// kubectl top shows.
	MemoryBytes uint64 `json:"memoryBytes"`
	// MemoryUsageBytes is the cgroup's whole usage (page cache included).
	MemoryUsageBytes uint64 `json:"memoryUsageBytes"`
}

// PodStats is the body of GET .../pods/{name}/stats.
type PodStats struct {
	Pod        string           `json:"pod"`
	Namespace  string           `json:"namespace"`
	Time       time.Time        `json:"time"`
	Window     string           `json:"window"` // the CPU sampling window, e.g. "500ms"
	Containers []ContainerStats `json:"containers"`
}
