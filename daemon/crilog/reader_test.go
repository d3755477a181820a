package crilog

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/daemon/crilog/crilogtest"
)

var criLine = crilogtest.Line

// writeRecords writes CRI records to path as the writer would.
func writeRecords(t *testing.T, path string, recs ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, r := range recs {
		if _, err := f.WriteString(r); err != nil {
			t.Fatal(err)
		}
	}
}

// partialRun writes n partial records of MaxLine bytes each.
func partialRun(t testing.TB, path string, ts time.Time, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rec := []byte(criLine(ts, "stdout", "P", strings.Repeat("a", MaxLine)))
	for i := 0; i < n; i++ {
		if _, err := f.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
}

// countingWriter counts bytes and keeps only the last few.
type countingWriter struct {
	n    int64
	last []byte
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	w.last = append(w.last, p...)
	if len(w.last) > 256 {
		w.last = append(w.last[:0], w.last[len(w.last)-256:]...)
	}
	return len(p), nil
}

func readLog(t *testing.T, path string, opts ReadOptions, out io.Writer) {
	t.Helper()
	ls := &Streamer{Path: path, Options: opts, Poll: time.Millisecond, Out: out, Exited: func() bool { return true }}
	if err := ls.Run(context.Background()); err != nil {
		t.Fatalf("read log: %v", err)
	}
}

// allocated is how many bytes f allocates on the heap.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A 64 MiB run of partial records that never ends is written out as it
// is read, and reading it allocates a bounded amount however long the run.
// Before, the reader joined the records into one line in memory and wrote
// nothing until a full record came.
func TestLogHugePartialRunStreamed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	const records = 4096 // 64 MiB
	partialRun(t, path, time.Now(), records)
	var out countingWriter
	alloc := allocated(func() { readLog(t, path, ReadOptions{}, &out) })
	if want := int64(records * MaxLine); out.n != want {
		t.Fatalf("wrote %d bytes of an unterminated run, want all %d", out.n, want)
	}
	if alloc > 4<<20 {
		t.Fatalf("reading a 64 MiB partial run allocated %d MiB, want < 4 MiB", alloc>>20)
	}
}

// The same run followed while it is written reaches the client before any
// newline is written.
func TestLogFollowPartialRunArrivesBeforeNewline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	partialRun(t, path, time.Now(), 1)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	exited := make(chan struct{})
	ls := &Streamer{Path: path, Options: ReadOptions{Follow: true}, Poll: time.Millisecond, Out: pw,
		Exited: func() bool {
			select {
			case <-exited:
				return true
			default:
				return false
			}
		}}
	go func() { done <- ls.Run(context.Background()); _ = pw.Close() }()
	buf := make([]byte, MaxLine)
	if _, err := io.ReadFull(pr, buf); err != nil {
		t.Fatalf("first partial record: %v", err)
	}
	partialRun(t, path, time.Now(), 2)
	if _, err := io.ReadFull(pr, make([]byte, 2*MaxLine)); err != nil {
		t.Fatalf("later partial records: %v", err)
	}
	writeRecords(t, path, criLine(time.Now(), "stdout", "F", "end"))
	close(exited)
	rest, _ := io.ReadAll(pr)
	if string(rest) != "end\n" {
		t.Fatalf("end of the line: %q", rest)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// tailLines counts logical lines (partial records joined) without holding
// them: the last lines come out whole after a 32 MiB line, and reading
// allocates a bounded amount.
func TestLogTailOverHugeLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	now := time.Now()
	writeRecords(t, path, criLine(now, "stdout", "F", "first"))
	partialRun(t, path, now, 2048)
	writeRecords(t, path, criLine(now, "stdout", "F", "huge-end"), criLine(now, "stdout", "F", "last"))
	for _, tc := range []struct {
		tail    int64
		wantLen int64
		suffix  string
	}{
		{1, 5, "last\n"},
		{2, 2048*MaxLine + int64(len("huge-end\nlast\n")), "aaaahuge-end\nlast\n"},
		{0, 0, ""},
		{100, 2048*MaxLine + int64(len("first\nhuge-end\nlast\n")), "huge-end\nlast\n"},
	} {
		tail := tc.tail
		var out countingWriter
		alloc := allocated(func() { readLog(t, path, ReadOptions{Tail: &tail}, &out) })
		if out.n != tc.wantLen || !bytes.HasSuffix(out.last, []byte(tc.suffix)) {
			t.Errorf("tailLines=%d: %d bytes ending %q, want %d ending %q", tc.tail, out.n, out.last, tc.wantLen, tc.suffix)
		}
		if alloc > 4<<20 {
			t.Errorf("tailLines=%d over a 32 MiB line allocated %d MiB, want < 4 MiB", tc.tail, alloc>>20)
		}
	}
}

// An unterminated huge line is still the last line for tailLines=1.
func TestLogTailOpenLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	now := time.Now()
	writeRecords(t, path, criLine(now, "stdout", "F", "done"), criLine(now, "stdout", "P", "open-"), criLine(now, "stdout", "P", "line"))
	one := int64(1)
	var out bytes.Buffer
	readLog(t, path, ReadOptions{Tail: &one}, &out)
	if out.String() != "open-line" {
		t.Fatalf("tail of an open line: %q", out.String())
	}
}

// Malformed records are skipped without buffering them: a record longer
// than any the writer makes (no newline for 1 MiB), garbage, an unknown
// stream or tag; the records around them come out.
func TestLogMalformedRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	now := time.Now()
	writeRecords(t, path,
		criLine(now, "stdout", "F", "before"),
		criLine(now, "stdout", "F", strings.Repeat("x", 1<<20)), // no writer makes this
		"not a record at all\n",
		"\n",
		criLine(now, "stdin", "F", "bad stream"),
		criLine(now, "stdout", "X", "bad tag"),
		"2024-13-45T99:99:99Z stdout F bad time\n",
		criLine(now, "stdout", "F", "")[:len(criLine(now, "stdout", "F", ""))-2]+"\n", // "TS stdout F\n": empty line
		criLine(now, "stderr", "F", "after"),
	)
	var out bytes.Buffer
	alloc := allocated(func() { readLog(t, path, ReadOptions{}, &out) })
	if out.String() != "before\n\nafter\n" {
		t.Fatalf("malformed log read as %q", out.String())
	}
	if alloc > 512<<10 {
		t.Fatalf("skipping a 1 MiB record allocated %d KiB", alloc>>10)
	}
}

// A record cut by the end of the file (the writer mid-write) is completed
// by the next read, and timestamps go once before each line, not before
// each partial record.
func TestLogCutRecordAndTimestamps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	ts := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	full := criLine(ts, "stdout", "P", "one-") + criLine(ts, "stdout", "F", "two")
	writeRecords(t, path, full[:len(full)-3])
	of, err := openLog(path)
	if err != nil {
		t.Fatal(err)
	}
	defer of.f.Close()
	var out bytes.Buffer
	lw := lineWriter{opts: ReadOptions{Timestamps: true}, out: &out}
	if err := of.drain(&lw); err != nil {
		t.Fatal(err)
	}
	writeRecords(t, path, full[len(full)-3:])
	if err := of.drain(&lw); err != nil {
		t.Fatal(err)
	}
	want := "2026-01-02T03:04:05.000000006Z one-two\n"
	if out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
}

// BenchmarkLogReadPartialRun reads a 64 MiB run of partial records, the
// shape of a log bomb, and reports the reader's throughput.
func BenchmarkLogReadPartialRun(b *testing.B) {
	path := filepath.Join(b.TempDir(), "0.log")
	partialRun(b, path, time.Now(), 4096)
	b.SetBytes(4096 * MaxLine)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ls := &Streamer{Path: path, Poll: time.Millisecond, Out: io.Discard, Exited: func() bool { return true }}
		if err := ls.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
