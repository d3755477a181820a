package containerd

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCgroupOOMKills(t *testing.T) {
	root := t.TempDir()
	write := func(rel, data string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// v1: the memory controller's oom_control; v2: memory.events.
	write("memory/podrun/poda/c1/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n")
	write("memory/podrun/poda/c2/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n")
	write("podrun/podb/c3/memory.events", "low 0\nhigh 0\nmax 12\noom 1\noom_kill 2\noom_group_kill 0\n")
	write("podrun/podb/c4/memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n")
	// hybrid: the unified hierarchy (no controllers) below unified/, the
	// counter in the v1 memory controller.
	write("unified/podrun/podc/c6/cgroup.procs", "")
	write("memory/podrun/podc/c6/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")
	for path, want := range map[string]bool{
		"/podrun/podc/c6": true,
		"/podrun/poda/c1": true, "/podrun/poda/c2": false,
		"/podrun/podb/c3": true, "/podrun/podb/c4": false,
		"/podrun/gone/c5": false,
	} {
		got, err := cgroupOOMKills(root, path)
		if err != nil || got != want {
			t.Errorf("cgroupOOMKills(%s) = %v, %v; want %v", path, got, err, want)
		}
	}
}
