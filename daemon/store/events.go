package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// EventName is the name under which an event is kept: the object's name and
// a hash of what makes two events "the same" (object, field, type, reason,
// message), so that a repeat is a key lookup that bumps the count, as the
// kubelet's event correlator does.
func EventName(ev *corev1.Event) string {
	h := fnv.New64a()
	for _, s := range []string{string(ev.InvolvedObject.UID), ev.InvolvedObject.FieldPath,
		ev.Type, ev.Reason, ev.Message} {
		_, _ = h.Write([]byte(s))
		_, _ = h.Write([]byte{0})
	}
	return fmt.Sprintf("%s.%016x", ev.InvolvedObject.Name, h.Sum64())
}

// RecordEvent stores an event about an object, or bumps count and
// lastTimestamp of the same event seen before. The events kept per object
// and in total are capped; the oldest go first.
func (s *Store) RecordEvent(ctx context.Context, ev *corev1.Event, now time.Time) (*corev1.Event, error) {
	var out *corev1.Event
	err := s.update(ctx, func(w *writeTx) error {
		var err error
		out, err = s.recordEventTx(w, ev, now)
		return err
	})
	return out, err
}

// recordEventTx is RecordEvent inside a write transaction.
func (s *Store) recordEventTx(w *writeTx, ev *corev1.Event, now time.Time) (*corev1.Event, error) {
	c := s.Events()
	ev = ev.DeepCopy()
	if ev.Namespace == "" {
		ev.Namespace = ev.InvolvedObject.Namespace
	}
	if ev.Name == "" {
		ev.Name = EventName(ev)
	}
	if ev.Count == 0 {
		ev.Count = 1
	}
	ts := metav1.NewTime(now)
	if ev.FirstTimestamp.IsZero() {
		ev.FirstTimestamp = ts
	}
	if ev.LastTimestamp.IsZero() {
		ev.LastTimestamp = ts
	}
	if v := c.b(w.tx).Get(Key(ev.Namespace, ev.Name)); v != nil {
		old, err := c.decode(v)
		if err != nil {
			return nil, err
		}
		old.Count += ev.Count
		old.LastTimestamp = ev.LastTimestamp
		return old, c.putTx(w, old, Modified)
	}
	if ev.UID == "" {
		ev.UID = types.UID(newUID())
	}
	ev.CreationTimestamp = ts
	if err := c.putTx(w, ev, Added); err != nil {
		return nil, err
	}
	return ev, s.capEventsTx(w, ev.Namespace, ev.InvolvedObject.Name, ev.InvolvedObject.UID)
}

type eventRef struct {
	key  []byte
	uid  types.UID
	last time.Time
}

// capEventsTx removes the oldest events beyond the per-object and total
// caps. It runs inside the write transaction of every new event, so it must
// not decode every stored event each time (that held the store's lock long
// enough to delay a DELETE by seconds): keys are counted without decoding,
// and events are decoded only when a cap is actually exceeded. The total
// cap trims to 90 % so that the full scan is paid once per 10 % of it.
func (s *Store) capEventsTx(w *writeTx, ns, object string, uid types.UID) error {
	b := w.tx.Bucket([]byte(BucketEvents))
	if s.EventsPerPod > 0 {
		// An object's events share the key prefix "<ns>/<object>." (EventName);
		// an object whose name extends this one's shares it too, so the
		// count is an upper bound and the decoded refs are filtered by UID.
		prefix := Key(ns, object+".")
		if countPrefix(b, prefix) > s.EventsPerPod {
			var mine []eventRef
			for _, r := range eventRefs(b, prefix) {
				if r.uid == uid {
					mine = append(mine, r)
				}
			}
			if err := deleteOldest(b, mine, len(mine)-s.EventsPerPod); err != nil {
				return err
			}
		}
	}
	if s.EventsTotal > 0 && countPrefix(b, nil) > s.EventsTotal {
		refs := eventRefs(b, nil)
		return deleteOldest(b, refs, len(refs)-s.EventsTotal*9/10)
	}
	return nil
}

// countPrefix counts the keys that start with prefix (all keys for nil)
// without decoding a value.
func countPrefix(b *bolt.Bucket, prefix []byte) int {
	n := 0
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	return n
}

// eventRefs decodes the events under prefix into what capping needs.
func eventRefs(b *bolt.Bucket, prefix []byte) []eventRef {
	var refs []eventRef
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var ev corev1.Event
		if err := json.Unmarshal(v, &ev); err != nil {
			continue // an undecodable event is dropped from the count, not fatal
		}
		refs = append(refs, eventRef{key: append([]byte(nil), k...), uid: ev.InvolvedObject.UID, last: ev.LastTimestamp.Time})
	}
	return refs
}

// deleteOldest deletes the n least recently seen events of refs.
func deleteOldest(b *bolt.Bucket, refs []eventRef, n int) error {
	if n <= 0 {
		return nil
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].last.Before(refs[j].last) })
	for _, r := range refs[:min(n, len(refs))] {
		if err := deleteKey(b, r.key); err != nil {
			return err
		}
	}
	return nil
}

func deleteKey(b *bolt.Bucket, k []byte) error {
	if err := b.Delete(k); err != nil {
		return fmt.Errorf("delete event %s: %w", k, err)
	}
	return nil
}
