package harness

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cgroupRoot is where the host's cgroup hierarchies are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// PodUIDsInLog lists the UIDs of the pods whose sandbox podrund created, read
// from its log ("sandbox created" lines carry the uid). All harness daemons
// share the host's /sys/fs/cgroup/.../podrun, so the log is how a daemon's
// own pod cgroups are told apart from those of other test runs.
func PodUIDsInLog(logPath string) ([]string, error) {
	b, err := os.ReadFile(logPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // never started: no pods
	}
	if err != nil {
		return nil, fmt.Errorf("read podrund log: %w", err)
	}
	seen := map[string]bool{}
	var uids []string
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, `"sandbox created"`) {
			continue
		}
		var rec struct {
			UID string `json:"uid"`
		}
		if json.Unmarshal([]byte(line), &rec) != nil || rec.UID == "" || seen[rec.UID] {
			continue
		}
		seen[rec.UID] = true
		uids = append(uids, rec.UID)
	}
	return uids, nil
}

// PodCgroupDirs lists the pod's cgroup directories (podrun puts every
// container of a pod under /podrun/pod<uid>) that exist in any hierarchy:
// the unified one on cgroup v2, one per controller on v1.
func PodCgroupDirs(root, uid string) []string {
	rel := filepath.Join("podrun", "pod"+uid)
	candidates := []string{filepath.Join(root, rel)}
	if entries, err := os.ReadDir(root); err == nil {
		for _, e := range entries {
			if e.IsDir() {
				candidates = append(candidates, filepath.Join(root, e.Name(), rel))
			}
		}
	}
	var out []string
	for _, dir := range candidates {
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			out = append(out, dir)
		}
	}
	sort.Strings(out)
	return out
}

// CgroupProcs lists the PIDs in dir and every cgroup below it.
func CgroupProcs(dir string) []int {
	var pids []int
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
		return nil
	})
	return pids
}

// CgroupLeaks reports the pod cgroups of daemon d that outlive its pods: the
// directory itself (RemoveSandbox removes it) and, worse, processes still in
// it, which no other check sees once their shim is gone (they are reparented
// to init and their root is no longer below the test's dirs).
func CgroupLeaks(d *Podrund) []string {
	uids, err := PodUIDsInLog(d.LogPath)
	if err != nil {
		return []string{"cgroup check: " + err.Error()}
	}
	var leaks []string
	for _, uid := range uids {
		for _, dir := range PodCgroupDirs(cgroupRoot, uid) {
			leaks = append(leaks, fmt.Sprintf("cgroup: %s (processes %v)", dir, CgroupProcs(dir)))
		}
	}
	return leaks
}

// RemovePodCgroups kills whatever is left in daemon d's pod cgroups and
// removes them (cleanup after the leak check has reported them).
func RemovePodCgroups(d *Podrund) error {
	uids, err := PodUIDsInLog(d.LogPath)
	if err != nil {
		return err
	}
	var errs []error
	for _, uid := range uids {
		for _, dir := range PodCgroupDirs(cgroupRoot, uid) {
			errs = append(errs, removeCgroupTree(dir))
		}
	}
	return errors.Join(errs...)
}

// removeCgroupTree SIGKILLs the tree's processes, waits for them to leave,
// and removes its directories deepest first (a cgroup can only be removed
// once it has no processes and no children).
func removeCgroupTree(dir string) error {
	for _, pid := range CgroupProcs(dir) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(CgroupProcs(dir)) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	var dirs []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
	var errs []error
	for _, p := range dirs {
		if err := syscall.Rmdir(p); err != nil && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("remove cgroup %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}
