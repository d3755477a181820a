package crilog

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// maxRecordBytes bounds one CRI record read from a log file. The writer
// splits every line into records of at most MaxLine (16 KiB, the
// kubelet's CRI line size) behind a header of about 50 bytes; a longer
// record is not one it wrote (a corrupt or foreign file) and is skipped to
// its newline instead of being buffered. With it, a reader of any log holds
// at most its bufio buffer and one pending record, however long the logical
// lines are.
const maxRecordBytes = MaxLine + 4<<10

// criRecord is one line of a CRI log file:
// "2006-01-02T15:04:05.999999999Z07:00 stdout|stderr F|P CONTENT".
type criRecord struct {
	ts      time.Time
	rawTS   []byte
	stderr  bool
	partial bool
	content []byte
}

// parseCRI parses one record; its slices alias line.
func parseCRI(line []byte) (criRecord, bool) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	tsEnd := bytes.IndexByte(line, ' ')
	if tsEnd < 0 {
		return criRecord{}, false
	}
	rest := line[tsEnd+1:]
	streamEnd := bytes.IndexByte(rest, ' ')
	if streamEnd < 0 {
		return criRecord{}, false
	}
	stream, rest := rest[:streamEnd], rest[streamEnd+1:]
	tag, content := rest, []byte(nil)
	if i := bytes.IndexByte(rest, ' '); i >= 0 {
		tag, content = rest[:i], rest[i+1:]
	}
	stderr, okStream := either(stream, "stdout", "stderr")
	partial, okTag := either(tag, "F", "P")
	if !okStream || !okTag {
		return criRecord{}, false
	}
	rec := criRecord{rawTS: line[:tsEnd], stderr: stderr, partial: partial, content: content}
	ts, err := time.Parse(time.RFC3339Nano, string(rec.rawTS))
	if err != nil {
		return criRecord{}, false
	}
	rec.ts = ts
	return rec, true
}

// either reads a field that has one of two values: whether it is the
// second, and whether it is either at all.
func either(field []byte, first, second string) (isSecond, ok bool) {
	switch string(field) {
	case first:
		return false, true
	case second:
		return true, true
	}
	return false, false
}

// ReadOptions say which lines of a log to write and how: the query
// parameters of the log endpoint.
type ReadOptions struct {
	Follow     bool      // go on until the instance exited and its log is drained
	Timestamps bool      // keep each line's first timestamp
	Tail       *int64    // only the last Tail lines
	Since      time.Time // only lines written at or after it; zero: everything
}

// lineWriter writes records as they come, as the kubelet's log reader
// does: the content of a partial record goes out at once, a full record
// ends the line. No logical line is ever held whole. It also counts the
// lines that pass since, so that a first pass can find where the last
// tailLines start and a second skip the ones before.
type lineWriter struct {
	opts ReadOptions
	out  io.Writer // nil: count only
	// open is whether a stream (0 stdout, 1 stderr) is inside a line: the
	// timestamp prefix goes before a line's first record only.
	open [2]bool
	// done counts the lines ended so far (those passing since); skip is how
	// many are left out before writing starts.
	done, skip int64
}

func (lw *lineWriter) add(rec criRecord) error {
	if !lw.opts.Since.IsZero() && rec.ts.Before(lw.opts.Since) {
		return nil
	}
	s := 0
	if rec.stderr {
		s = 1
	}
	first := !lw.open[s]
	lw.open[s] = rec.partial
	if !rec.partial {
		defer func() { lw.done++ }()
	}
	if lw.out == nil || lw.done < lw.skip {
		return nil
	}
	if first && lw.opts.Timestamps {
		if err := writeAll(lw.out, rec.rawTS, []byte{' '}); err != nil {
			return err
		}
	}
	if rec.partial {
		return writeAll(lw.out, rec.content)
	}
	return writeAll(lw.out, rec.content, []byte{'\n'})
}

// lines is how many lines were seen, one still open counted.
func (lw *lineWriter) lines() int64 {
	n := lw.done
	if lw.open[0] || lw.open[1] {
		n++
	}
	return n
}

func writeAll(w io.Writer, parts ...[]byte) error {
	for _, p := range parts {
		if len(p) == 0 {
			continue
		}
		if _, err := w.Write(p); err != nil {
			return err
		}
	}
	return nil
}

// Streamer reads an instance's log files (Path and its rotated files)
// and writes its lines without the CRI prefix.
type Streamer struct {
	Path    string
	Options ReadOptions
	Poll    time.Duration // how often a followed log is read again
	Exited  func() bool   // follow ends once this is true and the log is drained
	Out     io.Writer
	Flush   func() // called after each pass, when set
	lw      lineWriter
}

// openFile is one log file being read record by record.
type openFile struct {
	f  *os.File
	br *bufio.Reader
	// carry is the start of a record cut by the end of the file, waiting
	// for the writer's next bytes; at most maxRecordBytes.
	carry []byte
	// skipping is set inside a record too long to be one: it is dropped up
	// to its newline.
	skipping bool
}

func openLog(path string) (*openFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &openFile{f: f, br: bufio.NewReaderSize(f, maxRecordBytes)}, nil
}

// rewind starts reading the file from its beginning again.
func (of *openFile) rewind() error {
	if _, err := of.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind log %s: %w", of.f.Name(), err)
	}
	of.br.Reset(of.f)
	of.carry, of.skipping = of.carry[:0], false
	return nil
}

// drain hands every complete record available now to lw.
func (of *openFile) drain(lw *lineWriter) error {
	for {
		chunk, err := of.br.ReadSlice('\n')
		switch {
		case of.skipping:
			// Still inside an overlong record: drop what was read.
		case errors.Is(err, bufio.ErrBufferFull) || len(of.carry)+len(chunk) > maxRecordBytes:
			of.skipping, of.carry = true, of.carry[:0]
		case err == nil && len(of.carry) == 0:
			if rec, ok := parseCRI(chunk); ok {
				if werr := lw.add(rec); werr != nil {
					return werr
				}
			}
		default:
			of.carry = append(of.carry, chunk...)
			if err == nil {
				if rec, ok := parseCRI(of.carry); ok {
					if werr := lw.add(rec); werr != nil {
						return werr
					}
				}
				of.carry = of.carry[:0]
			}
		}
		if err == nil {
			of.skipping = false // a dropped record ends at its newline too
			continue
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		return fmt.Errorf("read log %s: %w", of.f.Name(), err)
	}
}

// Run writes the log; with Follow it goes on until the instance exited
// and its file is drained, or ctx ends.
func (ls *Streamer) Run(ctx context.Context) error {
	ls.lw = lineWriter{opts: ls.Options, out: ls.Out}
	// Every file is opened before any is read: a rotation meanwhile
	// renames them, but the open files stay the ones counted for tail.
	var rotated []*openFile
	var cur *openFile
	defer func() {
		for _, of := range rotated {
			_ = of.f.Close()
		}
		if cur != nil {
			_ = cur.f.Close()
		}
	}()
	paths := Files(ls.Path)
	for _, p := range paths[:len(paths)-1] {
		if of, err := openLog(p); err == nil { // else rotated away meanwhile
			rotated = append(rotated, of)
		}
	}
	var err error
	if cur, err = openLog(ls.Path); err != nil {
		if !os.IsNotExist(err) {
			return fmt.Errorf("open log: %w", err)
		}
		cur = nil
	}
	all := rotated
	if cur != nil {
		all = append(all[:len(all):len(all)], cur)
	}
	if ls.Options.Tail != nil {
		// tailLines without holding lines: count them first, then skip all
		// but the last tailLines on the real pass.
		count := lineWriter{opts: ls.Options}
		for _, of := range all {
			if err := of.drain(&count); err != nil {
				return err
			}
		}
		if skip := count.lines() - *ls.Options.Tail; skip > 0 {
			ls.lw.skip = skip
		}
		for _, of := range all {
			if err := of.rewind(); err != nil {
				return err
			}
		}
	}
	for len(rotated) > 0 {
		of := rotated[0]
		err := of.drain(&ls.lw)
		_ = of.f.Close()
		rotated = rotated[1:]
		if err != nil {
			return err
		}
	}
	for {
		if cur != nil {
			if err := cur.drain(&ls.lw); err != nil {
				return err
			}
		}
		if ls.Flush != nil {
			ls.Flush()
		}
		if !ls.Options.Follow {
			return nil
		}
		if next, isNew := reopenIfRotated(ls.Path, cur); isNew {
			if cur != nil {
				err := cur.drain(&ls.lw) // what was written before the rename
				_ = cur.f.Close()
				if err != nil {
					cur = next
					return err
				}
			}
			cur = next
			continue
		}
		if ls.Exited() {
			if cur != nil {
				return cur.drain(&ls.lw)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(ls.Poll):
		}
	}
}

// reopenIfRotated opens the file now at path when it is not the one cur
// reads (the writer rotated it, or it did not exist yet).
func reopenIfRotated(path string, cur *openFile) (*openFile, bool) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, false
	}
	if cur != nil {
		if ost, err := cur.f.Stat(); err == nil && os.SameFile(st, ost) {
			return nil, false
		}
	}
	next, err := openLog(path)
	if err != nil {
		return nil, false
	}
	return next, true
}
