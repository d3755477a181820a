package api

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	fw := NewFrameWriter(&buf)
	big := bytes.Repeat([]byte("x"), maxFrame+10)
	if err := fw.WriteFrame(StreamStdout, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := fw.WriteFrame(StreamStdin, nil); err != nil { // stdin closed
		t.Fatal(err)
	}
	if err := fw.WriteFrame(StreamStderr, big); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		stream byte
		n      int
	}{{StreamStdout, 5}, {StreamStdin, 0}, {StreamStderr, maxFrame}, {StreamStderr, 10}}
	for i, w := range want {
		s, p, err := ReadFrame(&buf)
		if err != nil || s != w.stream || len(p) != w.n {
			t.Fatalf("frame %d: stream %d len %d err %v, want stream %d len %d", i, s, len(p), err, w.stream, w.n)
		}
	}
	if _, _, err := ReadFrame(&buf); !errors.Is(err, io.EOF) {
		t.Errorf("after the last frame: %v, want EOF", err)
	}
}

func TestReadFrameRejectsBadInput(t *testing.T) {
	var hdr [5]byte
	hdr[0] = StreamStdout
	binary.BigEndian.PutUint32(hdr[1:], maxFrame+1)
	if _, _, err := ReadFrame(bytes.NewReader(hdr[:])); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Errorf("oversized frame: %v", err)
	}
	binary.BigEndian.PutUint32(hdr[1:], 10)
	truncated := append(hdr[:], []byte("abc")...)
	if _, _, err := ReadFrame(bytes.NewReader(truncated)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated payload: %v, want ErrUnexpectedEOF", err)
	}
	if _, _, err := ReadFrame(bytes.NewReader(hdr[:2])); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated header: %v", err)
	}
}

// TestStreamWritersDoNotInterleave checks that concurrent stdout and
// stderr writers each produce whole frames.
func TestStreamWritersDoNotInterleave(t *testing.T) {
	var buf bytes.Buffer
	fw := NewFrameWriter(&buf)
	var wg sync.WaitGroup
	for _, s := range []byte{StreamStdout, StreamStderr} {
		w := fw.StreamWriter(s)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				_, _ = w.Write(bytes.Repeat([]byte{'0' + s}, 100))
			}
		}()
	}
	wg.Wait()
	for n := 0; ; n++ {
		s, p, err := ReadFrame(&buf)
		if errors.Is(err, io.EOF) {
			if n != 200 {
				t.Errorf("%d frames, want 200", n)
			}
			return
		}
		if err != nil || !bytes.Equal(p, bytes.Repeat([]byte{'0' + s}, 100)) {
			t.Fatalf("frame %d of stream %d is mixed: %q %v", n, s, p, err)
		}
	}
}
