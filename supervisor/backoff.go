package supervisor

import (
	"time"
)

// Crash-loop and image-pull back-off constants (R34).
const (
	initialBackoff = 10 * time.Second
	maxBackoff     = 300 * time.Second
	// errorRetry is the pod-worker retry after a failed start (R36).
	errorRetry = 10 * time.Second
)

// backoffExpired is client-go's hasExpired: an entry is reset when the event
// happened more than 2×max after its last update (R35: ~10 min of running).
func backoffExpired(e BackoffEntry, eventTime time.Time) bool {
	return eventTime.Sub(e.LastUpdate) > 2*maxBackoff
}

// inBackoffSince reports whether a container whose last instance finished at
// finishedAt must still wait, and until when (R35, IsInBackOffSince).
//
// finishedAt is wall-clock time from containerd, so it carries no
// monotonic reading. A device without a real-time clock that boots in the
// past and is then set back by NTP would see now before finishedAt, and
// the kubelet's arithmetic would hold the container for as long as the
// clock was off, possibly years. A wait is never longer than the back-off
// itself, so when the clock is behind the exit the back-off counts as
// served.
func inBackoffSince(entries map[string]BackoffEntry, key string, finishedAt, now time.Time) (bool, time.Duration, time.Time) {
	e, ok := entries[key]
	if !ok || backoffExpired(e, finishedAt) {
		return false, 0, time.Time{}
	}
	if since := now.Sub(finishedAt); since >= 0 && since < e.Backoff {
		return true, e.Backoff, finishedAt.Add(e.Backoff)
	}
	return false, e.Backoff, time.Time{}
}

// nextBackoff records a (re)start: new or expired entries begin at 10 s,
// others double up to 300 s (R35, Backoff.Next).
func nextBackoff(entries map[string]BackoffEntry, key string, eventTime, now time.Time) map[string]BackoffEntry {
	if entries == nil {
		entries = make(map[string]BackoffEntry)
	}
	e, ok := entries[key]
	if !ok || backoffExpired(e, eventTime) {
		e.Backoff = initialBackoff
	} else {
		e.Backoff = min(2*e.Backoff, maxBackoff)
	}
	e.LastUpdate = now
	entries[key] = e
	return entries
}

// inBackoffSinceUpdate is the image puller's check: the last failure was
// less than one back-off ago (R34 image pull back-off).
//
// A clock set back past the last failure counts the back-off as served,
// as in inBackoffSince: a persisted LastUpdate has no monotonic reading.
func inBackoffSinceUpdate(entries map[string]BackoffEntry, key string, now time.Time) (bool, time.Time) {
	e, ok := entries[key]
	if !ok || backoffExpired(e, now) || now.Before(e.LastUpdate) {
		return false, time.Time{}
	}
	until := e.LastUpdate.Add(e.Backoff)
	return now.Before(until), until
}
