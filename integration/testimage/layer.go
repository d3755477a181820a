package testimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path"
	"sort"
	"strings"
)

// entry is one file system object of the layer; the layer is written in
// path order so that the same inputs always give the same bytes.
type entry struct {
	name     string // without leading slash
	typeflag byte
	mode     int64
	linkname string
	data     []byte
}

// fsTree collects the entries of one layer, with parent directories implied.
type fsTree struct {
	entries map[string]entry
}

func newTree() *fsTree { return &fsTree{entries: map[string]entry{}} }

func (t *fsTree) dir(name string, mode int64) {
	name = strings.Trim(name, "/")
	t.parents(name)
	t.entries[name] = entry{name: name, typeflag: tar.TypeDir, mode: mode}
}

func (t *fsTree) file(name string, mode int64, data []byte) {
	name = strings.Trim(name, "/")
	t.parents(name)
	t.entries[name] = entry{name: name, typeflag: tar.TypeReg, mode: mode, data: data}
}

func (t *fsTree) symlink(name, target string) {
	name = strings.Trim(name, "/")
	t.parents(name)
	if _, ok := t.entries[name]; ok {
		return // a real file or an earlier link wins
	}
	t.entries[name] = entry{name: name, typeflag: tar.TypeSymlink, mode: 0o777, linkname: target}
}

func (t *fsTree) parents(name string) {
	for d := path.Dir(name); d != "." && d != "/"; d = path.Dir(d) {
		if _, ok := t.entries[d]; !ok {
			t.entries[d] = entry{name: d, typeflag: tar.TypeDir, mode: 0o755}
		}
	}
}

// layer is a written layer: the gzip blob and the digest of the plain tar
// (the image config's diff_id).
type layer struct {
	gz     []byte
	diffID string
}

func (t *fsTree) write() (layer, error) {
	names := make([]string, 0, len(t.entries))
	for n := range t.entries {
		names = append(names, n)
	}
	sort.Strings(names)
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for _, n := range names {
		e := t.entries[n]
		hdr := &tar.Header{
			Typeflag: e.typeflag,
			Name:     e.name,
			Linkname: e.linkname,
			Mode:     e.mode,
			Size:     int64(len(e.data)),
			ModTime:  epoch,
			Format:   tar.FormatPAX,
		}
		if e.typeflag == tar.TypeDir {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return layer{}, fmt.Errorf("write tar header %s: %w", n, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return layer{}, fmt.Errorf("write tar data %s: %w", n, err)
		}
	}
	if err := tw.Close(); err != nil {
		return layer{}, fmt.Errorf("close tar: %w", err)
	}
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	if err != nil {
		return layer{}, err
	}
	zw.ModTime = epoch // the gzip header carries a time too
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return layer{}, fmt.Errorf("gzip layer: %w", err)
	}
	if err := zw.Close(); err != nil {
		return layer{}, fmt.Errorf("gzip layer: %w", err)
	}
	return layer{gz: gz.Bytes(), diffID: digestOf(raw.Bytes())}, nil
}

func digestOf(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }

// addBusybox puts the busybox binary at /bin/busybox with one symlink per
// applet in /bin and at the applet's conventional place (/sbin, /usr/bin, ...).
func (t *fsTree) addBusybox(binary string) error {
	data, err := os.ReadFile(binary)
	if err != nil {
		return fmt.Errorf("read busybox %s (install busybox-static): %w", binary, err)
	}
	t.file("bin/busybox", 0o755, data)
	out, err := exec.Command(binary, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("%s --list-full: %w", binary, err)
	}
	applets := strings.Fields(string(out))
	if len(applets) < 100 {
		return fmt.Errorf("%s lists only %d applets; a static busybox with all applets is needed", binary, len(applets))
	}
	for _, full := range applets {
		name := path.Base(full)
		t.symlink("bin/"+name, "/bin/busybox")
		if dir := path.Dir(full); dir != "bin" && dir != "usr/bin" {
			t.symlink(full, "/bin/busybox")
		}
		t.symlink("usr/bin/"+name, "/bin/busybox")
	}
	return nil
}

// addBase writes the directories and account files every test image has.
func (t *fsTree) addBase() {
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "usr/local/bin", "usr/local/sbin",
		"etc", "dev", "proc", "sys", "run", "var", "var/www", "var/log", "home"} {
		t.dir(d, 0o755)
	}
	t.dir("home/user", 0o777) // user 1000 may write its home without a chown
	t.dir("tmp", 0o1777)
	t.dir("root", 0o700)
	t.file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\n"+
		"user:x:1000:1000:user:/home/user:/bin/sh\n"+
		"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"))
	t.file("etc/group", 0o644, []byte("root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n"))
}
