package api

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Exec streams (POST .../pods/NAME/exec, upgraded with "Upgrade: podrun-exec/1").
//
// After "101 Switching Protocols" both sides exchange frames: one byte of
// stream id, four bytes of big-endian payload length, then the payload.
// Client to server: StreamStdin (an empty payload closes stdin) and
// StreamResize (JSON TerminalSize). Server to client: StreamStdout,
// StreamStderr and, last, StreamExit (JSON ExecExit).
const (
	ExecUpgradeProtocol = "podrun-exec/1"

	StreamStdin  byte = 0
	StreamStdout byte = 1
	StreamStderr byte = 2
	StreamResize byte = 3
	StreamExit   byte = 4
)

// maxFrame bounds a frame so a corrupt length cannot make a reader allocate
// gigabytes.
const maxFrame = 1 << 20

// TerminalSize is the payload of a StreamResize frame.
type TerminalSize struct {
	Width  uint16 `json:"width"`
	Height uint16 `json:"height"`
}

// ExecExit is the payload of the final StreamExit frame.
type ExecExit struct {
	ExitCode int    `json:"exitCode"`
	Error    string `json:"error,omitempty"`
}

// FrameWriter writes frames; safe for concurrent use by the stdout and
// stderr copiers.
type FrameWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewFrameWriter returns a FrameWriter on w.
func NewFrameWriter(w io.Writer) *FrameWriter { return &FrameWriter{w: w} }

// WriteFrame writes one frame, splitting payloads larger than a frame.
func (f *FrameWriter) WriteFrame(stream byte, payload []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		n := len(payload)
		if n > maxFrame {
			n = maxFrame
		}
		var hdr [5]byte
		hdr[0] = stream
		binary.BigEndian.PutUint32(hdr[1:], uint32(n))
		if _, err := f.w.Write(hdr[:]); err != nil {
			return err
		}
		if _, err := f.w.Write(payload[:n]); err != nil {
			return err
		}
		payload = payload[n:]
		if len(payload) == 0 {
			return nil
		}
	}
}

// StreamWriter returns an io.Writer that sends everything as frames of one stream.
func (f *FrameWriter) StreamWriter(stream byte) io.Writer {
	return streamWriter{f: f, stream: stream}
}

type streamWriter struct {
	f      *FrameWriter
	stream byte
}

func (s streamWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if err := s.f.WriteFrame(s.stream, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// ReadFrame reads one frame.
func ReadFrame(r io.Reader) (stream byte, payload []byte, err error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("exec frame of %d bytes exceeds the %d byte limit", n, maxFrame)
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return hdr[0], payload, nil
}
