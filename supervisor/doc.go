// Package supervisor is podrun's pod lifecycle engine. It holds no containerd,
// HTTP or bbolt code: it observes container instances through Runtime, plans
// the next actions with the pure computeActions, executes the plan through
// Runtime, and reports status and events through Sink.
//
// # Goroutines
//
// One Manager runs one worker per pod. Everything about a pod is decided
// by that worker's loop goroutine; the other goroutines only produce
// inputs for it (through its mailbox) or carry out one piece of work it
// handed them.
//
//	runtime's event goroutine      probe workers        API handlers: Start,
//	(containerd's event stream)    (supervisor/probe)   UpdatePod, Delete,
//	         | rt.Events                | Updates()      Shutdown, Evict
//	         v                          v                      |
//	  Manager.Run: route by pod UID ----+                      |
//	                                    v                      v
//	                      mailbox, one per pod (push never blocks)
//	                                    |
//	                                    v
//	 +----------------- worker loop: one goroutine per pod ----------------+
//	 | drain -> handle -> sync: computeActions -> execute -> publish -> arm |
//	 | (the wakeTimer fires at the plan's WakeAt or at a retry)            |
//	 +---+----------------+------------------+-----------------+-----------+
//	     | launchKill     | prep.launch      | PullImage       | publish
//	     v                v                  v                 v
//	 kill goroutine   creation ahead     progress callbacks  snapshot (snapMu),
//	 (+ preStop hook) (preparedSet),     on the runtime's    read by Get,
//	 under baseCtx    under baseCtx      goroutine           Diagnose, workerOf
//	     |            in turn order,     (pullTracker)
//	     |            after the first
//	     |            start's task started
//	     |                +-> prepared.done: the loop takes it at the turn
//	     +-> msgSignalled, msgKillDone into the mailbox
//
// # Who may touch what
//
// Only the loop goroutine reads or writes the pod record (rec, its
// EngineState and rec.Pod, which is copy-on-write), the probe states and
// counts, the kill bookkeeping (kills, restartAfterKill, oom,
// reapNotes), the sandbox, termination ordering, queued events, the flags
// deleted/finished/adopt, the startAnchor, the wakeTimer, the pull
// back-off of pullTracker and the maps of preparedSet. None of them has a
// lock, and no other goroutine may be handed a pointer into them: what
// another goroutine needs is copied (a kill gets a killRequest, a
// creation ahead a CreateRequest of the copy-on-write pod).
//
// Shared state, each with its own lock:
//
//   - mailbox (mailbox.mu): the only way in. Runtime exits and OOMs,
//     reconnects, probe results, deletes, updates, shutdowns, evictions,
//     and the kill goroutines' msgSignalled / msgKillDone are pushed
//     here and handled by the loop in arrival order.
//   - worker.snapMu guards snap (the record as last published), diag,
//     closed, cancelStart and cancelAhead: Get/Diagnose read the
//     snapshot, tryPush refuses messages once the loop closed, and a
//     delete cancels a start in progress (a pull, a postStart hook)
//     through cancelStart and every creation ahead through cancelAhead.
//   - pullTracker.mu guards the progress gate: the runtime's progress
//     callbacks replace the snapshot (under snapMu, taken inside mu) only
//     while the loop is inside PullImage.
//   - prepared.mu guards begun/abandoned between the loop (the turn came)
//     and the creating goroutine (the creation begins); inst, imageRef
//     and err are written by the creating goroutine before it closes
//     done, and read by the loop only after done.
//
// Kills and removals of prepared instances run under baseCtx, the
// worker's lifetime, not under the sync that launched them: a sync
// ending (or a delete cancelling a start) never abandons a kill half way.
// The loop waits for preparedSet's goroutines (end) before the sandbox
// goes and when it returns.
package supervisor
