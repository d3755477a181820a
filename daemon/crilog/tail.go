package crilog

import (
	"bytes"
	"io"
	"os"
	"strings"
)

// Tail is the content of the last maxLines lines (at most its last
// maxBytes bytes) of the live log at path, partial records joined and
// records that do not parse skipped; "" when it cannot be read. It is the
// termination message of a failed container with FallbackToLogsOnError
// (R86a). It reads at most what maxLines records of the writer can hold.
func Tail(path string, maxLines, maxBytes int) string {
	data, err := readTail(path, int64(maxLines)*(MaxLine+64))
	if err != nil {
		return ""
	}
	var lines []string
	var cur strings.Builder
	for _, line := range bytes.Split(data, []byte("\n")) {
		rec, ok := parseCRI(line)
		if !ok {
			continue
		}
		cur.Write(rec.content)
		if !rec.partial {
			lines = append(lines, cur.String())
			cur.Reset()
		}
	}
	if cur.Len() > 0 {
		lines = append(lines, cur.String())
	}
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	out := strings.Join(lines, "\n")
	if len(out) > maxBytes {
		out = out[len(out)-maxBytes:]
	}
	return out
}

// readTail reads at most n bytes from the end of a file, starting at a
// line boundary.
func readTail(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(st.Size()-n, 0)
	data := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(data, off); err != nil && err != io.EOF {
		return nil, err
	}
	if off > 0 {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	return data, nil
}
