// Package objects holds the semantics of podrund's API objects, below
// the HTTP layer (daemon/server): storage through daemon/store, resource
// versions, field selectors and the watch hub, pod admission, the pod
// replacement rules (pending replacements), the engine's status and event
// sink (supervisor.Sink) and the Job controller's adapters. The handlers
// decode a request, call Objects and encode the answer.
package objects

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/podrun/podrun/daemon/metrics"
	"github.com/podrun/podrun/daemon/secopts"
	"github.com/podrun/podrun/daemon/store"
	"github.com/podrun/podrun/supervisor"
	"go.uber.org/zap"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
)

// Engine is the part of *supervisor.Manager the objects drive.
type Engine interface {
	Start(ctx context.Context, rec *supervisor.PodRecord) error
	UpdatePod(ctx context.Context, pod *corev1.Pod) error
	Delete(ctx context.Context, uid types.UID, grace *int64) error
	Get(uid types.UID) (*supervisor.PodRecord, bool)
	Instance(uid types.UID, container string) (supervisor.Instance, bool)
}

// JobController is told about every Job written through the API. The Job
// controller plugs in here; without one, Jobs are stored only.
type JobController interface {
	OnJobApplied(ctx context.Context, job *batchv1.Job)
	OnJobDeleted(ctx context.Context, job *batchv1.Job)
}

// PodObserver hears about every committed pod write (the Job runner's
// PodChanged). It must not block or call the store.
type PodObserver interface {
	PodChanged(pod *corev1.Pod)
}

// VolumeRefresher rewrites the configMap/secret/projected volumes of a
// running pod after one of their sources changed (daemon/volumes).
type VolumeRefresher interface {
	Refresh(ctx context.Context, pod *corev1.Pod) error
}

// PodLogRemover deletes the container logs of a pod that is gone from the
// API, as the kubelet does: without it every deleted pod would leave its
// logs on the device's disk for good.
type PodLogRemover interface {
	RemovePodLogs(pod *corev1.Pod) error
}

// Options configure Objects. Store is required; the rest may be nil.
type Options struct {
	Store   *store.Store
	Volumes VolumeRefresher
	// Logs removes a pod's logs once the pod is gone; nil keeps them.
	Logs    PodLogRemover
	Metrics *metrics.Metrics // nil: nothing is recorded
	// Policy is checked on every pod and Job template; nil admits everything.
	Policy *secopts.Policy
	Clock  clock.Clock
	Logger *zap.Logger
	// WatchBuffer is each watcher's queue; a watcher that falls this far
	// behind is dropped rather than slowing the engine.
	WatchBuffer int
	// WatchHistory is how many changes the watch hub remembers, so that a
	// client can watch from a resourceVersion it listed at; older versions
	// are 410 Expired.
	WatchHistory int
	// BookmarkInterval is how often a watch with allowWatchBookmarks=true
	// gets a BOOKMARK (the API server's is about a minute).
	BookmarkInterval time.Duration
}

// Objects is the object layer and the engine's Sink.
type Objects struct {
	o   Options
	st  *store.Store
	log *zap.Logger
	clk clock.Clock
	rec metrics.Recorder
	hub *hub

	// The engine and the Job controller are built with Objects as their
	// sink, pod control and job store, so they are connected after New,
	// once (Connect); reading them is one atomic load, no lock.
	wired atomic.Pointer[Wiring]

	managers fieldManagers

	startedMu sync.Mutex
	started   map[types.UID]bool // pods whose start latency was observed
}

// New builds the object layer and installs its watch notifier on the store.
func New(o Options) (*Objects, error) {
	if o.Store == nil {
		return nil, errors.New("objects: a store is required")
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.WatchBuffer == 0 {
		o.WatchBuffer = 256
	}
	if o.WatchHistory == 0 {
		o.WatchHistory = 1024 // a few MiB of pods at most
	}
	if o.BookmarkInterval == 0 {
		o.BookmarkInterval = time.Minute
	}
	rv, err := o.Store.ResourceVersion()
	if err != nil {
		return nil, fmt.Errorf("objects: read the store's resourceVersion: %w", err)
	}
	b := &Objects{o: o, st: o.Store, log: o.Logger, clk: o.Clock, rec: metrics.Nop{},
		hub: newHub(o.WatchBuffer, o.WatchHistory, rv, o.Logger), started: map[types.UID]bool{}}
	if o.Metrics != nil {
		b.rec = o.Metrics
	}
	b.st.SetNotifier(b.notify)
	return b, nil
}

// notify is the store's Notifier: watchers first, then the pod observer.
func (b *Objects) notify(c store.Change) {
	b.hub.publish(c)
	obs := b.podObserver()
	if obs == nil || c.Bucket != store.BucketPods {
		return
	}
	if pod, ok := c.Object.(*corev1.Pod); ok {
		obs.PodChanged(pod)
	}
}

// Wiring is what Objects drive and are built before: the engine and the
// Job controller take Objects as their sink, pod control and job store.
type Wiring struct {
	Engine Engine // required
	// Jobs hears about every Job write; nil: Jobs are stored only.
	Jobs JobController
	// Pods hears about every committed pod write; may be nil.
	Pods PodObserver
}

// Connect wires the engine and the Job controller in, once, before the
// API serves. Until then the requests that need the engine are 503
// ServiceUnavailable.
func (b *Objects) Connect(w Wiring) error {
	if w.Engine == nil {
		return errors.New("objects: Connect needs an engine")
	}
	if !b.wired.CompareAndSwap(nil, &w) {
		return errors.New("objects: already connected")
	}
	return nil
}

func (b *Objects) wiring() *Wiring {
	if w := b.wired.Load(); w != nil {
		return w
	}
	return &Wiring{}
}

func (b *Objects) jobController() JobController { return b.wiring().Jobs }

func (b *Objects) podObserver() PodObserver { return b.wiring().Pods }

// Engine is the connected engine, nil before Connect.
func (b *Objects) Engine() Engine { return b.wiring().Engine }

// BookmarkInterval is how often a watch that allows bookmarks gets one.
func (b *Objects) BookmarkInterval() time.Duration { return b.o.BookmarkInterval }

// Clock is the clock the objects are stamped with.
func (b *Objects) Clock() clock.Clock { return b.clk }
