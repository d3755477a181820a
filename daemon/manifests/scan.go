package manifests

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/daemon/dirwatch"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
)

// maxFileBytes bounds one manifest file: far above any pod set a device
// runs, far below what would hurt podrund's memory.
const maxFileBytes = 4 << 20

// IsManifestName reports whether a directory entry's name is a manifest:
// *.yaml, *.yml or *.json, and not a hidden file or an editor's or a
// writer's temporary one (x~, .x.swp, #x#, x.tmp), which come and go
// while a real file is saved.
func IsManifestName(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "#") || strings.HasSuffix(name, "~") {
		return false
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// Key names one object across kinds.
type Key struct {
	Kind, Namespace, Name string
}

func (k Key) String() string { return fmt.Sprintf("%s %s/%s", k.Kind, k.Namespace, k.Name) }

// Doc is one object of a file.
type Doc struct {
	Key Key
	Obj runtime.Object
}

// File is one manifest file as read in a pass: its content's digest and
// objects, or why it cannot be used.
type File struct {
	Path string
	Sum  [sha256.Size]byte
	Docs []Doc
	Err  error
}

// readDir reads every manifest of dir in lexical order.
func readDir(dir string) ([]File, error) {
	paths, err := dirwatch.List(dir, IsManifestName)
	if err != nil {
		return nil, err
	}
	var out []File
	for _, p := range paths {
		if f, ok := readFile(p); ok {
			out = append(out, f)
		}
	}
	return out, nil
}

// readFile reads and decodes one manifest through the API's decoder; ok
// is false for what is not a regular file (a directory named x.yaml).
func readFile(path string) (File, bool) {
	f := File{Path: path}
	// O_NONBLOCK: a FIFO named x.yaml must not hang the pass in open.
	fh, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, os.ErrNotExist) {
		return f, false // gone since the listing: the next pass sees it
	}
	if err != nil {
		f.Err = err
		return f, true
	}
	defer fh.Close()
	if st, err := fh.Stat(); err != nil || !st.Mode().IsRegular() {
		return f, false
	}
	data, err := io.ReadAll(io.LimitReader(fh, maxFileBytes+1))
	if err != nil {
		f.Err = err
		return f, true
	}
	if len(data) > maxFileBytes {
		f.Err = fmt.Errorf("the file is larger than %d bytes", maxFileBytes)
		return f, true
	}
	f.Sum = sha256.Sum256(data)
	f.Docs, f.Err = decode(data)
	return f, true
}

// decode reads a file's objects with api.Decode, the decoder the API
// itself uses, so that every kind the API accepts is accepted here.
func decode(data []byte) ([]Doc, error) {
	objs, err := api.Decode(data)
	if err != nil {
		return nil, err
	}
	docs := make([]Doc, 0, len(objs))
	for i, obj := range objs {
		kind := obj.GetObjectKind().GroupVersionKind().Kind
		if kind == "" {
			kind = kindOf(obj)
		}
		if kind == "Event" {
			return nil, fmt.Errorf("document %d: an Event is not something a device is set up with", i)
		}
		m, err := meta.Accessor(obj)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if m.GetName() == "" {
			return nil, fmt.Errorf("document %d: metadata.name: Required value: a %s in a manifest file needs a name", i, kind)
		}
		if m.GetNamespace() == "" {
			m.SetNamespace("default")
		}
		docs = append(docs, Doc{Key: Key{Kind: kind, Namespace: m.GetNamespace(), Name: m.GetName()}, Obj: obj})
	}
	return docs, nil
}

// kindOf is the kind of a typed object whose TypeMeta the decoder
// cleared: its Go type's name (Pod, ConfigMap, Job ...).
func kindOf(obj runtime.Object) string {
	t := fmt.Sprintf("%T", obj)
	return t[strings.LastIndex(t, ".")+1:]
}
