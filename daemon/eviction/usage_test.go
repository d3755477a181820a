package eviction

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestDiskUsageCountsBlocksNotLengths(t *testing.T) {
	dir := t.TempDir()
	if got, err := DiskUsageUpTo(filepath.Join(dir, "missing"), 0); err != nil || got != 0 {
		t.Fatalf("missing dir: %d, %v", got, err)
	}
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = 1
	}
	if err := os.WriteFile(filepath.Join(dir, "full"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	// A sparse file of 64 MiB length holding nothing.
	f, err := os.Create(filepath.Join(dir, "sparse"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(64 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// A hard link counts once; a symlink to a big file outside is not followed.
	if err := os.Link(filepath.Join(dir, "full"), filepath.Join(dir, "hardlink")); err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "big"), make([]byte, 8<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "big"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "dirlink")); err != nil {
		t.Fatal(err)
	}
	got, err := DiskUsageUpTo(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got < 1<<20 || got > 1<<20+256<<10 {
		t.Errorf("usage %d bytes, want about 1 MiB (the full file once, the sparse file's few blocks, no link targets)", got)
	}
}

// TestDiskUsageUpToStops: the walk ends once past its stop, having counted
// more than it but not the whole tree.
func TestDiskUsageUpToStops(t *testing.T) {
	dir := t.TempDir()
	for i := range 10 {
		if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(i)), make([]byte, 64<<10), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Written zeros are allocated (unlike a hole), 64 KiB each.
	all, err := DiskUsageUpTo(dir, 0)
	if err != nil || all < 640<<10 {
		t.Fatalf("full walk %d, %v", all, err)
	}
	got, err := DiskUsageUpTo(dir, 100<<10)
	if err != nil || got <= 100<<10 || got >= all {
		t.Errorf("walk up to 100 KiB: %d, %v; want past 100 KiB and below the full %d", got, err, all)
	}
	if got, err := DiskUsageUpTo(dir, all); err != nil || got != all {
		t.Errorf("walk up to the total: %d, %v; want all %d", got, err, all)
	}
}

// BenchmarkDiskUsage measures one walk of a tree like a busy cache:
// 100 dirs of 100 files of 4 KiB (10,000 inodes, about 40 MiB), whole
// and up to a 1 MiB limit.
func BenchmarkDiskUsage(b *testing.B) {
	dir := b.TempDir()
	data := make([]byte, 4096)
	for i := range 100 {
		sub := filepath.Join(dir, "d"+strconv.Itoa(i))
		if err := os.Mkdir(sub, 0o755); err != nil {
			b.Fatal(err)
		}
		for j := range 100 {
			if err := os.WriteFile(filepath.Join(sub, strconv.Itoa(j)), data, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("full", func(b *testing.B) {
		for range b.N {
			if n, err := DiskUsageUpTo(dir, 0); err != nil || n < 100*100*4096 {
				b.Fatalf("usage %d, %v", n, err)
			}
		}
	})
	// A pod with a 1 MiB limit that wrote 40 MiB: the walk stops early.
	b.Run("upTo1Mi", func(b *testing.B) {
		for range b.N {
			if n, err := DiskUsageUpTo(dir, 1<<20); err != nil || n <= 1<<20 {
				b.Fatalf("usage %d, %v", n, err)
			}
		}
	})
}
