package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// SchemaVersion is the layout of the store file that this podrund writes.
// A change to what is stored (a bucket, a key, the shape of a record) gets
// the next number and an upgrade step in upgrades, so that a device that
// updates podrund keeps its pods, their restart counts and back-off.
//
// Version 1: the buckets of init, objects as their Kubernetes JSON keyed
// "namespace/name", pods as {"pod": v1.Pod, "engine": supervisor's
// EngineState}, events keyed by pod UID, and meta holding the last
// resourceVersion and this version.
const SchemaVersion = 1

var keySchemaVersion = []byte("schemaVersion")

// upgrades[v] moves a store at version v to v+1, inside the transaction
// that opens it: either every step commits, with the new version, or none
// does and the file is as it was.
var upgrades = []func(tx *bolt.Tx) error{
	0: upgradeUnversioned,
}

// ErrNewerSchema is returned by Open for a store written by a newer
// podrund: it is left untouched (never moved aside like a corrupt one), so
// that the newer podrund can be reinstalled without losing anything.
var ErrNewerSchema = errors.New("store written by a newer podrund")

// migrate brings the store to SchemaVersion. A store without buckets is new
// and is stamped directly.
func migrate(tx *bolt.Tx, fresh bool) error {
	meta := tx.Bucket([]byte(bucketMeta))
	if fresh {
		return putVersion(meta, SchemaVersion)
	}
	v, err := storedVersion(meta)
	if err != nil {
		return err
	}
	if v > SchemaVersion {
		return fmt.Errorf("%w: its schema version is %d, this podrund reads up to %d", ErrNewerSchema, v, SchemaVersion)
	}
	for ; v < SchemaVersion; v++ {
		if err := upgrades[v](tx); err != nil {
			return fmt.Errorf("upgrade store schema %d to %d: %w", v, v+1, err)
		}
	}
	return putVersion(meta, SchemaVersion)
}

// storedVersion reads meta's version; a store without one was written
// before versions existed, which is version 0.
func storedVersion(meta *bolt.Bucket) (uint64, error) {
	b := meta.Get(keySchemaVersion)
	switch len(b) {
	case 0:
		return 0, nil
	case 8:
		return binary.BigEndian.Uint64(b), nil
	}
	return 0, fmt.Errorf("store schema version is %d bytes, want 8", len(b))
}

func putVersion(meta *bolt.Bucket, v uint64) error {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	if err := meta.Put(keySchemaVersion, b[:]); err != nil {
		return fmt.Errorf("write store schema version: %w", err)
	}
	return nil
}

// upgradeUnversioned takes a store written before schema versions. Its
// layout is version 1's, so nothing is rewritten; but every record must be
// a JSON object, because from here on podrund trusts the version instead
// of finding out record by record. A store that fails is refused whole
// (and then moved aside as corrupt) rather than run half-read.
func upgradeUnversioned(tx *bolt.Tx) error {
	for _, name := range []string{BucketPods, BucketPodsPending, BucketConfigMaps, BucketSecrets, BucketJobs, BucketEvents} {
		b := tx.Bucket([]byte(name))
		if b == nil {
			continue
		}
		err := b.ForEach(func(k, v []byte) error {
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(v, &obj); err != nil {
				return fmt.Errorf("%s %q is not a stored object: %w", name, k, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
