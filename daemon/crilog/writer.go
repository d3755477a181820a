package crilog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Log writes CRI-format records to a size-rotated file:
// "TIMESTAMP STREAM F|P LINE\n". Its methods are safe for the two stream
// copies at once.
type Log struct {
	mu       sync.Mutex
	path     string
	maxBytes int64
	maxFiles int
	f        *os.File
	size     int64
	buf      []byte // the record being written, reused
	now      func() time.Time
}

// Open opens (appends to) the log at path, creating its directory.
func Open(path string, maxBytes int64, maxFiles int) (*Log, error) {
	// Logs are pod data: no other local user may list or read them.
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create log dir: %w", err)
	}
	l := &Log{path: path, maxBytes: maxBytes, maxFiles: maxFiles, now: time.Now}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *Log) open() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("open log %s: %w", l.path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat log %s: %w", l.path, err)
	}
	l.f, l.size = f, st.Size()
	return nil
}

// Close closes the live file.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}

// Write appends one record of stream ("stdout" or "stderr"), rotating
// first when it would not fit. A partial record is a piece of a line
// longer than MaxLine.
func (l *Log) Write(stream string, partial bool, line []byte) error {
	tag := " F "
	if partial {
		tag = " P "
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.now().UTC().AppendFormat(l.buf[:0], time.RFC3339Nano)
	b = append(b, ' ')
	b = append(b, stream...)
	b = append(b, tag...)
	b = append(b, line...)
	b = append(b, '\n')
	l.buf = b
	if l.maxBytes > 0 && l.size > 0 && l.size+int64(len(b)) > l.maxBytes {
		if err := l.rotate(); err != nil {
			return err
		}
	}
	n, err := l.f.Write(b)
	l.size += int64(n)
	if cap(l.buf) > 4*MaxLine {
		l.buf = nil // do not keep a huge record's buffer for good
	}
	return err
}

// rotate shifts <path>.N-1 → .N … <path> → <path>.1, keeping at most
// maxFiles files in all (the live one included).
func (l *Log) rotate() error {
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("close log for rotation: %w", err)
	}
	keep := l.maxFiles - 1
	if keep < 1 {
		if err := os.Truncate(l.path, 0); err != nil {
			return fmt.Errorf("truncate log: %w", err)
		}
		return l.open()
	}
	os.Remove(rotatedPath(l.path, keep))
	for i := keep - 1; i >= 1; i-- {
		os.Rename(rotatedPath(l.path, i), rotatedPath(l.path, i+1))
	}
	if err := os.Rename(l.path, rotatedPath(l.path, 1)); err != nil {
		return fmt.Errorf("rotate log: %w", err)
	}
	return l.open()
}

// CopyStream turns a stream into records until EOF. A write error is
// remembered but reading goes on, so a full disk never blocks the
// container on its stdout.
func (l *Log) CopyStream(stream string, r io.Reader) error {
	br := bufio.NewReaderSize(r, MaxLine)
	var firstErr error
	for {
		line, err := br.ReadSlice('\n')
		partial := errors.Is(err, bufio.ErrBufferFull)
		if len(line) > 0 {
			if !partial {
				line = bytes.TrimSuffix(line, []byte("\n"))
			}
			if werr := l.Write(stream, partial, line); werr != nil && firstErr == nil {
				firstErr = werr
			}
		}
		if err != nil && !partial {
			if errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) {
				return firstErr
			}
			if firstErr == nil {
				firstErr = err
			}
			return firstErr
		}
	}
}
