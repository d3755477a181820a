package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// Collection is one bucket of JSON objects keyed <namespace>/<name>.
// T is a pointer type (*corev1.ConfigMap, *supervisor.PodRecord, ...).
type Collection[T any] struct {
	s        *Store
	bucket   string
	resource schema.GroupResource
	newT     func() T
	meta     func(T) *metav1.ObjectMeta
	// public is what watchers see; nil: changes are not announced.
	public func(T) runtime.Object
}

func (c *Collection[T]) notFound(name string) error {
	return apierrors.NewNotFound(c.resource, name)
}

func (c *Collection[T]) decode(data []byte) (T, error) {
	obj := c.newT()
	if err := json.Unmarshal(data, obj); err != nil {
		var zero T
		return zero, fmt.Errorf("decode stored %s: %w", c.resource.Resource, err)
	}
	return obj, nil
}

func (c *Collection[T]) b(tx *bolt.Tx) *bolt.Bucket { return tx.Bucket([]byte(c.bucket)) }

// Get returns the object, or a NotFound error.
func (c *Collection[T]) Get(ctx context.Context, namespace, name string) (T, error) {
	var out T
	err := c.s.db.View(func(tx *bolt.Tx) error {
		var err error
		out, _, err = c.getTx(tx, Key(namespace, name), name)
		return err
	})
	return out, err
}

// List returns the objects of one namespace ("" = all), sorted by
// namespace and name, and the store's resourceVersion at that moment.
func (c *Collection[T]) List(ctx context.Context, namespace string) ([]T, uint64, error) {
	var out []T
	var rv uint64
	err := c.s.db.View(func(tx *bolt.Tx) error {
		rv = currentRV(tx)
		cur := c.b(tx).Cursor()
		prefix := []byte(nil)
		if namespace != "" {
			prefix = []byte(namespace + "/")
		}
		for k, v := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
			obj, err := c.decode(v)
			if err != nil {
				// One unreadable object must not hide all the others.
				c.s.log.Error("skipping an undecodable stored object", zap.String("bucket", c.bucket),
					zap.ByteString("key", k), zap.Error(err))
				continue
			}
			out = append(out, obj)
		}
		return nil
	})
	return out, rv, err
}

// Create stores a new object and sets its resourceVersion; AlreadyExists
// when the key is taken.
func (c *Collection[T]) Create(ctx context.Context, obj T) (T, error) {
	err := c.s.update(ctx, func(w *writeTx) error { return c.createTx(w, obj) })
	return obj, err
}

func (c *Collection[T]) createTx(w *writeTx, obj T) error {
	m := c.meta(obj)
	key := Key(m.Namespace, m.Name)
	if c.b(w.tx).Get(key) != nil {
		return apierrors.NewAlreadyExists(c.resource, m.Name)
	}
	return c.putTx(w, obj, Added)
}

func (c *Collection[T]) putTx(w *writeTx, obj T, typ string) error {
	return c.putTxPrev(w, obj, typ, nil)
}

// putTxPrev stores obj; prev, when set, is the stored encoding it replaces
// (announced as the change's Prev).
func (c *Collection[T]) putTxPrev(w *writeTx, obj T, typ string, prev []byte) error {
	m := c.meta(obj)
	rv, err := w.RV()
	if err != nil {
		return err
	}
	m.ResourceVersion = formatRV(rv)
	data, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("encode %s %s/%s: %w", c.resource.Resource, m.Namespace, m.Name, err)
	}
	if err := c.b(w.tx).Put(Key(m.Namespace, m.Name), data); err != nil {
		return fmt.Errorf("store %s %s/%s: %w", c.resource.Resource, m.Namespace, m.Name, err)
	}
	return c.announce(w, typ, obj, prev, rv)
}

func (c *Collection[T]) announce(w *writeTx, typ string, obj T, prev []byte, rv uint64) error {
	if c.public == nil {
		return nil
	}
	ch := Change{Bucket: c.bucket, Type: typ, Object: c.public(obj), RV: rv}
	if prev != nil {
		old, err := c.decode(prev)
		if err != nil {
			return err
		}
		ch.Prev = c.public(old)
	}
	w.emit(ch)
	return nil
}

// Update replaces a stored object. When nothing but the resourceVersion
// would change, nothing is written and the stored object is returned with
// its resourceVersion unchanged (apply reports "unchanged").
func (c *Collection[T]) Update(ctx context.Context, obj T) (T, error) {
	m := c.meta(obj)
	return c.Mutate(ctx, m.Namespace, m.Name, func(T) (T, error) { return obj, nil })
}

// Mutate reads, changes and writes one object in one transaction. fn gets
// the stored object and returns the new one (it may change its argument
// and return it). Unchanged results are not written.
func (c *Collection[T]) Mutate(ctx context.Context, namespace, name string, fn func(T) (T, error)) (T, error) {
	var out T
	err := c.s.update(ctx, func(w *writeTx) error {
		var err error
		out, err = c.mutateTx(w, namespace, name, fn)
		return err
	})
	return out, err
}

// getTx reads and decodes the object stored at key; raw is its stored
// encoding. A missing object is NotFound (naming name).
func (c *Collection[T]) getTx(tx *bolt.Tx, key []byte, name string) (obj T, raw []byte, err error) {
	raw = c.b(tx).Get(key)
	if raw == nil {
		return obj, nil, c.notFound(name)
	}
	obj, err = c.decode(raw)
	return obj, raw, err
}

func (c *Collection[T]) mutateTx(w *writeTx, namespace, name string, fn func(T) (T, error)) (T, error) {
	var zero T
	key := Key(namespace, name)
	cur, old, err := c.getTx(w.tx, key, name)
	if err != nil {
		return zero, err
	}
	oldRV := c.meta(cur).ResourceVersion
	oldPublic, err := c.publicJSON(cur)
	if err != nil {
		return zero, err
	}
	next, err := fn(cur)
	if err != nil {
		return zero, err
	}
	m := c.meta(next)
	if m.Namespace != namespace || m.Name != name {
		return zero, fmt.Errorf("update %s %s/%s: object names %s/%s", c.resource.Resource, namespace, name, m.Namespace, m.Name)
	}
	m.ResourceVersion = oldRV
	data, err := json.Marshal(next)
	if err != nil {
		return zero, fmt.Errorf("encode %s %s/%s: %w", c.resource.Resource, namespace, name, err)
	}
	if bytes.Equal(data, old) {
		return next, nil
	}
	newPublic, err := c.publicJSON(next)
	if err != nil {
		return zero, err
	}
	if c.public != nil && bytes.Equal(oldPublic, newPublic) {
		// Only private state changed (the engine's memory behind a pod):
		// stored, but the API object, its resourceVersion and watchers see
		// nothing, so apply can still say "unchanged".
		if err := c.b(w.tx).Put(key, data); err != nil {
			return zero, fmt.Errorf("store %s %s/%s: %w", c.resource.Resource, namespace, name, err)
		}
		return next, nil
	}
	return next, c.putTxPrev(w, next, Modified, old)
}

// publicJSON encodes what watchers see of obj (nil without a public view).
func (c *Collection[T]) publicJSON(obj T) ([]byte, error) {
	if c.public == nil {
		return nil, nil
	}
	data, err := json.Marshal(c.public(obj))
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", c.resource.Resource, err)
	}
	return data, nil
}

// Delete removes an object and returns it. When uid is set the stored
// object must have that UID (a replacement with the same name is kept).
// final, when not nil, gives the object that watchers see as DELETED.
func (c *Collection[T]) Delete(ctx context.Context, namespace, name string, uid types.UID, final func(stored T) T) (T, error) {
	var out T
	err := c.s.update(ctx, func(w *writeTx) error {
		var err error
		out, err = c.deleteTx(w, namespace, name, uid, final)
		return err
	})
	return out, err
}

// DeleteChecked removes an object if check, given the stored object in
// the same transaction, returns nil (a DELETE's preconditions), and
// returns it.
func (c *Collection[T]) DeleteChecked(ctx context.Context, namespace, name string, check func(stored T) error) (T, error) {
	var out T
	err := c.s.update(ctx, func(w *writeTx) error {
		obj, _, err := c.getTx(w.tx, Key(namespace, name), name)
		if err != nil {
			return err
		}
		if err := check(obj); err != nil {
			return err
		}
		out, err = c.deleteTx(w, namespace, name, "", nil)
		return err
	})
	return out, err
}

func (c *Collection[T]) deleteTx(w *writeTx, namespace, name string, uid types.UID, final func(T) T) (T, error) {
	var zero T
	key := Key(namespace, name)
	obj, _, err := c.getTx(w.tx, key, name)
	if err != nil {
		return zero, err
	}
	if uid != "" && c.meta(obj).UID != uid {
		return zero, apierrors.NewConflict(c.resource, name,
			fmt.Errorf("stored object has UID %s, not %s", c.meta(obj).UID, uid))
	}
	if err := c.b(w.tx).Delete(key); err != nil {
		return zero, fmt.Errorf("delete %s %s/%s: %w", c.resource.Resource, namespace, name, err)
	}
	if final != nil {
		obj = final(obj)
	}
	rv, err := w.RV()
	if err != nil {
		return zero, err
	}
	c.meta(obj).ResourceVersion = formatRV(rv)
	return obj, c.announce(w, Deleted, obj, nil, rv)
}
