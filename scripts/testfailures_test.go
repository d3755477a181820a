// Package scripts holds the tests of the shell and awk scripts beside them.
package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// failingTests is a package whose tests fail in the ways CI must explain:
// parallel tests interleaving their output, a multi-line message, a
// subtest, a test that fails without a message, and passing tests that
// log. One test binary run of it stands for the integration run (-v) and
// the unit run (no -v).
const failingTests = `package demo

import (
	"os"
	"testing"
)

func TestPasses(t *testing.T) { t.Parallel(); t.Log("passing noise") }

func TestMultiLine(t *testing.T) {
	t.Parallel()
	t.Log("progress note")
	t.Fatalf("pod never ran; podrund log:\n  line one\n  line two")
}

func TestOther(t *testing.T) {
	t.Parallel()
	t.Errorf("other broke: %d", 42)
}

func TestParent(t *testing.T) {
	t.Run("sub", func(t *testing.T) { t.Error("sub failed here") })
	t.Run("fine", func(t *testing.T) { t.Log("sub noise") })
}

func TestSilent(t *testing.T) { t.Fail() }

func TestLong(t *testing.T) {
	for i := 0; i < 100; i++ {
		t.Logf("long line %d", i)
	}
	t.Fail()
}

func TestDumpThenLeak(t *testing.T) {
	dump := "podrund log:"
	for i := 0; i < 80; i++ {
		dump += "\n  log line"
	}
	t.Log(dump)
	t.Error("LEAK CHECK: a task remains")
}

func TestPanics(t *testing.T) {
	if os.Getenv("DEMO_PANIC") != "" {
		var m map[string]int
		m["x"] = 1
	}
}
`

// runDemo runs go test on the demo package and returns its output.
func runDemo(t *testing.T, env []string, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{"go.mod": "module demo\n\ngo 1.22\n", "demo_test.go": failingTests} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", append([]string{"test", "-count=1"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the demo tests passed:\n%s", out)
	}
	return string(out)
}

// failures runs scripts/test-failures.awk on log with the given limits.
func failures(t *testing.T, log string, limits ...string) string {
	t.Helper()
	args := []string{}
	for _, l := range limits {
		args = append(args, "-v", l)
	}
	cmd := exec.Command("awk", append(args, "-f", "test-failures.awk")...)
	cmd.Stdin = strings.NewReader(log)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("awk: %v\n%s", err, out)
	}
	return string(out)
}

// TestFailuresExplained: for the verbose and the quiet output alike, the
// report names every failed test with its messages whole (continuation
// lines included), says so for one without a message, and leaves out
// what passing tests logged and parents that failed through a subtest.
func TestFailuresExplained(t *testing.T) {
	for _, verbose := range []bool{true, false} {
		args := []string{"-run", "Multi|Other|Parent|Silent|Passes"}
		if verbose {
			args = append(args, "-v")
		}
		got := failures(t, runDemo(t, nil, args...))
		for _, want := range []string{
			"--- why demo failed:",
			"  TestMultiLine:", "demo_test.go:13: pod never ran; podrund log:", "line one", "line two",
			"  TestOther:", "other broke: 42",
			"  TestParent/sub:", "sub failed here",
			"  TestSilent:\n    (no message)",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("verbose %v: report lacks %q:\n%s", verbose, want, got)
			}
		}
		for _, unwanted := range []string{"passing noise", "sub noise", "  TestParent:", "TestPasses"} {
			if strings.Contains(got, unwanted) {
				t.Errorf("verbose %v: report has %q:\n%s", verbose, unwanted, got)
			}
		}
		// A test's own progress notes are part of its story.
		if verbose && !strings.Contains(got, "progress note") {
			t.Errorf("report lacks the failed test's log line:\n%s", got)
		}
	}
}

// TestFailuresBounded: a test that logs much is cut at per_test lines and
// the whole report at max lines, saying how much more the full log has.
func TestFailuresBounded(t *testing.T) {
	log := runDemo(t, nil, "-v", "-run", "Long|Other")
	got := failures(t, log, "per_test=10")
	if !strings.Contains(got, "long line 9\n    ... (more in the full log)") || strings.Contains(got, "long line 10") {
		t.Errorf("per-test bound of 10 lines:\n%s", got)
	}
	if !strings.Contains(got, "other broke") {
		t.Errorf("the next test's message is missing after a long one:\n%s", got)
	}
	// One long message (a log dump at cleanup) does not hide the next.
	got = failures(t, runDemo(t, nil, "-v", "-run", "DumpThenLeak"), "per_msg=10")
	if !strings.Contains(got, "LEAK CHECK: a task remains") || strings.Count(got, "log line") != 9 {
		t.Errorf("per-message bound of 10 lines:\n%s", got)
	}
	got = failures(t, log, "max=5")
	if n := strings.Count(got, "\n"); n != 6 || !strings.Contains(got, " more lines; see the full log") {
		t.Errorf("report of max 5 lines has %d lines:\n%s", n, got)
	}
}

// TestFailuresPanic: a test binary that panics shows the panic and the
// stack of the panicking goroutine, with the test it hit.
func TestFailuresPanic(t *testing.T) {
	got := failures(t, runDemo(t, []string{"DEMO_PANIC=1"}, "-v", "-run", "Panics"))
	for _, want := range []string{"panic: assignment to entry in nil map", "demo.TestPanics", "demo_test.go:"} {
		if !strings.Contains(got, want) {
			t.Errorf("panic report lacks %q:\n%s", want, got)
		}
	}
}
