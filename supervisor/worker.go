package supervisor

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// worker is the one goroutine that owns one pod: every input is observed,
// planned with computeActions, executed and persisted here (docs/contract.md §4).
type worker struct {
	m   *Manager
	uid types.UID
	log *zap.Logger
	mb  *mailbox

	rec              *PodRecord // rec.Pod is copy-on-write: never mutated in place
	probes           map[string]probeState
	probeCounts      map[probeKey]ProbeInfo // consecutive failures, for "Waiting for"
	kills            killsInFlight
	restartAfterKill map[string]bool
	oom              map[string]bool
	reapNotes        map[string]reapNote // per unreaped instance, see worker_reap.go
	pulls            pullTracker         // pull back-off and progress (pullprogress.go)
	sandbox          Sandbox
	sandboxReady     bool
	ordering         *terminationOrdering
	podGrace         *terminationGrace
	evq              []*corev1.Event // stored with the next status (SavePodWithEvents)
	deleted          bool
	finished         bool
	adopt            bool
	timer            wakeTimer // the single wake-up (waketimer.go)
	// startAnchor is planInput.StartAnchor: the clock reading of the first
	// plan after status.startTime was set.
	startAnchor time.Time

	snapMu sync.Mutex
	snap   *PodRecord
	diag   diagSnapshot // probe and pull facts as of snap, for Diagnose
	closed bool         // the loop ended; messages are no longer read
	// cancelStart aborts a start in progress (pull, postStart) when the pod
	// is deleted, so a deletion never waits on a container being created.
	cancelStart context.CancelFunc
	// cancelAhead ends the creations ahead (prep) when the pod is deleted;
	// their removals still run (preparedSet.discard).
	cancelAhead context.CancelFunc
	done        chan struct{}
	baseCtx     context.Context // the worker's lifetime; kills run under it

	// prep holds later containers created ahead of their turn during the
	// initialization (Options.PrepareAhead, prepare.go).
	prep     preparedSet
	prepList []PrepareItem // the PrepareAhead list prep was last pruned to
}

// tryPush queues msg unless the worker's loop has ended.
func (w *worker) tryPush(msg workerMsg) bool {
	w.snapMu.Lock()
	defer w.snapMu.Unlock()
	if w.closed {
		return false
	}
	w.mb.push(msg)
	if msg.kind == msgDelete && w.cancelStart != nil {
		w.cancelStart()
	}
	if msg.kind == msgDelete && w.cancelAhead != nil {
		w.cancelAhead() // a deleted pod starts nothing more: no creation ahead begins
	}
	return true
}

// close ends message intake and returns what was still queued.
func (w *worker) close() []workerMsg {
	w.snapMu.Lock()
	defer w.snapMu.Unlock()
	w.closed = true
	return w.mb.drain(nil)
}

func newWorker(m *Manager, rec *PodRecord) *worker {
	w := &worker{
		m:                m,
		uid:              rec.Pod.UID,
		log:              m.log.With(zap.String("pod", rec.Pod.Namespace+"/"+rec.Pod.Name), zap.String("uid", string(rec.Pod.UID))),
		mb:               newMailbox(),
		rec:              rec,
		probes:           map[string]probeState{},
		probeCounts:      map[probeKey]ProbeInfo{},
		kills:            killsInFlight{},
		restartAfterKill: map[string]bool{},
		oom:              map[string]bool{},
		reapNotes:        map[string]reapNote{},
		pulls:            pullTracker{clk: m.clk},
		timer:            wakeTimer{clk: m.clk},
		done:             make(chan struct{}),
		deleted:          rec.Pod.DeletionTimestamp != nil,
		adopt:            len(rec.Engine.Instances) > 0 || rec.Engine.SandboxAttempt > 0,
	}
	w.prep = preparedSet{m: m, log: w.log}
	st := &w.rec.Engine
	if st.Started == nil {
		st.Started = map[string]bool{}
	}
	if st.Ready == nil {
		st.Ready = map[string]bool{}
	}
	if st.Waiting == nil {
		st.Waiting = map[string]WaitingReason{}
	}
	if !w.adopt && rec.Pod.Status.Phase == "" {
		// A new pod shows its Pending status (R84) from the first Get on.
		np := *rec.Pod
		np.Status = computeStatus(&statusInput{Pod: rec.Pod, State: st, Now: m.clk.Now()})
		np.Status.Phase = corev1.PodPending
		w.rec.Pod = &np
	}
	w.snap = &PodRecord{Pod: w.rec.Pod, Engine: copyEngine(st)}
	return w
}

// run is the worker's loop; it ends when the pod finished or ctx ended
// (podrund stopping: the containers keep running).
func (w *worker) run(ctx context.Context) {
	defer close(w.done)
	defer w.prep.end()
	w.baseCtx = ctx
	aheadCtx, cancelAhead := context.WithCancel(ctx)
	defer cancelAhead()
	w.prep.base = aheadCtx
	w.snapMu.Lock()
	w.cancelAhead = cancelAhead
	w.snapMu.Unlock()
	defer w.timer.stop()
	if !w.firstSync(ctx) {
		w.close()
		return
	}
	defer w.afterFinish(ctx)
	var buf []workerMsg
	for !w.finished {
		select {
		case <-ctx.Done():
			w.close()
			return
		case <-w.mb.ready:
			buf = w.mb.drain(buf)
			for i := range buf {
				w.handle(ctx, &buf[i])
			}
			clear(buf)
		case <-w.timer.C():
		}
		w.sync(ctx)
		w.reapAfterSync(ctx)
	}
}

// afterFinish handles a delete that raced with the pod finishing on its
// own (Job-style completion): the finished pod is reported at once.
func (w *worker) afterFinish(ctx context.Context) {
	msgs := w.close()
	if ctx.Err() != nil || w.deleted {
		return
	}
	for _, msg := range msgs {
		if msg.kind == msgDelete {
			w.deleted = true
			if err := w.m.sink.PodFinished(ctx, copyRecord(w.snapshot())); err != nil {
				w.log.Error("pod finished", zap.Error(err))
			}
			w.m.remove(w.uid, w)
			return
		}
	}
}

// firstSync runs the first sync (adoption included) under the manager's
// bound on concurrent first syncs (Options.ConcurrentStarts).
func (w *worker) firstSync(ctx context.Context) bool {
	if w.m.sem != nil {
		select {
		case w.m.sem <- struct{}{}:
			defer func() { <-w.m.sem }()
		case <-ctx.Done():
			return false
		}
	}
	if w.adopt && !w.adoptInstances(ctx) {
		return false
	}
	// Inputs that arrived while waiting for the slot (a delete above all)
	// count before anything is started.
	for _, msg := range w.mb.drain(nil) {
		w.handle(ctx, &msg)
	}
	if w.deleted && w.rec.Engine.Terminating == nil {
		// Deleted while podrund was down: terminate now (R61).
		w.delete(ctx, TermDeleted, w.rec.Pod.DeletionGracePeriodSeconds)
	}
	w.sync(ctx)
	w.reapAfterSync(ctx)
	return true
}

// handle observes one input.
func (w *worker) handle(ctx context.Context, msg *workerMsg) {
	st := &w.rec.Engine
	switch msg.kind {
	case msgExit:
		if in := findInstance(st, msg.id); in != nil && in.State == InstanceRunning {
			w.exited(ctx, in, msg.exitCode, msg.at)
		}
	case msgOOM:
		w.oom[msg.id] = true
	case msgReconnected:
		w.reobserve(ctx)
	case msgProbe:
		w.probeUpdate(&msg.probe)
	case msgDelete:
		w.delete(ctx, TermDeleted, msg.grace)
	case msgShutdown:
		w.delete(ctx, TermShutdown, msg.grace)
	case msgUpdate:
		w.update(msg.pod)
	case msgKillDone:
		w.killDone(ctx, msg.id, msg.err)
	case msgSignalled:
		markKilled(st, msg.id, msg.at)
	case msgEvict:
		w.evict(ctx, msg.message)
	}
}

// reap records the exit of an instance (R86): exit code, finishedAt and
// the reason Completed / Error / OOMKilled.
func (w *worker) reap(ctx context.Context, in *Instance, code int32, at time.Time) {
	es, err := w.m.rt.Reap(ctx, in.ID)
	if err != nil {
		w.log.Warn("reap instance", zap.String("container", in.Container), zap.String("id", in.ID), zap.Error(err))
		es = ExitStatus{ExitCode: code, FinishedAt: at}
	}
	w.recordExit(in, es)
}

func (w *worker) recordExit(in *Instance, es ExitStatus) {
	in.State = InstanceExited
	in.ExitCode = es.ExitCode
	in.FinishedAt = es.FinishedAt
	if in.FinishedAt.IsZero() {
		in.FinishedAt = w.m.clk.Now()
	}
	if in.StartedAt.After(in.FinishedAt) {
		// The start time is read once the runtime's start call returned,
		// the exit time is containerd's: a process that exits at once can
		// seem to have exited before it started, and its status and
		// timeline would show it so.
		in.StartedAt = in.FinishedAt
	}
	in.Message = es.Message
	switch {
	case es.OOMKilled || w.oom[in.ID]:
		in.Reason = "OOMKilled"
		// The status alone is easy to miss once the container restarts; the
		// kubelet's node reports an OOM kill as an OOMKilling event too.
		w.oomEvent(in.Container, es.ExitCode)
	case in.Reason != "":
	case es.ExitCode == 0:
		in.Reason = "Completed"
	default:
		in.Reason = "Error"
	}
	w.forgetInstance(in)
	if w.ordering != nil {
		w.ordering.containerTerminated(in.Container)
	}
}

// forgetInstance drops the per-instance bookkeeping of a stopped instance.
func (w *worker) forgetInstance(in *Instance) {
	delete(w.oom, in.ID)
	delete(w.probes, in.ID)
	delete(w.rec.Engine.Started, in.ID)
	delete(w.rec.Engine.Ready, in.ID)
	if w.m.opts.Probes != nil {
		w.m.opts.Probes.RemoveInstance(in.ID)
	}
}

// sync plans and executes until the plan makes no more progress, then
// drives any termination, persists the status and arms the wake timer.
func (w *worker) sync(ctx context.Context) {
	st := &w.rec.Engine
	var wake time.Time
	w.timer.syncing()
	if w.rec.Pod.Status.StartTime == nil {
		// R70/R90: startTime is set once, before the first plan, so the
		// activeDeadlineSeconds wake-up is armed from the first sync on.
		np := *w.rec.Pod
		now := metav1.NewTime(w.m.clk.Now())
		np.Status.StartTime = &now
		w.rec.Pod = &np
	}
	var last *Plan
	for range planRounds(w.rec.Pod) {
		if st.Terminating != nil || w.finished {
			break
		}
		plan := computeActions(w.planInput())
		last = &plan
		wake = plan.WakeAt
		if plan.Terminate != "" {
			w.beginTermination(ctx, plan.Terminate, podGrace(w.rec.Pod))
			break
		}
		if !w.execute(ctx, &plan) {
			break
		}
	}
	if st.Terminating != nil && !w.finished {
		w.driveTermination(ctx)
	}
	w.prunePrepared(last)
	if w.finished {
		return // finish published the final status
	}
	w.publish(ctx)
	w.timer.arm(wake)
}

// planRounds bounds the plan-and-execute rounds of one sync. A round that
// makes progress (a sandbox, a start, a kill) asks for another, because
// what the next container may do depends on what this one just did (R16,
// R18, R26). Each container needs at most two rounds (its old instance
// killed, its new one started), and the sandbox and the last round, which
// finds nothing to do, two more. A planner that kept reporting progress
// past that would be a bug; the bound makes it wait for the next event
// instead of spinning.
func planRounds(pod *corev1.Pod) int {
	return 2*(len(pod.Spec.InitContainers)+len(pod.Spec.Containers)) + 2
}

func (w *worker) planInput() *planInput {
	now := w.m.clk.Now()
	if w.startAnchor.IsZero() && w.rec.Pod.Status.StartTime != nil {
		w.startAnchor = now
	}
	return &planInput{
		Pod:              w.rec.Pod,
		State:            &w.rec.Engine,
		Probes:           w.probes,
		SandboxReady:     w.sandboxReady,
		RestartAfterKill: w.restartAfterKill,
		Now:              now,
		StartAnchor:      w.startAnchor,
	}
}

// retry asks for a sync at t at the latest (failed starts, pull back-off).
func (w *worker) retry(t time.Time) { w.timer.retry(t) }

// publish computes the status, keeps a snapshot for Get and commits it.
func (w *worker) publish(ctx context.Context) {
	st := &w.rec.Engine
	terminal := w.finished && (st.Terminating == nil || st.Terminating.Reason != TermShutdown)
	status := computeStatus(&statusInput{
		Pod: w.rec.Pod, State: st, Sandbox: w.sandbox, SandboxReady: w.sandboxReady,
		Now: w.m.clk.Now(), Terminal: terminal,
	})
	np := *w.rec.Pod
	np.Status = status
	w.rec.Pod = &np
	syncHistory(st, w.instanceReady, w.m.clk.Now())
	snap := &PodRecord{Pod: w.rec.Pod, Engine: copyEngine(st)}
	diag := w.diagSnapshot()
	w.snapMu.Lock()
	w.snap = snap
	w.diag = diag
	w.snapMu.Unlock()
	if err := w.m.sink.SavePodWithEvents(ctx, copyRecord(snap), w.evq); err != nil {
		w.log.Error("save pod", zap.Error(err))
	}
	clear(w.evq)
	w.evq = w.evq[:0]
}

// snapshot returns the record as last published (not a copy).
func (w *worker) snapshot() *PodRecord {
	w.snapMu.Lock()
	defer w.snapMu.Unlock()
	return w.snap
}
