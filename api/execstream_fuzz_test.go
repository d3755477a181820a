package api

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// FuzzReadFrame reads frames from arbitrary bytes as the server reads a
// client's exec stream. No input may panic ReadFrame or make it return a
// payload over maxFrame; the frames read, written again by FrameWriter,
// are byte for byte the part of the input they came from; and reading
// stops only at a clean end (io.EOF exactly on a frame boundary), a cut
// frame (io.ErrUnexpectedEOF) or an oversized length.
func FuzzReadFrame(f *testing.F) {
	frame := func(stream byte, payload string) []byte {
		b := []byte{stream, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(b[1:], uint32(len(payload)))
		return append(b, payload...)
	}
	f.Add(frame(StreamStdin, "echo hi\n"))
	f.Add(append(frame(StreamResize, `{"width":80,"height":24}`), frame(StreamStdin, "")...))
	f.Add(frame(StreamExit, `{"exitCode":137,"error":"killed"}`))
	f.Add([]byte{StreamStdout, 0, 0, 0, 9, 'c', 'u', 't'})
	f.Add([]byte{StreamStdout, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{StreamStdin, 0, 0x10, 0, 1})
	f.Add([]byte{7, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		var rewritten bytes.Buffer
		fw := NewFrameWriter(&rewritten)
		for {
			before := len(data) - r.Len()
			stream, payload, err := ReadFrame(r)
			if err != nil {
				switch {
				case errors.Is(err, io.EOF):
					if before != len(data) {
						t.Fatalf("io.EOF with %d bytes left", len(data)-before)
					}
				case errors.Is(err, io.ErrUnexpectedEOF):
					if r.Len() != 0 {
						t.Fatalf("cut frame reported with %d bytes left", r.Len())
					}
				default:
					if len(data)-before < 5 || binary.BigEndian.Uint32(data[before+1:]) <= maxFrame {
						t.Fatalf("error %v on a frame whose length is within the limit", err)
					}
				}
				if !bytes.Equal(rewritten.Bytes(), data[:before]) {
					t.Fatalf("frames read give back %q, input was %q", rewritten.Bytes(), data[:before])
				}
				return
			}
			if len(payload) > maxFrame {
				t.Fatalf("payload of %d bytes over the %d limit", len(payload), maxFrame)
			}
			if err := fw.WriteFrame(stream, payload); err != nil {
				t.Fatal(err)
			}
		}
	})
}
