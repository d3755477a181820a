package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCgroupLeakCheckFindsProcesses proves the cgroup check can fail: a
// process left in a pod cgroup of a UID the daemon's log names is reported
// with its PID; a pod cgroup of a UID the log does not name is not (another
// run's); after RemovePodCgroups the process is dead and the cgroup gone.
func TestCgroupLeakCheckFindsProcesses(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root to create cgroups")
	}
	dir := t.TempDir()
	mine, other := "leakcheck-"+strconv.Itoa(os.Getpid()), "leakcheck-other-"+strconv.Itoa(os.Getpid())
	d := &Podrund{LogPath: filepath.Join(dir, "podrund.log")}
	log := fmt.Sprintf(`{"level":"info","msg":"sandbox created","pod":"ns/p","uid":%q}`+"\n", mine)
	if err := os.WriteFile(d.LogPath, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := CgroupLeaks(d); len(got) != 0 {
		t.Fatalf("leaks reported before any cgroup exists: %v", got)
	}
	leaf := filepath.Join(cgroupHierarchy(t), "podrun", "pod"+mine, "c1")
	otherDir := filepath.Join(cgroupHierarchy(t), "podrun", "pod"+other)
	for _, p := range []string{leaf, otherDir} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = removeCgroupTree(otherDir); _ = removeCgroupTree(filepath.Dir(leaf)) })
	sleeper := exec.Command("sleep", "600")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- sleeper.Wait() }()
	if err := os.WriteFile(filepath.Join(leaf, "cgroup.procs"), []byte(strconv.Itoa(sleeper.Process.Pid)), 0o644); err != nil {
		_ = sleeper.Process.Kill()
		t.Fatal(err)
	}
	got := strings.Join(CgroupLeaks(d), "\n")
	if !strings.Contains(got, "pod"+mine) || !strings.Contains(got, strconv.Itoa(sleeper.Process.Pid)) {
		t.Errorf("leak check lacks the pod cgroup or its process %d:\n%s", sleeper.Process.Pid, got)
	}
	if strings.Contains(got, other) {
		t.Errorf("leak check reports a pod its daemon never created:\n%s", got)
	}
	if err := RemovePodCgroups(d); err != nil {
		t.Fatal(err)
	}
	<-waited // killed by RemovePodCgroups, or the test hangs here
	if got := CgroupLeaks(d); len(got) != 0 {
		t.Errorf("leaks still reported after RemovePodCgroups: %v", got)
	}
}

// cgroupHierarchy is a hierarchy the test can create cgroups in: the
// unified one on cgroup v2, the pids controller's on v1.
func cgroupHierarchy(t *testing.T) string {
	if _, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers")); err == nil {
		return cgroupRoot
	}
	for _, c := range []string{"pids", "memory", "cpu"} {
		if st, err := os.Stat(filepath.Join(cgroupRoot, c)); err == nil && st.IsDir() {
			return filepath.Join(cgroupRoot, c)
		}
	}
	t.Fatal("no cgroup hierarchy to test with")
	return ""
}
