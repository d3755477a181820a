// Package store is podrund's persistent object store: one bbolt file under
// --root holding pods (with the engine's state), configmaps, secrets, jobs
// and events. Every write is committed (fsynced) before it returns, so
// nothing acknowledged to a client is lost when podrund is killed.
package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/runtime"
)

// FileName is the store's file name under the root directory.
const FileName = "podrund.db"

// Bucket names; also the resource names used in errors and watch hubs.
const (
	BucketPods        = "pods"
	BucketPodsPending = "pods-pending" // replacements waiting for the old pod to stop
	BucketConfigMaps  = "configmaps"
	BucketSecrets     = "secrets"
	BucketJobs        = "jobs"
	BucketEvents      = "events"
	bucketMeta        = "meta"
)

var keyResourceVersion = []byte("resourceVersion")

// Watch event types (Kubernetes' names).
const (
	Added    = "ADDED"
	Modified = "MODIFIED"
	Deleted  = "DELETED"
)

// Change is one committed write, handed to the Notifier in commit order.
type Change struct {
	Bucket string
	Type   string
	// Object is the public object (a *corev1.Pod for pods, not the record)
	// with metadata.resourceVersion set to RV.
	Object runtime.Object
	// Prev is the public object before a MODIFIED write (nil otherwise),
	// so that a watch with a selector can tell an object that stopped
	// matching (DELETED) from one that started (ADDED), as the API
	// server's watch cache does.
	Prev runtime.Object
	RV   uint64
}

// Notifier receives every committed change, in commit order. It is called
// with the store's write lock held and must not block or call the store.
type Notifier func(Change)

// Store is the bbolt-backed object store.
type Store struct {
	db     *bolt.DB
	log    *zap.Logger
	mu     sync.Mutex // serialises write+notify so watchers see commit order
	notify Notifier

	// EventsPerPod caps the events kept about one pod; the oldest go first.
	EventsPerPod int
	// EventsTotal caps all events kept.
	EventsTotal int
}

// Open opens (or creates) <root>/podrund.db and upgrades it to
// SchemaVersion. A store that bbolt cannot open, that fails its consistency
// check or whose upgrade fails is moved aside as podrund.db.corrupt-<time>
// and a fresh one is started: podrund must come up on an unattended device
// even after a torn write. A store of a newer schema is refused and left as
// it is (ErrNewerSchema).
func Open(ctx context.Context, root string, log *zap.Logger) (*Store, error) {
	if log == nil {
		log = zap.NewNop()
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("create store directory %s: %w", root, err)
	}
	path := filepath.Join(root, FileName)
	s, err := openInit(path, log)
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open store %s: another podrund holds it: %w", path, err)
	}
	if errors.Is(err, ErrNewerSchema) {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err != nil {
		aside := path + ".corrupt-" + time.Now().UTC().Format("20060102T150405Z")
		log.Error("store is corrupt; moving it aside and starting with an empty store",
			zap.String("path", path), zap.String("movedTo", aside), zap.Error(err))
		if rerr := os.Rename(path, aside); rerr != nil {
			return nil, fmt.Errorf("move corrupt store %s aside: %w (corruption: %v)", path, rerr, err)
		}
		if s, err = openInit(path, log); err != nil {
			return nil, fmt.Errorf("open fresh store %s: %w", path, err)
		}
	}
	return s, nil
}

// openInit opens and checks the file, then creates its buckets and
// upgrades its schema.
func openInit(path string, log *zap.Logger) (*Store, error) {
	db, err := openChecked(path)
	if err != nil {
		return nil, err
	}
	// Secrets live in the store: a file left more open (by hand, by an
	// older podrund) is closed again; bbolt keeps an existing file's mode.
	if err := os.Chmod(path, 0o600); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("make store %s private: %w", path, err)
	}
	s := &Store{db: db, log: log, EventsPerPod: 100, EventsTotal: 2000}
	if err := s.init(); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// openChecked opens the file and runs bbolt's consistency check. bbolt may
// panic on some corrupt pages; that is turned into an error.
func openChecked(path string) (db *bolt.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			if db != nil {
				_ = db.Close()
			}
			db, err = nil, fmt.Errorf("store check panicked: %v", r)
		}
	}()
	if err := checkNotTruncated(path); err != nil {
		return nil, err
	}
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, err
	}
	err = db.View(func(tx *bolt.Tx) error {
		// Drain the channel: the checker goroutine blocks on every send.
		var first error
		for cerr := range tx.Check() {
			if first == nil {
				first = fmt.Errorf("consistency check: %w", cerr)
			}
		}
		return first
	})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// init creates the buckets and brings the file to SchemaVersion, in one
// transaction.
func (s *Store) init() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		fresh := tx.Bucket([]byte(bucketMeta)) == nil
		for _, b := range []string{BucketPods, BucketPodsPending, BucketConfigMaps,
			BucketSecrets, BucketJobs, BucketEvents, bucketMeta,
			BucketCronJobs} {
			if _, err := tx.CreateBucketIfNotExists([]byte(b)); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		return migrate(tx, fresh)
	})
}

// SetNotifier installs the function that receives committed changes.
func (s *Store) SetNotifier(n Notifier) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notify = n
}

// Close closes the database file.
func (s *Store) Close() error { return s.db.Close() }

// Path is the database file's path.
func (s *Store) Path() string { return s.db.Path() }

// ResourceVersion returns the newest resourceVersion handed out.
func (s *Store) ResourceVersion() (uint64, error) {
	var rv uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		rv = currentRV(tx)
		return nil
	})
	return rv, err
}

func currentRV(tx *bolt.Tx) uint64 {
	v := tx.Bucket([]byte(bucketMeta)).Get(keyResourceVersion)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// writeTx is one write transaction; RV hands out the transaction's
// resourceVersion (one per transaction, allocated on first use).
type writeTx struct {
	tx      *bolt.Tx
	rv      uint64
	changes []Change
}

func (w *writeTx) RV() (uint64, error) {
	if w.rv != 0 {
		return w.rv, nil
	}
	rv := currentRV(w.tx) + 1
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], rv)
	if err := w.tx.Bucket([]byte(bucketMeta)).Put(keyResourceVersion, b[:]); err != nil {
		return 0, fmt.Errorf("bump resourceVersion: %w", err)
	}
	w.rv = rv
	return rv, nil
}

func (w *writeTx) emit(c Change) { w.changes = append(w.changes, c) }

// update runs fn in a bbolt write transaction (committed and fsynced before
// update returns) and then hands the changes to the notifier in order.
func (s *Store) update(ctx context.Context, fn func(w *writeTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w := &writeTx{}
	err := s.db.Update(func(tx *bolt.Tx) error {
		w.tx = tx
		return fn(w)
	})
	if err != nil {
		return err
	}
	if s.notify != nil {
		for _, c := range w.changes {
			s.notify(c)
		}
	}
	return nil
}

func formatRV(rv uint64) string { return strconv.FormatUint(rv, 10) }

// Key is the store key of a namespaced object.
func Key(namespace, name string) []byte { return []byte(namespace + "/" + name) }
