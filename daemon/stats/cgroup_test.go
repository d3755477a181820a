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

// Sample reads each layout's files: v2's unified tree, v1 with cpuacct
// co-mounted with cpu, and a hybrid host (v1 hierarchies at the root,
// the unified one without controllers under unified/: usage from v1).
func TestSampleLayouts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string // relative to the root
		want  Sample
	}{
		{"v2", map[string]string{
			"cgroup.controllers":    "cpu memory pids\n",
			rel + "/cpu.stat":       "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 0\n",
			rel + "/memory.current": "8388608\n",
			rel + "/memory.stat":    "anon 4194304\nfile 4194304\ninactive_file 1048576\nactive_file 3145728\n",
		}, Sample{CPUUsageNanos: 1500000, MemoryUsage: 8388608, WorkingSet: 8388608 - 1048576}},
		{"v1 co-mounted cpu", map[string]string{
			"cpu,cpuacct" + rel + "/cpuacct.usage":    "123456789\n",
			"memory" + rel + "/memory.usage_in_bytes": "2097152\n",
			"memory" + rel + "/memory.stat":           "cache 1048576\nrss 1048576\ninactive_file 4096\ntotal_inactive_file 524288\nbogus line here\n",
		}, Sample{CPUUsageNanos: 123456789, MemoryUsage: 2097152, WorkingSet: 2097152 - 524288}},
		{"hybrid reads v1", map[string]string{
			"unified/cgroup.controllers":              "",
			"unified" + rel + "/cgroup.procs":         "",
			"cpuacct" + rel + "/cpuacct.usage":        "42\n",
			"memory" + rel + "/memory.usage_in_bytes": "4096\n",
			"memory" + rel + "/memory.stat":           "total_inactive_file 1024\n",
		}, Sample{CPUUsageNanos: 42, MemoryUsage: 4096, WorkingSet: 3072}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for name, content := range tc.files {
				write(t, filepath.Join(root, name), content)
			}
			s, err := (&Reader{Root: root}).Sample(rel)
			if err != nil {
				t.Fatal(err)
			}
			if s != tc.want {
				t.Fatalf("sample = %+v, want %+v", s, tc.want)
			}
		})
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
