package harness

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/integration/testimage"
)

// TestLeakCheckFindsLeftovers proves the leak check can fail: a container
// left running in a daemon's containerd namespace is reported as container,
// task, active snapshot, rootfs mount and processes; once removed, nothing is.
func TestLeakCheckFindsLeftovers(t *testing.T) {
	ctx, base, c := StartContainerdForTest(t, "podrun-leak-")
	e := &Env{Base: base, Containerd: c}
	d := NewPodrund("", filepath.Join(base, "d"), c.Address, "leaktest")
	img := filepath.Join(base, "img.tar")
	if err := testimage.WriteFile(img, testimage.Busybox()); err != nil {
		t.Fatal(err)
	}
	if out, err := c.Ctr(ctx, d.Namespace, "images", "import", img); err != nil {
		t.Fatal(err, out)
	}
	if got := e.LeakCheckOn(ctx, d, c); len(got) != 0 {
		t.Fatalf("leaks reported with only an image present: %v", got)
	}
	if out, err := c.Ctr(ctx, d.Namespace, "run", "-d", "docker.io/library/busybox:1.28", "leaked", "sleep", "600"); err != nil {
		t.Fatal(err, out)
	}
	got := strings.Join(e.LeakCheckOn(ctx, d, c), "\n")
	for _, want := range []string{"containers: leaked", "tasks: leaked", "snapshots: leaked", "mount: ", "process: "} {
		if !strings.Contains(got, want) {
			t.Errorf("leak check output lacks %q:\n%s", want, got)
		}
	}
	if out, err := c.Ctr(ctx, d.Namespace, "tasks", "kill", "-s", "SIGKILL", "leaked"); err != nil {
		t.Fatal(err, out)
	}
	for i := 0; i < 50; i++ {
		if _, err := c.Ctr(ctx, d.Namespace, "tasks", "rm", "leaked"); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out, err := c.Ctr(ctx, d.Namespace, "containers", "rm", "leaked"); err != nil {
		t.Fatal(err, out)
	}
	Eventually(t, 10*time.Second, func() string {
		if got := e.LeakCheckOn(ctx, d, c); len(got) > 0 {
			return fmt.Sprintf("leaks still reported after removing the container: %v", got)
		}
		return ""
	})
	// A process on its way out (a shim after its task's delete) is not a
	// leak: the check waits for it, as long as it goes within leakSettle.
	exiting := exec.Command("sh", "-c", "sleep 1", d.Dir)
	if err := exiting.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = exiting.Wait() }()
	if got := e.LeakCheckOn(ctx, d, c); len(got) > 0 {
		t.Errorf("a process that exits within a second reported as a leak: %v", got)
	}
}

// TestMentionsPath: a daemon's dir is found in command lines that name it
// or a path below it, never in those of a daemon whose dir only starts
// with the same characters (d1 and d12 of one run).
func TestMentionsPath(t *testing.T) {
	const dir = "/tmp/podrun-it-1/d1"
	for _, c := range []struct {
		s    string
		want bool
	}{
		{"podrund --socket /tmp/podrun-it-1/d1/podrund.sock --root /tmp/podrun-it-1/d1/root", true},
		{"podrund --socket /tmp/podrun-it-1/d12/podrund.sock", false},
		{"logger /tmp/podrun-it-1/d12/root/logs/x /tmp/podrun-it-1/d1 --end", true},
		{"ends with /tmp/podrun-it-1/d1", true},
		{"/tmp/podrun-it-1/d10/x /tmp/podrun-it-1/d1/y", true},
		{"/tmp/podrun-it-1/d10 /tmp/podrun-it-1/d11", false},
		{"", false},
	} {
		if got := mentionsPath(c.s, dir); got != c.want {
			t.Errorf("mentionsPath(%q, %q) = %v, want %v", c.s, dir, got, c.want)
		}
	}
}
