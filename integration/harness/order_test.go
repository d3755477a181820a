package harness

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseOrderFindAndCount(t *testing.T) {
	o, err := ParseOrder("12.50 app Started\n12.40 sc Started\n\n13.00 app\n13.10 app PreStop Begin\n14.00 sc Started\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(o) != 4 {
		t.Fatalf("want 4 lines (the short one passed over), got %d:\n%s", len(o), o)
	}
	if got := o.Find("app PreStop Begin"); got != 2 {
		t.Errorf("Find of a multi-word event = %d, want 2", got)
	}
	if got := o.Index("", "Started"); got != 0 {
		t.Errorf("Index of any name = %d, want 0", got)
	}
	if got := o.Find("app TERM"); got != -1 {
		t.Errorf("Find of a missing step = %d, want -1", got)
	}
	if got := o.Count("sc", "Started"); got != 2 {
		t.Errorf("Count = %d, want 2", got)
	}
	if got := o.ByTime(); got[0].Name != "sc" || got[1].Name != "app" || o[0].Name != "app" {
		t.Errorf("ByTime must sort a copy by uptime:\n%s\noriginal:\n%s", got, o)
	}
	if !strings.Contains(o.String(), "  13.10 app PreStop Begin\n") {
		t.Errorf("String:\n%s", o)
	}
	if _, err := ParseOrder("x app Started"); err == nil {
		t.Error("a line without an uptime must be an error")
	}
}

// errorRecorder is a testing.TB that only notes whether Errorf was called.
type errorRecorder struct {
	testing.TB
	failed bool
}

func (r *errorRecorder) Helper()               {}
func (r *errorRecorder) Errorf(string, ...any) { r.failed = true }

func TestExpectOrderReportsWrongOrder(t *testing.T) {
	o, _ := ParseOrder("1 a Started\n2 b Started\n")
	var good, bad, missing errorRecorder
	ExpectOrder(&good, o, "a Started", "b Started")
	ExpectOrder(&bad, o, "b Started", "a Started")
	ExpectOrder(&missing, o, "a Started", "c Started")
	if good.failed || !bad.failed || !missing.failed {
		t.Errorf("failed: in order %v, reversed %v, missing %v; want false, true, true",
			good.failed, bad.failed, missing.failed)
	}
}

// TestOrderMark runs the mark in a POSIX shell (the test image's busybox
// sh takes the same syntax): one line with the host's uptime and the
// expanded name; as one compound command it is skipped whole after a
// failed &&; and it forks nothing (no command substitution), so a TERM
// trap writes it even on a starved CPU.
func TestOrderMark(t *testing.T) {
	dir := t.TempDir()
	mark := strings.ReplaceAll(OrderMark("$POD_NAME", "TERM"), "/shared/", dir+"/")
	if strings.Contains(mark, "$(") || strings.Contains(mark, "`") {
		t.Fatalf("the mark forks a command: %s", mark)
	}
	script := mark + "; false && " + mark + "; true"
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = append(os.Environ(), "POD_NAME=web-1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sh -c %q: %v\n%s", script, err, out)
	}
	raw, err := os.ReadFile(filepath.Join(dir, OrderFile))
	if err != nil {
		t.Fatal(err)
	}
	o, err := ParseOrder(string(raw))
	if err != nil || len(o) != 1 || o[0].Name != "web-1" || o[0].Event != "TERM" || o[0].At <= 0 {
		t.Fatalf("order file %q: %v, %v", raw, o, err)
	}
}
