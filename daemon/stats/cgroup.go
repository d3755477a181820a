// Package stats reads a container's CPU and memory use from its cgroup
// (v1 and v2), for `podctl top pod`.
package stats

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Sample is one reading of a cgroup.
type Sample struct {
	CPUUsageNanos uint64 // cumulative CPU time
	MemoryUsage   uint64 // whole usage, page cache included
	WorkingSet    uint64 // usage minus inactive file cache (kubelet's working set)
}

// Reader reads cgroups under Root (normally /sys/fs/cgroup).
type Reader struct {
	Root string
}

// NewReader reads the host's cgroups.
func NewReader() *Reader { return &Reader{Root: "/sys/fs/cgroup"} }

// Sample reads the cgroup at rel (cgroupfs notation, e.g.
// /podrun/pod<uid>/<containerID>) in the unified hierarchy on v2, or in the
// cpuacct and memory hierarchies on v1.
func (r *Reader) Sample(rel string) (Sample, error) {
	if r.unified() {
		return sampleV2(filepath.Join(r.Root, rel))
	}
	return r.sampleV1(rel)
}

// unified reports whether Root is the unified hierarchy alone (cgroup v2):
// only its root holds cgroup.controllers. A hybrid host's root is a tmpfs
// of v1 hierarchies with the unified one below it, as on a legacy host.
// It agrees with containerd's cgroups.Mode() on the host and, unlike it,
// also reads a test's fake tree; containerd's cgroup1/cgroup2 stat
// readers are not used for the files either: they would link eBPF and
// protobuf code (~170 packages) into podrund for four numbers.
func (r *Reader) unified() bool {
	_, err := os.Stat(filepath.Join(r.Root, "cgroup.controllers"))
	return err == nil
}

func sampleV2(dir string) (Sample, error) {
	var s Sample
	cpu, err := readKeyed(filepath.Join(dir, "cpu.stat"))
	if err != nil {
		return s, err
	}
	s.CPUUsageNanos = cpu["usage_usec"] * 1000
	s.MemoryUsage, s.WorkingSet, err = readMemory(dir, "memory.current", "inactive_file")
	return s, err
}

func (r *Reader) sampleV1(rel string) (Sample, error) {
	var s Sample
	cpuDir, err := r.v1Hierarchy("cpuacct")
	if err != nil {
		return s, err
	}
	if s.CPUUsageNanos, err = readUint(filepath.Join(cpuDir, rel, "cpuacct.usage")); err != nil {
		return s, err
	}
	s.MemoryUsage, s.WorkingSet, err = readMemory(filepath.Join(r.Root, "memory", rel), "memory.usage_in_bytes", "total_inactive_file")
	return s, err
}

// readMemory reads a memory cgroup's usage from usageFile and its working
// set: the usage less the memory.stat key inactiveKey, as the kubelet's.
func readMemory(dir, usageFile, inactiveKey string) (usage, workingSetBytes uint64, err error) {
	if usage, err = readUint(filepath.Join(dir, usageFile)); err != nil {
		return usage, 0, err
	}
	mem, err := readKeyed(filepath.Join(dir, "memory.stat"))
	if err != nil {
		return usage, 0, err
	}
	return usage, workingSet(usage, mem[inactiveKey]), nil
}

// v1Hierarchy finds where a v1 controller is mounted: its own directory or
// a co-mounted one such as cpu,cpuacct.
func (r *Reader) v1Hierarchy(controller string) (string, error) {
	entries, err := os.ReadDir(r.Root)
	if err != nil {
		return "", fmt.Errorf("list cgroup hierarchies: %w", err)
	}
	for _, e := range entries {
		for _, c := range strings.Split(e.Name(), ",") {
			if c == controller {
				return filepath.Join(r.Root, e.Name()), nil
			}
		}
	}
	return "", fmt.Errorf("cgroup v1 controller %s is not mounted under %s", controller, r.Root)
}

func workingSet(usage, inactiveFile uint64) uint64 {
	if inactiveFile > usage {
		return 0
	}
	return usage - inactiveFile
}

// ErrNoCgroup says the cgroup does not exist (the container is gone).
var ErrNoCgroup = errors.New("cgroup not found")

func readFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", path, ErrNoCgroup)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}

func readUint(path string) (uint64, error) {
	b, err := readFile(path)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", path, err)
	}
	return v, nil
}

// readKeyed parses "key value" lines (cpu.stat, memory.stat); lines that
// do not parse are skipped, as the kernel adds keys over time.
func readKeyed(path string) (map[string]uint64, error) {
	b, err := readFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		if v, err := strconv.ParseUint(f[1], 10, 64); err == nil {
			m[f[0]] = v
		}
	}
	return m, nil
}
