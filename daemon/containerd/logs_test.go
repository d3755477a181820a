package containerd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podrun/podrun/daemon/crilog"
	"github.com/podrun/podrun/daemon/crilog/crilogtest"
)

var readRecords = crilogtest.ReadRecords

func TestLoggerSpecRoundTrip(t *testing.T) {
	s := LoggerSpec{Path: "/var/lib/podrund/logs/ns_a,b_uid/c/0.log", MaxBytes: 10 << 20, MaxFiles: 5}
	got, err := crilog.ParseSpec(s.String())
	if err != nil || got != s {
		t.Fatalf("crilog.ParseSpec(%q) = %+v, %v", s.String(), got, err)
	}
	if code := LoggerMain([]string{"a", "b"}); code != 2 {
		t.Errorf("LoggerMain with bad argv = %d, want 2", code)
	}
}

func TestTerminationMessage(t *testing.T) {
	dir := t.TempDir()
	termLog := filepath.Join(dir, "termination-log")
	logPath := filepath.Join(dir, "0.log")
	l, err := crilog.Open(logPath, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var in strings.Builder
	for i := range 100 {
		in.WriteString(strings.Repeat("y", i%7) + "\n")
	}
	in.WriteString("last words\n")
	l.CopyStream("stdout", strings.NewReader(in.String()))
	l.Write("stderr", true, []byte("part1-"))
	l.Write("stderr", false, []byte("part2"))
	l.Close()
	labels := map[string]string{labelTermLog: termLog, labelLogPath: logPath,
		labelTermPolicy: "FallbackToLogsOnError"}

	os.WriteFile(termLog, []byte(strings.Repeat("m", 5000)), 0o644)
	if got := terminationMessage(labels, 1); len(got) != maxMessageBytes {
		t.Errorf("message of %d bytes, want truncation to %d", len(got), maxMessageBytes)
	}
	os.WriteFile(termLog, nil, 0o644)
	if got := terminationMessage(labels, 0); got != "" {
		t.Errorf("exit 0 with empty file: message %q, want none (fallback only on failure)", got)
	}
	got := terminationMessage(labels, 2)
	lines := strings.Split(got, "\n")
	if len(lines) != fallbackMaxLines || !strings.HasSuffix(got, "last words\npart1-part2") {
		t.Errorf("fallback: %d lines ending %q, want %d lines ending with the log's last lines",
			len(lines), got[max(0, len(got)-30):], fallbackMaxLines)
	}
	labels[labelTermPolicy] = "File"
	if got := terminationMessage(labels, 2); got != "" {
		t.Errorf("policy File: message %q, want none", got)
	}
}

func TestPodLogsRemovedWithThePod(t *testing.T) {
	r := &Runtime{opts: Options{Root: t.TempDir()}}
	pod := testPod()
	path := r.logPath(pod, "app", 2)
	if want := filepath.Join(r.opts.Root, "logs", "ns_web_uid-1", "app", "2.log"); path != want {
		t.Fatalf("logPath = %s, want %s", path, want)
	}
	l, err := crilog.Open(path, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if err := r.RemovePodLogs(pod); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(r.opts.Root, "logs", "ns_web_uid-1")); !os.IsNotExist(err) {
		t.Fatal("pod log dir still there")
	}
}
