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
// with the writer's own "..*" names.
func validatePayloadPath(p string) error {
	if p == "" || filepath.IsAbs(p) || !filepath.IsLocal(p) {
		return fmt.Errorf("invalid path %q in volume payload", p)
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
func writePayload(dir string, payload map[string]file, own func(string) error) (bool, error) {
	for p := range payload {
		if err := validatePayloadPath(p); err != nil {
			return false, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("create volume directory: %w", err)
	}
	oldTs, err := os.Readlink(filepath.Join(dir, dataDirName))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("read %s: %w", dataDirName, err)
	}
	if oldTs != "" && samePayload(filepath.Join(dir, oldTs), payload) {
		return false, linkTopLevel(dir, payload, nil)
	}
	tsDir, err := os.MkdirTemp(dir, time.Now().UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		return false, fmt.Errorf("create payload directory: %w", err)
	}
	if err := fillPayloadDir(tsDir, payload, own); err != nil {
		_ = os.RemoveAll(tsDir)
		return false, err
	}
	tmpLink := filepath.Join(dir, newDataDirName)
	_ = os.Remove(tmpLink)
	if err := os.Symlink(filepath.Base(tsDir), tmpLink); err != nil {
		_ = os.RemoveAll(tsDir)
		return false, fmt.Errorf("link new payload: %w", err)
	}
	if err := os.Rename(tmpLink, filepath.Join(dir, dataDirName)); err != nil {
		_ = os.RemoveAll(tsDir)
		return false, fmt.Errorf("switch to new payload: %w", err)
	}
	var old map[string]bool
	if oldTs != "" {
		old = topLevelOf(filepath.Join(dir, oldTs))
	}
	if err := linkTopLevel(dir, payload, old); err != nil {
		return true, err
	}
	if oldTs != "" {
		if err := os.RemoveAll(filepath.Join(dir, oldTs)); err != nil {
			return true, fmt.Errorf("remove old payload: %w", err)
		}
	}
	return true, nil
}

func fillPayloadDir(tsDir string, payload map[string]file, own func(string) error) error {
	if err := os.Chmod(tsDir, 0o755); err != nil {
		return fmt.Errorf("chmod payload directory: %w", err)
	}
	for p, f := range payload {
		full := filepath.Join(tsDir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return fmt.Errorf("create payload directory for %s: %w", p, err)
		}
		if err := os.WriteFile(full, f.Data, f.Mode); err != nil {
			return fmt.Errorf("write payload file %s: %w", p, err)
		}
		if err := os.Chmod(full, f.Mode); err != nil { // WriteFile's mode is cut by the umask
			return fmt.Errorf("chmod payload file %s: %w", p, err)
		}
	}
	if own != nil {
		return own(tsDir)
	}
	return nil
}

// samePayload reports whether tsDir holds exactly payload (data and modes).
func samePayload(tsDir string, payload map[string]file) bool {
	n := 0
	err := filepath.WalkDir(tsDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(tsDir, p)
		want, ok := payload[rel]
		if !ok {
			return errors.New("extra file")
		}
		info, err := d.Info()
		if err != nil || info.Mode().Perm() != want.Mode.Perm() {
			return errors.New("mode differs")
		}
		data, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(data, want.Data) {
			return errors.New("data differs")
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
// payload entry and removes the links of old entries that are gone.
func linkTopLevel(dir string, payload map[string]file, old map[string]bool) error {
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
		link := filepath.Join(dir, n)
		target := filepath.Join(dataDirName, n)
		if cur, err := os.Readlink(link); err == nil && cur == target {
			continue
		}
		_ = os.Remove(link)
		if err := os.Symlink(target, link); err != nil {
			return fmt.Errorf("link %s: %w", n, err)
		}
	}
	for n := range old {
		if !want[n] {
			if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("remove stale link %s: %w", n, err)
			}
		}
	}
	return nil
}
