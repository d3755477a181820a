package harness

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	RunHogIfAsked()
	os.Exit(m.Run())
}

// TestHogsSpinAndStop: the hogs are live processes that use CPU, and
// Stop leaves none behind.
func TestHogsSpinAndStop(t *testing.T) {
	h, err := StartHogs(2)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Stop()
	if h.Count() != 2 {
		t.Fatalf("%d hogs, want 2", h.Count())
	}
	var pids []int
	for _, cmd := range h.cmds {
		pids = append(pids, cmd.Process.Pid)
	}
	for _, pid := range pids {
		Eventually(t, 30*time.Second, func() string {
			if cpuTicks(t, pid) == 0 {
				return fmt.Sprintf("hog %d used no CPU", pid)
			}
			return ""
		})
	}
	if err := h.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("hog %d still exists after Stop", pid)
		}
	}
}

// cpuTicks is utime+stime of pid from /proc/PID/stat.
func cpuTicks(t *testing.T, pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatalf("hog %d: %v", pid, err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	u, _ := strconv.Atoi(f[11])
	s, _ := strconv.Atoi(f[12])
	return u + s
}

// namedTB is a testing.TB with a chosen name: each value stands for one
// run of a test under -count.
type namedTB struct {
	testing.TB
	name string
}

func (n *namedTB) Name() string { return n.name }

func TestNamespaceForEachRun(t *testing.T) {
	// A name of its own, so that this test can itself run with -count.
	name := fmt.Sprintf("TestRunTwice%d", time.Now().UnixNano())
	first, second := &namedTB{t, name}, &namedTB{t, name}
	a := NamespaceFor(first)
	if again := NamespaceFor(first); again != a {
		t.Errorf("one run got %q and %q", a, again)
	}
	b := NamespaceFor(second)
	if want := "t-" + strings.ToLower(name); a != want || b != want+"-2" {
		t.Errorf("runs got %q and %q, want %s and %s-2", a, b, want, want)
	}
	other := "TestOther" + name
	if got := NamespaceFor(&namedTB{t, other}); got != "t-"+strings.ToLower(other) {
		t.Errorf("another test got %q", got)
	}
}
