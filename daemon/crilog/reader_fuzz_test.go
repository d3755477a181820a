package crilog

import (
	"bytes"
	"os"
	"testing"
	"time"
)

// FuzzParseCRI feeds arbitrary lines, as a log file a container's output
// was written into may hold after a crash or by a hostile writer, to the
// reader's record parser, and arbitrary records through the writer
// (Log) and back. parseCRI never panics, never returns content longer
// than its line (content is the line's tail), and reads every record the
// writer wrote exactly as written: content, partial flag and timestamp.
func FuzzParseCRI(f *testing.F) {
	f.Add([]byte("2026-01-02T15:04:05.123456789Z stdout F hello\n"), []byte("hello"), false)
	f.Add([]byte("2026-01-02T15:04:05Z stderr P "), []byte(""), true)
	f.Add([]byte("2026-01-02T15:04:05Z stdout"), []byte("x y  z"), false)
	f.Add([]byte("not a record\n"), []byte("\x00\xff\r"), true)
	f.Add([]byte("9999-99-99T99:99:99Z stdout F x"), []byte("F P stdout"), false)
	f.Fuzz(func(t *testing.T, line, content []byte, partial bool) {
		if rec, ok := parseCRI(line); ok {
			if len(rec.content) > len(line) || !bytes.HasSuffix(bytes.TrimSuffix(line, []byte("\n")), rec.content) {
				t.Fatalf("content %.100q is not the tail of line %.100q", rec.content, line)
			}
			if _, err := time.Parse(time.RFC3339Nano, string(rec.rawTS)); err != nil {
				t.Fatalf("accepted timestamp %q does not parse: %v", rec.rawTS, err)
			}
		}
		if bytes.IndexByte(content, '\n') >= 0 {
			return // the writer splits lines before Write; a record never holds one
		}
		l, path := openTemp(t, 0, 0)
		if err := l.Write("stderr", partial, content); err != nil {
			t.Fatal(err)
		}
		l.Close()
		written, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rec, ok := parseCRI(written)
		if !ok {
			t.Fatalf("reader refused the writer's record %.200q", written)
		}
		if !bytes.Equal(rec.content, content) || rec.partial != partial {
			t.Fatalf("record %.200q read as content %.100q partial %v; want %.100q %v", written, rec.content, rec.partial, content, partial)
		}
	})
}
