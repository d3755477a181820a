package bench

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestFileWatchSeesCreation(t *testing.T) {
	dir := t.TempDir()
	w, err := watchDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	before := time.Now()
	if err := os.WriteFile(filepath.Join(dir, "x.term"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	at, err := w.wait(ctx, "x.term")
	if err != nil {
		t.Fatal(err)
	}
	if at.Before(before) || at.Sub(before) > time.Second {
		t.Fatalf("seen at %v, created at %v", at, before)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, err := w.wait(short, "never"); err == nil {
		t.Fatal("wait for a file that never appears returned no error")
	}
}
