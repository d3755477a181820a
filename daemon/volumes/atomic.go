package volumes

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/daemon/safeopen"
)

// file is one entry of a projected volume's payload.
type file struct {
	Data []byte
	Mode os.FileMode
}

// dataDirName is the symlink that names the current payload directory, as in
// the kubelet's AtomicWriter: <vol>/..data -> ..2026_01_02_15_04_05.123,
// and every top-level entry <vol>/<key> -> ..data/<key>. Swapping ..data with
// one rename() makes a changed ConfigMap appear to readers all at once.
const (
	dataDirName    = "..data"
	newDataDirName = "..data_tmp"
)

// validatePayloadPath refuses paths that could leave the volume or collide
// with the writer's own "..*" names. A "." or ".." element anywhere is
// refused too: "a/../b" or "./a" would be written under another top-level
// name than the one linkTopLevel links ("a/../..data" even lands on a
// reserved name inside the payload directory).
func validatePayloadPath(p string) error {
	if p == "" || filepath.IsAbs(p) || !filepath.IsLocal(p) || strings.ContainsRune(p, 0) {
		return fmt.Errorf("invalid path %q in volume payload", p)
	}
	for _, el := range strings.Split(p, "/") {
		if el == "." || el == ".." {
			return fmt.Errorf("path %q in volume payload may not contain a %q element", p, el)
		}
	}
	if strings.HasPrefix(p, "..") {
		return fmt.Errorf("path %q in volume payload may not start with '..'", p)
	}
	return nil
}

// writePayload makes dir hold exactly payload. When nothing changed it
// leaves the files alone, so calling it every few seconds is cheap. own,
// when non-nil, is applied to the new payload directory before it becomes
// visible (fsGroup ownership).
//
// Everything below dir is done relative to dir's descriptor, opened with
// no symlink followed, and every file and directory of the payload is
// created with O_NOFOLLOW semantics (safeopen): a symlink found where the
// writer expects its own entries is an error, never followed.
func writePayload(dir string, payload map[string]file, own func(string) error) (bool, error) {
	clean := make(map[string]file, len(payload))
	for p, f := range payload {
		if err := validatePayloadPath(p); err != nil {
			return false, err
		}
		// "a/" and "a//b" pass the API server's checks and name the file
		// "a" and "a/b" there; the writer works element by element, so
		// it takes the cleaned form.
		clean[filepath.Clean(p)] = f
	}
	payload = clean
	d, err := openVolumeDir(dir)
	if err != nil {
		return false, err
	}
	defer d.Close()
	dfd := int(d.Fd())
	oldTs, err := readlinkAt(dfd, dataDirName)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("read %s: %w", dataDirName, err)
	}
	if oldTs != "" && !isPayloadDirName(oldTs) {
		return false, fmt.Errorf("%s points to %q, not a payload directory", dataDirName, oldTs)
	}
	if oldTs != "" && samePayload(d, oldTs, payload) {
		return false, linkTopLevel(d, payload, nil)
	}
	tsName, err := safeopen.MkdirTemp(d, time.Now().UTC().Format("..2006_01_02_15_04_05."), 0o755)
	if err != nil {
		return false, fmt.Errorf("create payload directory: %w", err)
	}
	tsDir := filepath.Join(dir, tsName)
	if err := fillPayloadDir(d, tsName, payload, own, tsDir); err != nil {
		_ = os.RemoveAll(tsDir)
		return false, err
	}
	_ = unix.Unlinkat(dfd, newDataDirName, 0)
	if err := unix.Symlinkat(tsName, dfd, newDataDirName); err != nil {
		_ = os.RemoveAll(tsDir)
		return false, fmt.Errorf("link new payload: %w", err)
	}
	if err := unix.Renameat(dfd, newDataDirName, dfd, dataDirName); err != nil {
		_ = os.RemoveAll(tsDir)
		return false, fmt.Errorf("switch to new payload: %w", err)
	}
	var old map[string]bool
	if oldTs != "" {
		old = topLevelOf(filepath.Join(dir, oldTs))
	}
	if err := linkTopLevel(d, payload, old); err != nil {
		return true, err
	}
	if oldTs != "" {
		if err := os.RemoveAll(filepath.Join(dir, oldTs)); err != nil {
			return true, fmt.Errorf("remove old payload: %w", err)
		}
	}
	return true, nil
}

// openVolumeDir opens (creating it if missing) a volume directory; its
// parent is podrund's own pod directory, the last component is never a
// symlink.
func openVolumeDir(dir string) (*os.File, error) {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("create volume directory: %w", err)
	}
	p, err := safeopen.OpenDir(parent)
	if err != nil {
		return nil, fmt.Errorf("open volume directory: %w", err)
	}
	defer p.Close()
	d, err := safeopen.MkdirAll(p, filepath.Base(dir), 0o755)
	if err != nil {
		return nil, fmt.Errorf("open volume directory: %w", err)
	}
	return d, nil
}

// isPayloadDirName tells whether a ..data target names one of the
// writer's own timestamped directories, directly inside the volume.
func isPayloadDirName(name string) bool {
	return strings.HasPrefix(name, "..") && !strings.Contains(name, "/") &&
		name != ".." && name != dataDirName && name != newDataDirName
}

// readlinkAt reads the symlink name of the directory dfd.
func readlinkAt(dfd int, name string) (string, error) {
	for size := 128; size <= 4096; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dfd, name, buf)
		if err != nil {
			return "", &os.PathError{Op: "readlink", Path: name, Err: err}
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
	return "", fmt.Errorf("readlink %s: target too long", name)
}

func fillPayloadDir(d *os.File, tsName string, payload map[string]file, own func(string) error, tsDir string) error {
	ts, err := safeopen.Open(d, tsName)
	if err != nil {
		return fmt.Errorf("open payload directory: %w", err)
	}
	defer ts.Close()
	for p, f := range payload {
		if err := writePayloadFile(ts, p, f); err != nil {
			return err
		}
	}
	if own != nil {
		return own(tsDir)
	}
	return nil
}

// writePayloadFile creates one payload file (and its directories) beneath
// the payload directory ts; the mode is set with fchmod, past the umask.
func writePayloadFile(ts *os.File, p string, f file) error {
	parent := ts
	if dir := filepath.Dir(p); dir != "." {
		pd, err := safeopen.MkdirAll(ts, dir, 0o755)
		if err != nil {
			return fmt.Errorf("create payload directory for %s: %w", p, err)
		}
		defer pd.Close()
		parent = pd
	}
	w, err := safeopen.CreateFile(parent, filepath.Base(p), uint32(f.Mode.Perm()), true)
	if err != nil {
		return fmt.Errorf("write payload file %s: %w", p, err)
	}
	if _, err := w.Write(f.Data); err != nil {
		w.Close()
		return fmt.Errorf("write payload file %s: %w", p, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("write payload file %s: %w", p, err)
	}
	return nil
}

// samePayload reports whether the payload directory tsName of d holds
// exactly payload (data and modes); its files are read without following
// symlinks.
func samePayload(d *os.File, tsName string, payload map[string]file) bool {
	ts, err := safeopen.Open(d, tsName)
	if err != nil {
		return false
	}
	defer ts.Close()
	tsDir := filepath.Join(d.Name(), tsName)
	n := 0
	err = filepath.WalkDir(tsDir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(tsDir, p)
		want, ok := payload[rel]
		if !ok {
			return errors.New("extra file")
		}
		data, st, err := safeopen.ReadFile(ts, rel, int64(len(want.Data))+1)
		if err != nil || fs.FileMode(st.Mode&0o777) != want.Mode.Perm() || !bytes.Equal(data, want.Data) {
			return errors.New("file differs")
		}
		n++
		return nil
	})
	return err == nil && n == len(payload)
}

// topLevelOf lists the first path elements present in a payload directory.
func topLevelOf(tsDir string) map[string]bool {
	out := map[string]bool{}
	entries, _ := os.ReadDir(tsDir)
	for _, e := range entries {
		out[e.Name()] = true
	}
	return out
}

// linkTopLevel creates <dir>/<top> -> ..data/<top> for every top-level
// payload entry and removes the links of old entries that are gone, all
// relative to the volume directory's descriptor.
func linkTopLevel(d *os.File, payload map[string]file, old map[string]bool) error {
	dfd := int(d.Fd())
	want := map[string]bool{}
	for p := range payload {
		want[strings.SplitN(filepath.ToSlash(p), "/", 2)[0]] = true
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		target := filepath.Join(dataDirName, n)
		if cur, err := readlinkAt(dfd, n); err == nil && cur == target {
			continue
		}
		_ = unix.Unlinkat(dfd, n, 0)
		if err := unix.Symlinkat(target, dfd, n); err != nil {
			return fmt.Errorf("link %s: %w", n, err)
		}
	}
	for n := range old {
		if !want[n] {
			if err := unix.Unlinkat(dfd, n, 0); err != nil && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("remove stale link %s: %w", n, err)
			}
		}
	}
	return nil
}
