package eviction

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDiskUsageCountsBlocksNotLengths(t *testing.T) {
	dir := t.TempDir()
	if got, err := DiskUsage(filepath.Join(dir, "missing")); err != nil || got != 0 {
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
	got, err := DiskUsage(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got < 1<<20 || got > 1<<20+256<<10 {
		t.Errorf("usage %d bytes, want about 1 MiB (the full file once, the sparse file's few blocks, no link targets)", got)
	}
}
