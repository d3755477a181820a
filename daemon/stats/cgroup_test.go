package stats

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/containerd/cgroups/v3"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

const rel = "/podrun/poduid-1/abc"

func TestSampleV2(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "cgroup.controllers"), "cpu memory pids\n")
	dir := filepath.Join(root, rel)
	write(t, filepath.Join(dir, "cpu.stat"), "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 0\n")
	write(t, filepath.Join(dir, "memory.current"), "8388608\n")
	write(t, filepath.Join(dir, "memory.stat"), "anon 4194304\nfile 4194304\ninactive_file 1048576\nactive_file 3145728\n")
	s, err := (&Reader{Root: root}).Sample(rel)
	if err != nil {
		t.Fatal(err)
	}
	want := Sample{CPUUsageNanos: 1500000, MemoryUsage: 8388608, WorkingSet: 8388608 - 1048576}
	if s != want {
		t.Fatalf("sample = %+v, want %+v", s, want)
	}
}

func TestSampleV1CoMountedCPU(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "cpu,cpuacct", rel, "cpuacct.usage"), "123456789\n")
	write(t, filepath.Join(root, "memory", rel, "memory.usage_in_bytes"), "2097152\n")
	write(t, filepath.Join(root, "memory", rel, "memory.stat"),
		"cache 1048576\nrss 1048576\ninactive_file 4096\ntotal_inactive_file 524288\nbogus line here\n")
	s, err := (&Reader{Root: root}).Sample(rel)
	if err != nil {
		t.Fatal(err)
	}
	want := Sample{CPUUsageNanos: 123456789, MemoryUsage: 2097152, WorkingSet: 2097152 - 524288}
	if s != want {
		t.Fatalf("sample = %+v, want %+v", s, want)
	}
}

func TestSampleMissingCgroup(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "cpuacct", "cpuacct.usage"), "1\n")
	if err := os.MkdirAll(filepath.Join(root, "memory"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := (&Reader{Root: root}).Sample(rel)
	if !errors.Is(err, ErrNoCgroup) {
		t.Fatalf("err = %v, want ErrNoCgroup", err)
	}
	write(t, filepath.Join(root, "cpuacct", rel, "cpuacct.usage"), "not a number\n")
	if _, err := (&Reader{Root: root}).Sample(rel); err == nil || errors.Is(err, ErrNoCgroup) {
		t.Fatalf("garbage: err = %v", err)
	}
}

func TestWorkingSetNeverNegative(t *testing.T) {
	if got := workingSet(10, 20); got != 0 {
		t.Fatalf("workingSet = %d", got)
	}
}

// A hybrid host (this build host): v1 hierarchies at the root and the
// unified one, without controllers, under unified/. Usage comes from v1.
func TestSampleHybridReadsV1(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "unified", "cgroup.controllers"), "")
	write(t, filepath.Join(root, "unified", rel, "cgroup.procs"), "")
	write(t, filepath.Join(root, "cpuacct", rel, "cpuacct.usage"), "42\n")
	write(t, filepath.Join(root, "memory", rel, "memory.usage_in_bytes"), "4096\n")
	write(t, filepath.Join(root, "memory", rel, "memory.stat"), "total_inactive_file 1024\n")
	s, err := (&Reader{Root: root}).Sample(rel)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Sample{CPUUsageNanos: 42, MemoryUsage: 4096, WorkingSet: 3072}); s != want {
		t.Fatalf("sample = %+v, want %+v", s, want)
	}
}

func TestSampleV2MissingCgroup(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "cgroup.controllers"), "cpu memory\n")
	if _, err := (&Reader{Root: root}).Sample(rel); !errors.Is(err, ErrNoCgroup) {
		t.Fatalf("err = %v, want ErrNoCgroup", err)
	}
}

// On the host the reader's mode is containerd's cgroups.Mode().
func TestUnifiedMatchesContainerdMode(t *testing.T) {
	if cgroups.Mode() == cgroups.Unavailable {
		t.Fatal("no cgroup file system on this host")
	}
	if got, want := NewReader().unified(), cgroups.Mode() == cgroups.Unified; got != want {
		t.Fatalf("unified() = %v, containerd's cgroups.Mode() = %v", got, cgroups.Mode())
	}
}
