package supervisor

import (
	"time"
)

// maxHistory bounds the instance records a pod keeps for its timeline:
// Instances keeps only keepInstances per container (status needs no more),
// while a person debugging a crash loop wants to see the restarts before.
const maxHistory = 50

// InstanceRecord is the compact life of one container instance, kept
// after the instance itself has been pruned from EngineState.Instances.
type InstanceRecord struct {
	ID           string    `json:"id"`
	Container    string    `json:"container"`
	Attempt      int32     `json:"attempt"`
	CreatedAt    time.Time `json:"createdAt,omitempty"`
	StartedAt    time.Time `json:"startedAt,omitempty"`
	ReadyAt      time.Time `json:"readyAt,omitempty"`
	KilledAt     time.Time `json:"killedAt,omitempty"` // the kill began (stop signal sent)
	FinishedAt   time.Time `json:"finishedAt,omitempty"`
	ExitCode     int32     `json:"exitCode,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	State        string    `json:"state"`
	BackoffUntil time.Time `json:"backoffUntil,omitempty"` // crash-loop back-off after this instance (R35)
}

// syncHistory folds the current instances into the history: new instances
// get a record, known ones their latest times; readiness is stamped the
// first time the engine sees it. It keeps at most maxHistory records,
// dropping the oldest ones whose instance is gone.
func syncHistory(st *EngineState, ready func(in *Instance) bool, now time.Time) {
	for i := range st.Instances {
		in := &st.Instances[i]
		r := ensureRecord(st, in)
		r.CreatedAt, r.StartedAt, r.FinishedAt = in.CreatedAt, in.StartedAt, in.FinishedAt
		r.ExitCode, r.Reason, r.State = in.ExitCode, in.Reason, string(in.State)
		if r.ReadyAt.IsZero() && in.State == InstanceRunning && ready(in) {
			r.ReadyAt = now
		}
	}
	for name, w := range st.Waiting {
		if w.Reason != "CrashLoopBackOff" {
			continue
		}
		if r := newestRecord(st, name); r != nil && !r.FinishedAt.IsZero() && !w.Since.Before(r.FinishedAt) {
			if e, ok := backoffOf(st, name); ok {
				r.BackoffUntil = r.FinishedAt.Add(e.Backoff)
			}
		}
	}
	pruneHistory(st)
}

// markKilled stamps when the stop signal was sent on the instance's record.
func markKilled(st *EngineState, id string, at time.Time) {
	in := findInstance(st, id)
	r := historyRecord(st, id)
	if r == nil && in != nil {
		r = ensureRecord(st, in)
	}
	if r != nil && r.KilledAt.IsZero() {
		r.KilledAt = at
	}
}

// ensureRecord returns the instance's record, adding it if needed.
func ensureRecord(st *EngineState, in *Instance) *InstanceRecord {
	if r := historyRecord(st, in.ID); r != nil {
		return r
	}
	st.History = append(st.History, InstanceRecord{ID: in.ID, Container: in.Container, Attempt: in.Attempt,
		CreatedAt: in.CreatedAt, StartedAt: in.StartedAt, State: string(in.State)})
	return &st.History[len(st.History)-1]
}

func historyRecord(st *EngineState, id string) *InstanceRecord {
	for i := range st.History {
		if st.History[i].ID == id {
			return &st.History[i]
		}
	}
	return nil
}

func newestRecord(st *EngineState, container string) *InstanceRecord {
	for i := len(st.History) - 1; i >= 0; i-- {
		if st.History[i].Container == container {
			return &st.History[i]
		}
	}
	return nil
}

// backoffOf finds the back-off entry of a container (keys are name/hash).
func backoffOf(st *EngineState, container string) (BackoffEntry, bool) {
	var best BackoffEntry
	found := false
	for k, e := range st.Backoff {
		if len(k) > len(container) && k[:len(container)] == container && k[len(container)] == '/' {
			if !found || e.LastUpdate.After(best.LastUpdate) {
				best, found = e, true
			}
		}
	}
	return best, found
}

func pruneHistory(st *EngineState) {
	for len(st.History) > maxHistory {
		drop := -1
		for i := range st.History {
			if findInstance(st, st.History[i].ID) == nil {
				drop = i
				break
			}
		}
		if drop < 0 {
			return // every record is a current instance: keep them all
		}
		st.History = append(st.History[:drop], st.History[drop+1:]...)
	}
}
