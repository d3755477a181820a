package imagedir

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// fileKey is what tells, without reading a file, that it is the one
// imported before: a rewritten archive changes at least one of these.
type fileKey struct {
	Size    int64  `json:"size"`
	MtimeNs int64  `json:"mtimeNs"`
	Inode   uint64 `json:"inode"`
}

func keyOf(st os.FileInfo) fileKey {
	k := fileKey{Size: st.Size(), MtimeNs: st.ModTime().UnixNano()}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		k.Inode = sys.Ino
	}
	return k
}

// imported is one archive as imported: its key and content digest, and
// the images it held; or as refused.
type imported struct {
	Key    fileKey `json:"key"`
	SHA256 string  `json:"sha256,omitempty"`
	Images []image `json:"images,omitempty"`
	// Refused is why the archive itself was refused (not an image
	// archive, a bomb): unchanged, it is not read again.
	Refused string `json:"refused,omitempty"`
}

type image struct {
	Ref string `json:"ref"`
	ID  string `json:"id"`
}

// records is the small file under --root that remembers what was
// imported, so that a boot with an unchanged image directory reads none
// of its archives.
type records struct {
	path string
	m    map[string]imported // by archive path
}

func loadRecords(path string) (*records, error) {
	r := &records{path: path, m: map[string]imported{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read image directory record: %w", err)
	}
	if err := json.Unmarshal(b, &r.m); err != nil {
		// A torn or foreign record costs one re-import, not a refusal to boot.
		r.m = map[string]imported{}
	}
	return r, nil
}

// save writes the record atomically, readable by root only.
func (r *records) save() error {
	b, err := json.MarshalIndent(r.m, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(r.path), ".imagedir-*")
	if err != nil {
		return fmt.Errorf("write image directory record: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), r.path)
}
