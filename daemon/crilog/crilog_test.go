package crilog

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/daemon/crilog/crilogtest"
)

// TestMain lets the tests run this binary as the shim runs the writer:
// "<exe> cri-logger SPEC" with the streams on fds 3 and 4; as podrund runs
// the shared writer, "<exe> log-writer --state DIR"; and as the local user
// probing it (serve_test.go).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == Command {
		os.Exit(Main(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == ServeCommand {
		os.Exit(ServeMain(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == probeCommand {
		os.Exit(probe(os.Args[2:]))
	}
	os.Exit(m.Run())
}

var readRecords = crilogtest.ReadRecords

// openTemp opens a log 0.log in a directory of the test's own.
func openTemp(t *testing.T, maxBytes int64, maxFiles int) (*Log, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "0.log")
	l, err := Open(path, maxBytes, maxFiles)
	if err != nil {
		t.Fatal(err)
	}
	return l, path
}

func wantRecords(t *testing.T, got, want [][]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d: %.200q", len(got), len(want), got)
	}
	for i := range want {
		if strings.Join(got[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("record %d = %.40q, want %.40q", i, got[i], want[i])
		}
	}
}

func TestFullAndPartialLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c", "0.log")
	l, err := Open(path, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", MaxLine+10)
	if err := l.CopyStream("stdout", strings.NewReader("one\n\ntwo\n"+long+"\nno newline at end")); err != nil {
		t.Fatal(err)
	}
	if err := l.CopyStream("stderr", strings.NewReader("err line\n")); err != nil {
		t.Fatal(err)
	}
	l.Close()
	wantRecords(t, readRecords(t, path), [][]string{
		{"stdout", "F", "one"}, {"stdout", "F", ""}, {"stdout", "F", "two"},
		{"stdout", "P", long[:MaxLine]}, {"stdout", "F", long[MaxLine:]},
		{"stdout", "F", "no newline at end"},
		{"stderr", "F", "err line"},
	})
}

func TestTimestampIsUTCNanoOfTheWrite(t *testing.T) {
	l, path := openTemp(t, 0, 0)
	at := time.Date(2026, 3, 4, 5, 6, 7, 891, time.FixedZone("x", 3600))
	l.now = func() time.Time { return at }
	l.Write("stderr", false, []byte("hi"))
	l.Close()
	data, _ := os.ReadFile(path)
	if want := "2026-03-04T04:06:07.000000891Z stderr F hi\n"; string(data) != want {
		t.Fatalf("record %q, want %q", data, want)
	}
}

func TestAppendsToAnExistingLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	for _, s := range []string{"first", "second"} {
		l, err := Open(path, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		l.Write("stdout", false, []byte(s))
		l.Close()
	}
	wantRecords(t, readRecords(t, path), [][]string{{"stdout", "F", "first"}, {"stdout", "F", "second"}})
}

func TestRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "3.log")
	l, err := Open(path, 200, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if err := l.Write("stdout", false, []byte(strings.Repeat(string(rune('a'+i%26)), 20))); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	for _, p := range []string{path, path + ".1", path + ".2"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatalf("expected %s: %v", p, err)
		}
		if st.Size() > 200 {
			t.Errorf("%s is %d bytes, over the 200 byte limit", p, st.Size())
		}
	}
	if _, err := os.Stat(path + ".3"); !os.IsNotExist(err) {
		t.Errorf("%s.3 exists: more than MaxFiles files kept", path)
	}
	live := readRecords(t, path)
	if last := live[len(live)-1][2]; last != strings.Repeat("n", 20) {
		t.Errorf("last record %q, want the 40th write", last)
	}
	// .1 holds the records just before the live file's first one.
	older := readRecords(t, path+".1")
	prev := older[len(older)-1][2][0]
	if next := live[0][2][0]; next != 'a'+(prev-'a'+1)%26 {
		t.Errorf(".1 ends with %q but the live file starts with %q: records lost or out of order", prev, next)
	}
}

func TestRotationWithOneFileTruncates(t *testing.T) {
	l, path := openTemp(t, 100, 1)
	for _, s := range []string{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "cccccccccccccccccccccccccccccc"} {
		if err := l.Write("stdout", false, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	wantRecords(t, readRecords(t, path), [][]string{{"stdout", "F", "cccccccccccccccccccccccccccccc"}})
	if _, err := os.Stat(path + ".1"); !os.IsNotExist(err) {
		t.Errorf("%s.1 exists with MaxFiles 1", path)
	}
}

func TestSpecRoundTrip(t *testing.T) {
	s := Spec{Path: "/var/lib/podrund/logs/ns_a,b_uid/c/0.log", MaxBytes: 10 << 20, MaxFiles: 5}
	got, err := ParseSpec(s.String())
	if err != nil || got != s {
		t.Fatalf("ParseSpec(%q) = %+v, %v", s.String(), got, err)
	}
	for _, bad := range []string{"", "1,2", "x,2,/p", "1,y,/p", "1,2,"} {
		if _, err := ParseSpec(bad); err == nil {
			t.Errorf("ParseSpec(%q) accepted", bad)
		}
	}
}

func TestMainRefusesBadArguments(t *testing.T) {
	for _, args := range [][]string{nil, {"a", "b"}, {"1,2"}} {
		if code := Main(args); code != 2 {
			t.Errorf("Main(%q) = %d, want 2", args, code)
		}
	}
}

// A stream that never writes a newline (a log bomb) becomes partial
// records of at most MaxLine bytes each, written as the bytes come: the
// writer holds no more than one record however long the line.
func TestEndlessLineSplitIntoBoundedRecords(t *testing.T) {
	l, path := openTemp(t, 0, 0)
	const size = 8 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := l.CopyStream("stdout", io.LimitReader(repeatReader('a'), size)); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	l.Close()
	recs := readRecords(t, path)
	var total int
	for i, r := range recs {
		if len(r[2]) > MaxLine {
			t.Fatalf("record %d holds %d bytes, more than MaxLine %d", i, len(r[2]), MaxLine)
		}
		if i < len(recs)-1 && r[1] != "P" {
			t.Fatalf("record %d of %d has tag %s inside the line", i, len(recs), r[1])
		}
		total += len(r[2])
	}
	if total != size || len(recs) != size/MaxLine {
		t.Fatalf("%d records holding %d bytes, want %d holding %d", len(recs), total, size/MaxLine, size)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Fatalf("writing an 8 MiB line allocated %d KiB", alloc>>10)
	}
}

// repeatReader yields the byte b forever.
type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}
