package imagedir

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// minExpansionBytes and maxExpansionRatio bound what a compressed archive
// may expand to: an image's tar compresses by 2 to 5 times, a zip bomb
// by a thousand. Past the bound the import stops, before containerd's
// content store holds more than that.
const (
	minExpansionBytes = 64 << 20
	maxExpansionRatio = 32
)

// zstdMaxWindow caps the decoder's window, which a hostile frame header
// could otherwise set to gigabytes of memory.
const zstdMaxWindow = 32 << 20

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// ErrTooLarge is an archive that expands past its bound.
var ErrTooLarge = errors.New("the archive expands past its bound")

// decompressed is the tar stream of an archive of size bytes: plain,
// gzip or zstd, told by its first bytes rather than by its name. close
// releases the decoder; tooLarge tells afterwards whether the stream hit
// its bound (the import then failed on a stream cut short, which says
// less than why it was cut).
func decompressed(rd io.Reader, size int64) (tar io.Reader, kind string, close func(), err error) {
	br := bufio.NewReader(rd)
	head, _ := br.Peek(4)
	bound := max(minExpansionBytes, maxExpansionRatio*size)
	switch {
	case len(head) >= 2 && head[0] == gzipMagic[0] && head[1] == gzipMagic[1]:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, "", nil, fmt.Errorf("gzip: %w", err)
		}
		return &boundedReader{r: zr, left: bound}, "gzip", func() { _ = zr.Close() }, nil
	case len(head) == 4 && string(head) == string(zstdMagic):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(zstdMaxWindow), zstd.WithDecoderMaxMemory(uint64(bound)))
		if err != nil {
			return nil, "", nil, fmt.Errorf("zstd: %w", err)
		}
		return &boundedReader{r: zr, left: bound}, "zstd", zr.Close, nil
	}
	return br, "tar", func() {}, nil
}

// boundedReader fails, rather than ends, past its bound: a tar cut short
// would otherwise look like a shorter archive.
type boundedReader struct {
	r    io.Reader
	left int64
	hit  bool
}

// tooLarge reports whether tar, a stream from decompressed, hit its bound.
func tooLarge(tar io.Reader) bool {
	b, ok := tar.(*boundedReader)
	return ok && b.hit
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		b.hit = true
		return 0, ErrTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}
