package containerd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
)

// cgroupRoot is where the cgroup hierarchies are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// oomKilledInCgroup tells whether the kernel OOM-killed a process in the
// instance's cgroup. It must run before the task is deleted (runc removes
// the cgroup then). The TaskOOM event alone is not enough: the shim reads
// the cgroup's OOM eventfd on its own schedule, so for a process killed
// right after it started (one big allocation) the exit event often comes
// first and the engine reaps with reason Error. The counter in the cgroup
// is there whenever the kill happened.
func oomKilledInCgroup(ctx context.Context, cont containerd.Container) (bool, error) {
	spec, err := cont.Spec(ctx)
	if err != nil {
		return false, fmt.Errorf("load spec: %w", err)
	}
	if spec.Linux == nil || spec.Linux.CgroupsPath == "" || strings.Contains(spec.Linux.CgroupsPath, ":") {
		return false, nil // systemd notation or no cgroup of our choosing: rely on the event
	}
	return cgroupOOMKills(cgroupRoot, spec.Linux.CgroupsPath)
}

// cgroupOOMKills reads the oom_kill counter of the cgroup at path (cgroupfs
// notation) below root: memory.events on cgroup v2, the memory
// controller's memory.oom_control on v1. A missing cgroup is no OOM kill.
func cgroupOOMKills(root, path string) (bool, error) {
	for _, f := range []string{
		filepath.Join(root, path, "memory.events"),
		filepath.Join(root, "memory", path, "memory.oom_control"),
	} {
		data, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("read OOM counter: %w", err)
		}
		return oomKillCount(data) > 0, nil
	}
	return false, nil
}

// oomKillCount returns the "oom_kill N" value of a memory.events or
// memory.oom_control file (0 when absent, as on kernels before 4.13).
func oomKillCount(data []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == "oom_kill" {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}
