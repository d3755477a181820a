package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// criRecord is one line of a CRI log file:
// "2006-01-02T15:04:05.999999999Z07:00 stdout|stderr F|P CONTENT".
type criRecord struct {
	ts      time.Time
	rawTS   string
	partial bool
	content []byte
}

func parseCRI(line []byte) (criRecord, bool) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	parts := bytes.SplitN(line, []byte(" "), 4)
	if len(parts) < 3 {
		return criRecord{}, false
	}
	ts, err := time.Parse(time.RFC3339Nano, string(parts[0]))
	if err != nil {
		return criRecord{}, false
	}
	rec := criRecord{ts: ts, rawTS: string(parts[0]), partial: string(parts[2]) == "P"}
	if len(parts) == 4 {
		rec.content = parts[3]
	}
	return rec, true
}

// logOptions are the query parameters of the log endpoint.
type logOptions struct {
	follow     bool
	timestamps bool
	tail       *int64
	since      time.Time // zero: everything
}

// logLine is one whole line (partial records joined) ready to write.
type logLine struct {
	ts   string
	text []byte
}

// lineAssembler joins partial records into lines and applies since.
type lineAssembler struct {
	since time.Time
	cur   *logLine
}

// add takes a record and returns a completed line, if any.
func (a *lineAssembler) add(rec criRecord) (logLine, bool) {
	if !a.since.IsZero() && rec.ts.Before(a.since) {
		return logLine{}, false
	}
	if a.cur == nil {
		a.cur = &logLine{ts: rec.rawTS}
	}
	a.cur.text = append(a.cur.text, rec.content...)
	if rec.partial {
		return logLine{}, false
	}
	l := *a.cur
	a.cur = nil
	return l, true
}

func writeLine(w io.Writer, l logLine, timestamps bool) error {
	var b bytes.Buffer
	if timestamps {
		b.WriteString(l.ts)
		b.WriteByte(' ')
	}
	b.Write(l.text)
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

// logFiles lists an instance's log with its rotated files, oldest first:
// <attempt>.log.N … <attempt>.log.1, <attempt>.log (the runtime rotates
// logrotate style).
func logFiles(path string) []string {
	matches, _ := filepath.Glob(path + ".*")
	type rotated struct {
		path string
		n    int
	}
	var rs []rotated
	for _, m := range matches {
		n, err := strconv.Atoi(strings.TrimPrefix(m, path+"."))
		if err == nil && n > 0 {
			rs = append(rs, rotated{m, n})
		}
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].n > rs[j].n })
	out := make([]string, 0, len(rs)+1)
	for _, r := range rs {
		out = append(out, r.path)
	}
	return append(out, path)
}

// logStreamer reads an instance's log files and writes its lines.
type logStreamer struct {
	path     string
	opts     logOptions
	poll     time.Duration
	exited   func() bool // follow ends once this is true and the log is drained
	asm      lineAssembler
	tail     []logLine // ring for tailLines before the first write
	tailDone bool
	out      io.Writer
	flush    func()
}

func (ls *logStreamer) emit(l logLine) error {
	if ls.opts.tail != nil && !ls.tailDone {
		ls.tail = append(ls.tail, l)
		if int64(len(ls.tail)) > *ls.opts.tail {
			ls.tail = ls.tail[1:]
		}
		return nil
	}
	return writeLine(ls.out, l, ls.opts.timestamps)
}

// endTail writes the tail kept so far; later lines are written directly.
func (ls *logStreamer) endTail() error {
	if ls.tailDone {
		return nil
	}
	ls.tailDone = true
	for _, l := range ls.tail {
		if err := writeLine(ls.out, l, ls.opts.timestamps); err != nil {
			return err
		}
	}
	ls.tail = nil
	return nil
}

// openFile is one log file being read.
type openFile struct {
	f     *os.File
	br    *bufio.Reader
	carry []byte // an incomplete last line, waiting for its newline
}

func openLog(path string) (*openFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &openFile{f: f, br: bufio.NewReaderSize(f, 64<<10)}, nil
}

// drain reads every complete line available now.
func (ls *logStreamer) drain(of *openFile) error {
	for {
		chunk, err := of.br.ReadBytes('\n')
		if len(chunk) > 0 {
			of.carry = append(of.carry, chunk...)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read log %s: %w", of.f.Name(), err)
		}
		line := of.carry
		of.carry = nil
		if rec, ok := parseCRI(line); ok {
			if l, done := ls.asm.add(rec); done {
				if err := ls.emit(l); err != nil {
					return err
				}
			}
		}
	}
}

// run writes the log; with follow it goes on until the instance exited
// and its file is drained, or ctx ends.
func (ls *logStreamer) run(ctx context.Context) error {
	ls.asm.since = ls.opts.since
	files := logFiles(ls.path)
	for _, p := range files[:len(files)-1] {
		of, err := openLog(p)
		if err != nil {
			continue // rotated away meanwhile
		}
		err = ls.drain(of)
		_ = of.f.Close()
		if err != nil {
			return err
		}
	}
	cur, err := openLog(ls.path)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("open log: %w", err)
	}
	defer func() {
		if cur != nil {
			_ = cur.f.Close()
		}
	}()
	for {
		if cur != nil {
			if err := ls.drain(cur); err != nil {
				return err
			}
		}
		if err := ls.endTail(); err != nil {
			return err
		}
		if ls.flush != nil {
			ls.flush()
		}
		if !ls.opts.follow {
			return nil
		}
		if next, rotated := reopenIfRotated(ls.path, cur); rotated {
			if cur != nil {
				if err := ls.drain(cur); err != nil { // what was written before the rename
					return err
				}
				_ = cur.f.Close()
			}
			cur = next
			continue
		}
		if ls.exited() {
			if cur != nil {
				return ls.drain(cur)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(ls.poll):
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
