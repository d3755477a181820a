package store

import (
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
	var out *corev1.Event
	err := s.update(ctx, func(w *writeTx) error {
		if v := c.b(w.tx).Get(Key(ev.Namespace, ev.Name)); v != nil {
			old, err := c.decode(v)
			if err != nil {
				return err
			}
			old.Count += ev.Count
			old.LastTimestamp = ev.LastTimestamp
			out = old
			return c.putTx(w, old, Modified)
		}
		if ev.UID == "" {
			ev.UID = types.UID(newUID())
		}
		ev.CreationTimestamp = ts
		out = ev
		if err := c.putTx(w, ev, Added); err != nil {
			return err
		}
		return s.capEventsTx(w, ev.InvolvedObject.UID)
	})
	return out, err
}

type eventRef struct {
	key  []byte
	uid  types.UID
	last time.Time
}

// capEventsTx removes the oldest events beyond the per-object and total caps.
func (s *Store) capEventsTx(w *writeTx, uid types.UID) error {
	b := w.tx.Bucket([]byte(BucketEvents))
	var all []eventRef
	err := b.ForEach(func(k, v []byte) error {
		var ev corev1.Event
		if err := json.Unmarshal(v, &ev); err != nil {
			return nil // an undecodable event is dropped from the count, not fatal
		}
		all = append(all, eventRef{key: append([]byte(nil), k...), uid: ev.InvolvedObject.UID, last: ev.LastTimestamp.Time})
		return nil
	})
	if err != nil {
		return fmt.Errorf("scan events: %w", err)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].last.Before(all[j].last) })
	var mine int
	for _, e := range all {
		if e.uid == uid {
			mine++
		}
	}
	total := len(all)
	for _, e := range all {
		over := total > s.EventsTotal && s.EventsTotal > 0
		overMine := e.uid == uid && mine > s.EventsPerPod && s.EventsPerPod > 0
		if !over && !overMine {
			continue
		}
		if err := deleteKey(b, e.key); err != nil {
			return err
		}
		total--
		if e.uid == uid {
			mine--
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
