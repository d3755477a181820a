package ops

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/integration/harness"
)

// screen runs podctl in a fresh tmux pane of width×height (a real pty) and
// returns what the pane shows once podctl has exited, trailing blanks cut.
func screen(t *testing.T, c *harness.Client, width, height int, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatalf("tmux is needed to check terminal output (apt-get install tmux): %v", err)
	}
	dir, err := os.MkdirTemp("", "tmux")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "s")
	full := append([]string{c.Env.Bins.Podctl, "--socket", c.Daemon.Socket, "-n", c.NS}, args...)
	const end = "__PODCTL_DONE__"
	shell := fmt.Sprintf("%s; echo %s $?; sleep 600", shellQuote(full), end)
	tm := func(ctx context.Context, a ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "tmux", append([]string{"-S", sock}, a...)...)
		cmd.Env = append(os.Environ(), "TERM=xterm-256color")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := tm(ctx, "new-session", "-d", "-x", fmt.Sprint(width), "-y", fmt.Sprint(height), shell); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	// Our own server on our own socket: kill-server ends only it.
	defer func() { _, _ = tm(context.Background(), "kill-server") }()
	var shown string
	for {
		out, err := tm(ctx, "capture-pane", "-p")
		if err != nil {
			t.Fatalf("tmux capture-pane: %v: %s", err, out)
		}
		if i := strings.Index(out, end); i >= 0 {
			shown = out[:i]
			if !strings.HasPrefix(out[i:], end+" 0") {
				t.Fatalf("podctl %s failed in the pty:\n%s", strings.Join(args, " "), out)
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("podctl %s did not finish in the pty; screen:\n%s", strings.Join(args, " "), out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return trimLines(shown)
}

func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// trimLines cuts trailing blanks of every line and trailing empty lines,
// as a screen shows them.
func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}
