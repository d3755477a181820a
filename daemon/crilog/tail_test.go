package crilog

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTailByteLimit(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "0.log")
	l, _ := Open(logPath, 0, 0)
	for range 10 {
		l.Write("stdout", false, []byte(strings.Repeat("z", 500)))
	}
	l.Close()
	if got := Tail(logPath, 80, 2048); len(got) != 2048 {
		t.Fatalf("tail of %d bytes, want 2048", len(got))
	}
}

// Tail reads records with the streaming reader's parser: partial records
// are joined across streams' interleaving as written, lines that are not
// records are skipped, only the last maxLines lines are kept.
func TestTailJoinsPartialsAndSkipsMalformed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	now := time.Now()
	writeRecords(t, path,
		criLine(now, "stdout", "F", "dropped by maxLines"),
		criLine(now, "stdout", "F", "one"),
		"not a record at all\n",
		criLine(now, "stdin", "F", "bad stream"),
		"2024-13-45T99:99:99Z stdout F bad time\n",
		criLine(now, "stderr", "P", "two-"),
		criLine(now, "stderr", "F", "joined"),
		criLine(now, "stdout", "P", "open"),
	)
	if got, want := Tail(path, 3, 1024), "one\ntwo-joined\nopen"; got != want {
		t.Fatalf("Tail = %q, want %q", got, want)
	}
	if got := Tail(filepath.Join(t.TempDir(), "missing.log"), 3, 1024); got != "" {
		t.Fatalf("Tail of a missing log = %q, want empty", got)
	}
}

// A container that floods its log before failing cannot make the
// termination message read the flood: Tail reads at most maxLines
// writer records from the end.
func TestTailOfAFloodIsBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	partialRun(t, path, time.Now(), 4096) // 64 MiB, one open line
	writeRecords(t, path, criLine(time.Now(), "stdout", "F", "end"), criLine(time.Now(), "stderr", "F", "last words"))
	var got string
	alloc := allocated(func() { got = Tail(path, 2, 2048) })
	if !strings.HasSuffix(got, "aaaaend\nlast words") || len(got) != 2048 {
		t.Fatalf("Tail = %d bytes ending %q", len(got), got[max(0, len(got)-30):])
	}
	if alloc > 1<<20 {
		t.Fatalf("Tail of a 64 MiB log allocated %d KiB, want < 1 MiB", alloc>>10)
	}
}
