// Package crilogtest reads CRI-format log files in tests, with a parser of
// its own so that the writer under test is not checked by its own reader.
package crilogtest

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

var criLine = regexp.MustCompile(`^(\S+) (stdout|stderr) (F|P) (.*)$`)

// ReadRecords parses the CRI log at path into [stream, tag, content]
// records, failing the test on a line that is not CRI format or has a bad
// RFC 3339 timestamp.
func ReadRecords(t testing.TB, path string) [][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var recs [][]string
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if line == "" {
			continue
		}
		m := criLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("not a CRI log line: %q", line)
		}
		if _, err := time.Parse(time.RFC3339Nano, m[1]); err != nil {
			t.Fatalf("bad timestamp in %q: %v", line, err)
		}
		recs = append(recs, m[2:])
	}
	return recs
}

// Line is one CRI record as the writer makes it, stamped ts: for tests
// that need records of a chosen time or malformed neighbours.
func Line(ts time.Time, stream, tag, content string) string {
	return fmt.Sprintf("%s %s %s %s\n", ts.UTC().Format(time.RFC3339Nano), stream, tag, content)
}
