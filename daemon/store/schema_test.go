package store

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// unversionedPod is a pod record exactly as podrund wrote it before the
// store had a schema version: {"pod": v1.Pod, "engine": EngineState}.
const unversionedPod = `{"pod":{"metadata":{"name":"web","namespace":"default","uid":"u-1","resourceVersion":"4","creationTimestamp":"2026-01-01T00:00:00Z"},` +
	`"spec":{"containers":[{"name":"app","image":"busybox:1.28"}],"restartPolicy":"Always"},` +
	`"status":{"phase":"Running","containerStatuses":[{"name":"app","state":{"running":{"startedAt":"2026-01-01T00:00:01Z"}},"ready":true,"restartCount":3,"image":"busybox:1.28","imageID":""}]}},` +
	`"engine":{"instances":[{"id":"u-1-app-3","container":"app","attempt":3}],"backoff":{"app/abc":{"backoff":20000000000,"lastUpdate":"2026-01-01T00:00:01Z"}},"sandboxAttempt":1,"initialized":true}}`

const unversionedConfigMap = `{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cfg","namespace":"default","uid":"u-2","resourceVersion":"5","creationTimestamp":"2026-01-01T00:00:00Z"},"data":{"k":"v"}}`

// writeUnversioned makes <dir>/podrund.db as a podrund before schema
// versions left it: every bucket, the last resourceVersion, no version.
func writeUnversioned(t *testing.T, dir string, pod string) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range []string{BucketPods, BucketPodsPending, BucketConfigMaps, BucketSecrets, BucketJobs, BucketEvents, bucketMeta} {
			if _, err := tx.CreateBucket([]byte(b)); err != nil {
				return err
			}
		}
		var rv [8]byte
		binary.BigEndian.PutUint64(rv[:], 5)
		if err := tx.Bucket([]byte(bucketMeta)).Put(keyResourceVersion, rv[:]); err != nil {
			return err
		}
		if err := tx.Bucket([]byte(BucketPods)).Put(Key("default", "web"), []byte(pod)); err != nil {
			return err
		}
		return tx.Bucket([]byte(BucketConfigMaps)).Put(Key("default", "cfg"), []byte(unversionedConfigMap))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func versionIn(t *testing.T, s *Store) uint64 {
	t.Helper()
	var v uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		v, err = storedVersion(tx.Bucket([]byte(bucketMeta)))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestOpenUnversionedStore: a store written before schema versions opens
// with every object, the engine's state (restart count, back-off, sandbox
// attempt) and the resourceVersion sequence intact, and is stamped with
// the current version.
func TestOpenUnversionedStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeUnversioned(t, dir, unversionedPod)
	s := openTest(t, dir)
	defer s.Close()
	if v := versionIn(t, s); v != SchemaVersion {
		t.Fatalf("schema version after open = %d, want %d", v, SchemaVersion)
	}
	rec, err := s.Pods().Get(ctx, "default", "web")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Pod.UID != "u-1" || rec.Pod.Status.ContainerStatuses[0].RestartCount != 3 {
		t.Fatalf("pod = %+v", rec.Pod)
	}
	e := rec.Engine
	if len(e.Instances) != 1 || e.Instances[0].Attempt != 3 || e.SandboxAttempt != 1 || !e.Initialized || e.Backoff["app/abc"].Backoff.Seconds() != 20 {
		t.Fatalf("engine state = %+v", e)
	}
	got, err := s.ConfigMaps().Get(ctx, "default", "cfg")
	if err != nil || got.Data["k"] != "v" {
		t.Fatalf("configmap = %+v, %v", got, err)
	}
	next, err := s.ConfigMaps().Create(ctx, cm("default", "next", "x"))
	if err != nil || next.ResourceVersion != "6" {
		t.Fatalf("next write = %+v, %v; want resourceVersion 6", next, err)
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, FileName+".corrupt-*")); len(matches) > 0 {
		t.Fatalf("an upgradable store was moved aside: %v", matches)
	}
}

// TestOpenNewerStoreRefused: a store of a newer schema (podrund was
// downgraded) is refused and left untouched, not moved aside as corrupt.
func TestOpenNewerStoreRefused(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	if _, err := s.ConfigMaps().Create(context.Background(), cm("default", "keep", "1")); err != nil {
		t.Fatal(err)
	}
	err := s.db.Update(func(tx *bolt.Tx) error { return putVersion(tx.Bucket([]byte(bucketMeta)), SchemaVersion+1) })
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	before, _ := os.ReadFile(filepath.Join(dir, FileName))

	_, err = Open(context.Background(), dir, nil)
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("open of a newer store: %v, want ErrNewerSchema", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, FileName))
	if string(before) != string(after) {
		t.Fatal("a refused newer store was changed")
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, FileName+".corrupt-*")); len(matches) > 0 {
		t.Fatalf("a newer store was moved aside: %v", matches)
	}
}

// TestOpenUnreadableUnversionedStore: an unversioned store whose records
// are not what podrund wrote fails its upgrade and is moved aside whole,
// like a corrupt one, so podrund comes up with an empty store.
func TestOpenUnreadableUnversionedStore(t *testing.T) {
	dir := t.TempDir()
	writeUnversioned(t, dir, "not json")
	s := openTest(t, dir)
	defer s.Close()
	if _, err := s.Pods().Get(context.Background(), "default", "web"); err == nil {
		t.Fatal("the unreadable store's pod is still there")
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, FileName+".corrupt-*")); len(matches) != 1 {
		t.Fatalf("moved aside: %v, want one file", matches)
	}
	if v := versionIn(t, s); v != SchemaVersion {
		t.Fatalf("fresh store version = %d", v)
	}
}

// TestOpenStampsFreshStoreOnce: a new store is stamped, and reopening it
// runs no upgrade.
func TestOpenStampsFreshStoreOnce(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	if v := versionIn(t, s); v != SchemaVersion {
		t.Fatalf("fresh store version = %d", v)
	}
	s.Close()
	saved := upgrades
	upgrades = []func(*bolt.Tx) error{func(*bolt.Tx) error { return errors.New("an upgrade ran on a current store") }}
	defer func() { upgrades = saved }()
	s = openTest(t, dir)
	defer s.Close()
	if matches, _ := filepath.Glob(filepath.Join(dir, FileName+".corrupt-*")); len(matches) > 0 {
		t.Fatalf("reopening a current store failed an upgrade: %v", matches)
	}
}
