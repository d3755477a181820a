package harness

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// MountsUnder lists the mount points at or below dir (from /proc/self/mountinfo).
func MountsUnder(dir string) ([]string, error) {
	infos, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	var out []string
	for _, m := range infos {
		out = append(out, m.Mountpoint+" ("+m.FSType+")")
	}
	sort.Strings(out)
	return out, nil
}

// UnmountUnder detaches every mount at or below dir, deepest first.
func UnmountUnder(dir string) error {
	infos, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return fmt.Errorf("read mountinfo: %w", err)
	}
	sort.Slice(infos, func(i, j int) bool { return len(infos[i].Mountpoint) > len(infos[j].Mountpoint) })
	var errs []error
	for _, m := range infos {
		if err := unix.Unmount(m.Mountpoint, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", m.Mountpoint, err))
		}
	}
	return errors.Join(errs...)
}

// Process is a process found on the host.
type Process struct {
	PID     int
	Cmdline string
	Root    string
}

func (p Process) String() string { return fmt.Sprintf("pid %d root %s: %s", p.PID, p.Root, p.Cmdline) }

// ProcessesMentioning lists processes (other than this one) whose command
// line mentions dir (shims carry the containerd address) or whose root file
// system lies below dir (container processes).
func ProcessesMentioning(dir string) []Process {
	entries, _ := os.ReadDir("/proc")
	var out []Process
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(raw) == 0 { // gone, or a kernel thread/zombie
			continue
		}
		cmdline := string(bytes.ReplaceAll(bytes.TrimRight(raw, "\x00"), []byte{0}, []byte{' '}))
		root, _ := os.Readlink(filepath.Join("/proc", e.Name(), "root"))
		if mentionsPath(cmdline, dir) || root == dir || strings.HasPrefix(root, dir+"/") {
			out = append(out, Process{PID: pid, Cmdline: cmdline, Root: root})
		}
	}
	return out
}

// mentionsPath reports whether s names dir or a path below it: dir ends
// at a path boundary, so that .../d1 is not found in .../d12/podrund.sock
// (the cleanup of one test's daemon must not kill another's).
func mentionsPath(s, dir string) bool {
	for i := strings.Index(s, dir); i >= 0; {
		if end := i + len(dir); end == len(s) || s[end] == '/' || s[end] == ' ' {
			return true
		}
		next := strings.Index(s[i+1:], dir)
		if next < 0 {
			return false
		}
		i += 1 + next
	}
	return false
}

// KillProcessesMentioning SIGKILLs what ProcessesMentioning finds (cleanup
// after a failed test; the leak check has already reported them).
func KillProcessesMentioning(dir string) error {
	procs := ProcessesMentioning(dir)
	for _, p := range procs {
		_ = syscall.Kill(p.PID, syscall.SIGKILL)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(procs) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		procs = ProcessesMentioning(dir)
	}
	if len(procs) > 0 {
		return fmt.Errorf("processes survive SIGKILL: %v", procs)
	}
	return nil
}

// FilesUnder lists regular files and nsfs bind targets below dir (for the
// netns check: podrund keeps namespaces at <state>/sandboxes/<uid>/{net,ipc,uts}).
func FilesUnder(dir string) []string {
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}
