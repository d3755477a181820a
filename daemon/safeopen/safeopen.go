// Package safeopen opens and creates paths beneath a directory without
// following symlinks, and binds what it opened by file descriptor. It is
// for host paths a container can change while podrund works on them (a
// subPath inside an emptyDir, a hostPath below a policy prefix): a path
// checked and then handed to runc by name can be swapped for a symlink in
// between (the CVE-2021-25741 class), a file descriptor cannot.
//
// Resolution uses openat2(2) with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, so
// the kernel refuses a symlink in any component, a ".." that climbs out and
// a magic link, atomically for the whole walk; as the kubelet's
// doSafeOpen, a symlink anywhere in the path is an error.
package safeopen

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// resolveFlags keep every lookup beneath the starting directory and refuse
// symlinks (a trailing one too: O_NOFOLLOW is never passed with them, which
// would return the link itself).
const resolveFlags = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// eagainTries bounds the retries of an openat2 the kernel answered with
// EAGAIN (a rename raced the walk, which it then cannot prove stayed beneath).
const eagainTries = 32

// SplitRelative checks rel is a relative path inside its root and returns
// its components; "" and "." are the root itself (no components). A ".."
// component is refused even where it would stay inside, as the kubelet's
// subPath validation refuses it.
func SplitRelative(rel string) ([]string, error) {
	if rel == "" || rel == "." {
		return nil, nil
	}
	if filepath.IsAbs(rel) {
		return nil, fmt.Errorf("%q must be a relative path", rel)
	}
	var parts []string
	for _, p := range strings.Split(rel, "/") {
		switch p {
		case "", ".":
			continue
		case "..":
			return nil, fmt.Errorf("%q must not contain '..'", rel)
		}
		parts = append(parts, p)
	}
	return parts, nil
}

// OpenDir opens a trusted directory (podrund's own, or a prefix an
// administrator configured) as the root of later lookups. The path itself
// is followed: only what lies beneath it is the container's to change.
func OpenDir(dir string) (*os.File, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	return os.NewFile(uintptr(fd), dir), nil
}

func openat2(dirfd int, path string, flags uint64) (int, error) {
	how := unix.OpenHow{Flags: flags | unix.O_CLOEXEC, Resolve: resolveFlags}
	for range eagainTries {
		fd, err := unix.Openat2(dirfd, path, &how)
		if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
	return -1, unix.EAGAIN
}

// describe turns openat2's errors into the reason a user can act on.
func describe(op, name string, err error) error {
	switch {
	case errors.Is(err, unix.ELOOP):
		return fmt.Errorf("%s %s: a path component is a symlink (not allowed)", op, name)
	case errors.Is(err, unix.EXDEV):
		return fmt.Errorf("%s %s: path leaves its root (not allowed)", op, name)
	}
	return &os.PathError{Op: op, Path: name, Err: err}
}

// Open opens rel beneath root as an O_PATH descriptor, refusing symlinks
// and "..". The descriptor can be bound (Bind) or fstat'ed; its name is
// root's name joined with rel, for messages only.
func Open(root *os.File, rel string) (*os.File, error) {
	parts, err := SplitRelative(rel)
	if err != nil {
		return nil, err
	}
	p := strings.Join(parts, "/")
	if p == "" {
		p = "."
	}
	name := filepath.Join(root.Name(), p)
	fd, err := openat2(int(root.Fd()), p, unix.O_PATH)
	if err != nil {
		return nil, describe("open", name, err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// MkdirAll opens the directory rel beneath root, creating missing
// components one by one relative to their parent's descriptor (as the
// kubelet's doSafeMakeDir) with mode perm (set with fchmod, so the umask
// does not cut it). An existing non-directory or symlink anywhere is an
// error. The result is an O_PATH descriptor of the directory.
func MkdirAll(root *os.File, rel string, perm uint32) (*os.File, error) {
	parts, err := SplitRelative(rel)
	if err != nil {
		return nil, err
	}
	fd, err := openat2(int(root.Fd()), ".", unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return nil, describe("open", root.Name(), err)
	}
	name := root.Name()
	for _, part := range parts {
		name = filepath.Join(name, part)
		child, err := mkdirChild(fd, part, name, perm)
		unix.Close(fd)
		if err != nil {
			return nil, err
		}
		fd = child
	}
	return os.NewFile(uintptr(fd), name), nil
}

// mkdirChild opens (creating if missing) directory part of parent.
func mkdirChild(parent int, part, name string, perm uint32) (int, error) {
	fd, err := openat2(parent, part, unix.O_PATH|unix.O_DIRECTORY)
	if err == nil {
		return fd, nil
	}
	if !errors.Is(err, unix.ENOENT) {
		return -1, describe("open", name, err)
	}
	if err := unix.Mkdirat(parent, part, perm); err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, &os.PathError{Op: "mkdir", Path: name, Err: err}
	}
	// Opened for reading, not O_PATH: fchmod needs a real descriptor. A
	// racing rename or symlink between mkdirat and here makes openat2 fail.
	rd, err := openat2(parent, part, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return -1, describe("open", name, err)
	}
	defer unix.Close(rd)
	if err := unix.Fchmod(rd, perm); err != nil {
		return -1, &os.PathError{Op: "chmod", Path: name, Err: err}
	}
	fd, err = openat2(rd, ".", unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return -1, describe("open", name, err)
	}
	return fd, nil
}

// CreateFile opens the regular file rel beneath root for writing, creating
// it with mode perm (fchmod'ed, past the umask) when missing; its parent
// must exist. A symlink anywhere, or a non-regular file, is an error.
// truncate empties an existing file.
func CreateFile(root *os.File, rel string, perm uint32, truncate bool) (*os.File, error) {
	parts, err := SplitRelative(rel)
	if err != nil {
		return nil, err
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("%q names no file", rel)
	}
	name := filepath.Join(root.Name(), strings.Join(parts, "/"))
	dir := "."
	if len(parts) > 1 {
		dir = strings.Join(parts[:len(parts)-1], "/")
	}
	pfd, err := openat2(int(root.Fd()), dir, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return nil, describe("open", filepath.Dir(name), err)
	}
	defer unix.Close(pfd)
	flags := uint64(unix.O_WRONLY | unix.O_CREAT | unix.O_NOFOLLOW | unix.O_NONBLOCK)
	if truncate {
		flags |= unix.O_TRUNC
	}
	how := unix.OpenHow{Flags: flags | unix.O_CLOEXEC, Mode: uint64(perm), Resolve: resolveFlags}
	fd, err := unix.Openat2(pfd, parts[len(parts)-1], &how)
	if err != nil {
		return nil, describe("create", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "stat", Path: name, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		f.Close()
		return nil, fmt.Errorf("create %s: not a regular file", name)
	}
	if err := unix.Fchmod(fd, perm); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "chmod", Path: name, Err: err}
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Stat is fstat of an opened descriptor.
func Stat(f *os.File) (unix.Stat_t, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return st, &os.PathError{Op: "stat", Path: f.Name(), Err: err}
	}
	return st, nil
}

// IsDir tells whether an fstat result is a directory.
func IsDir(st unix.Stat_t) bool { return st.Mode&unix.S_IFMT == unix.S_IFDIR }

// MkdirTemp creates a new directory beneath root named prefix followed by
// a random suffix, with mode perm (fchmod'ed), and returns its name.
func MkdirTemp(root *os.File, prefix string, perm uint32) (string, error) {
	if strings.Contains(prefix, "/") {
		return "", fmt.Errorf("temporary directory prefix %q has a separator", prefix)
	}
	var rnd [6]byte
	for range 100 {
		if _, err := rand.Read(rnd[:]); err != nil {
			return "", err
		}
		name := prefix + hex.EncodeToString(rnd[:])
		err := unix.Mkdirat(int(root.Fd()), name, 0o700)
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		if err != nil {
			return "", &os.PathError{Op: "mkdir", Path: filepath.Join(root.Name(), name), Err: err}
		}
		rd, err := openat2(int(root.Fd()), name, unix.O_RDONLY|unix.O_DIRECTORY)
		if err != nil {
			return "", describe("open", filepath.Join(root.Name(), name), err)
		}
		defer unix.Close(rd)
		if err := unix.Fchmod(rd, perm); err != nil {
			return "", &os.PathError{Op: "chmod", Path: filepath.Join(root.Name(), name), Err: err}
		}
		return name, nil
	}
	return "", fmt.Errorf("create temporary directory %s*: too many collisions", filepath.Join(root.Name(), prefix))
}

// ReadFile reads the regular file rel beneath root, refusing symlinks; at
// most limit bytes are read.
func ReadFile(root *os.File, rel string, limit int64) ([]byte, unix.Stat_t, error) {
	parts, err := SplitRelative(rel)
	if err != nil {
		return nil, unix.Stat_t{}, err
	}
	name := filepath.Join(root.Name(), strings.Join(parts, "/"))
	fd, err := openat2(int(root.Fd()), strings.Join(parts, "/"), unix.O_RDONLY|unix.O_NONBLOCK)
	if err != nil {
		return nil, unix.Stat_t{}, describe("open", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	st, err := Stat(f)
	if err != nil {
		return nil, st, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, st, fmt.Errorf("read %s: not a regular file", name)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit))
	return data, st, err
}
