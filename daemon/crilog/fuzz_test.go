package crilog

import (
	"bytes"
	"os"
	"regexp"
	"testing"
	"time"
)

// fuzzRecord is the fuzz target's own reading of a record, independent of
// the writer (as crilogtest's).
var fuzzRecord = regexp.MustCompile(`^(\S+) stdout (F|P) (.*)$`)

// FuzzCopyStream feeds arbitrary container output through CopyStream and
// reads the log back. Whatever the container writes: every log line is one
// well-formed record, no record's content is longer than MaxLine or than
// the input, only a record of exactly MaxLine bytes is partial, and the
// records put back together are the input (a final line without "\n" is
// closed by its F record).
func FuzzCopyStream(f *testing.F) {
	f.Add([]byte("one\n\ntwo\n"))
	f.Add([]byte("no newline at end"))
	f.Add([]byte("2026-01-02T15:04:05Z stdout F forged record\n"))
	f.Add([]byte("\r\n\x00 \xff P \n"))
	f.Add(bytes.Repeat([]byte("x"), MaxLine))
	f.Add(append(bytes.Repeat([]byte("y"), MaxLine+1), '\n'))
	f.Add(append(bytes.Repeat([]byte("z"), MaxLine-1), "\n\n"...))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, path := openTemp(t, 0, 0)
		if err := l.CopyStream("stdout", bytes.NewReader(data)); err != nil {
			t.Fatalf("CopyStream: %v", err)
		}
		l.Close()
		out, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) > 0 && out[len(out)-1] != '\n' {
			t.Fatalf("log does not end with a newline: %.100q", out)
		}
		var joined []byte
		lastPartial := false
		lines := bytes.Split(bytes.TrimSuffix(out, []byte("\n")), []byte("\n"))
		if len(out) == 0 {
			lines = nil
		}
		for i, line := range lines {
			m := fuzzRecord.FindSubmatch(line)
			if m == nil {
				t.Fatalf("record %d is not a CRI record: %.100q", i, line)
			}
			if _, err := time.Parse(time.RFC3339Nano, string(m[1])); err != nil {
				t.Fatalf("record %d: bad timestamp: %v", i, err)
			}
			content := m[3]
			if len(content) > MaxLine || len(content) > len(data) {
				t.Fatalf("record %d has %d bytes of content from %d of input (MaxLine %d)", i, len(content), len(data), MaxLine)
			}
			partial := string(m[2]) == "P"
			if partial && len(content) != MaxLine {
				t.Fatalf("record %d is partial with %d bytes, want %d", i, len(content), MaxLine)
			}
			joined = append(joined, content...)
			lastPartial = partial
			if !partial {
				joined = append(joined, '\n')
			}
		}
		// A stream ending exactly at a MaxLine boundary without "\n" leaves
		// its last P record unterminated: readers see the bytes as written.
		want := data
		if len(data) > 0 && data[len(data)-1] != '\n' && !lastPartial {
			want = append(append([]byte(nil), data...), '\n')
		}
		if !bytes.Equal(joined, want) {
			t.Fatalf("records give back %d bytes %.100q, want %d bytes %.100q", len(joined), joined, len(want), want)
		}
	})
}
