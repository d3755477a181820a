package ops

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/podrun/podrun/integration/harness"
)

// apply --wait in a terminal redraws its progress line in place: the
// screen keeps one line for the pod, while piped output has one per change
// (Init:0/1, PodInitializing or Running...).
func TestApplyWaitRedrawsInPlace(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	dir := t.TempDir()
	write := func(name string) string {
		p := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(p, []byte(slowInit(name)), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	_, piped, code := c.Podctl("apply", "-f", write("piped"), "--wait", "--timeout", "90s")
	if code != 0 || strings.Count(piped, "pod/piped: ") < 2 || !strings.Contains(piped, "pod/piped: Init:0/1\n") {
		t.Fatalf("piped progress (exit %d):\n%s", code, piped)
	}
	s := screen(t, c, 100, 30, "apply", "-f", write("tty"), "--wait", "--timeout", "90s")
	lines := strings.Split(s, "\n")
	progress := regexp.MustCompile(`^pod/tty: \S`)
	n := 0
	for _, l := range lines {
		if progress.MatchString(l) {
			n++
		}
	}
	if n != 1 || lines[0] != "pod/tty created" || !strings.Contains(s, "pod/tty: Running\n") || lines[len(lines)-1] != "pod/tty ready" {
		t.Fatalf("apply --wait screen (one redrawn progress line expected):\n%s", s)
	}
}

// slowInit is a pod whose init container takes 2 s.
func slowInit(name string) string {
	return harness.Pod{Name: name, Grace: 1, NoSharedDir: true,
		Inits:      []harness.Container{{Name: "setup", Command: []string{"sleep", "2"}}},
		Containers: []harness.Container{{Name: "app", Command: []string{"sleep", "3600"}}},
	}.YAML("")
}
