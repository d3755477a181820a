package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// bbolt's on-disk meta page (go.etcd.io/bbolt internal/common): a 16-byte
// page header, then magic, version, pageSize, flags (4 bytes each), the
// root bucket (16), freelist, pgid (the high-water mark), txid and the
// FNV-64a checksum of the bytes before it (8 each), in native byte order.
const (
	boltPageHeader = 16
	boltMetaSize   = 64
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
)

type boltMeta struct {
	pageSize uint32
	pgid     uint64
	txid     uint64
}

// checkNotTruncated rejects a store file shorter than the pages its
// newest valid meta page says are in use. bbolt maps the file into
// memory, and reading a page past the end of the file raises SIGBUS, a
// fault no recover catches: a store cut short (torn copy, full disk,
// truncated by a crash of the file system) would crash podrund at every
// start instead of being moved aside. Files whose meta pages are both
// invalid are left to bbolt, which reports them as errors.
func checkNotTruncated(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return err
	}
	m0, ok0 := readBoltMeta(f, 0)
	pageSize := int64(os.Getpagesize())
	if ok0 {
		pageSize = int64(m0.pageSize)
	}
	m1, ok1 := readBoltMeta(f, pageSize)
	meta := m0
	switch {
	case ok0 && ok1 && m1.txid > m0.txid, !ok0 && ok1:
		meta = m1
	case !ok0:
		return nil
	}
	if need := int64(meta.pgid) * int64(meta.pageSize); fi.Size() < need {
		return fmt.Errorf("store file is truncated: %d bytes, its meta page (txid %d) uses %d", fi.Size(), meta.txid, need)
	}
	return nil
}

func readBoltMeta(r io.ReaderAt, pageOffset int64) (boltMeta, bool) {
	b := make([]byte, boltMetaSize)
	if _, err := r.ReadAt(b, pageOffset+boltPageHeader); err != nil {
		return boltMeta{}, false
	}
	ne := binary.NativeEndian
	h := fnv.New64a()
	_, _ = h.Write(b[:56])
	if ne.Uint32(b[0:]) != boltMagic || ne.Uint32(b[4:]) != boltVersion || ne.Uint64(b[56:]) != h.Sum64() {
		return boltMeta{}, false
	}
	m := boltMeta{pageSize: ne.Uint32(b[8:]), pgid: ne.Uint64(b[40:]), txid: ne.Uint64(b[48:])}
	return m, m.pageSize > 0
}
