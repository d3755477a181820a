package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTruncatedStoreIsMovedAside: a store file cut short (its meta page
// names pages past the end of the file) is moved aside instead of
// crashing the process with SIGBUS when bbolt reads the missing pages.
func TestTruncatedStoreIsMovedAside(t *testing.T) {
	ctx := context.Background()
	for _, keep := range []int64{3, 2} { // a third of the file; half of it
		dir := t.TempDir()
		s := openTest(t, dir)
		for i := 0; i < 50; i++ {
			if _, err := s.ConfigMaps().Create(ctx, cm("default", strings.Repeat("x", i+1), strings.Repeat("v", 2000))); err != nil {
				t.Fatal(err)
			}
		}
		_ = s.Close()
		path := filepath.Join(dir, FileName)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkNotTruncated(path); err != nil {
			t.Fatalf("intact store reported: %v", err)
		}
		if err := os.Truncate(path, fi.Size()/keep); err != nil {
			t.Fatal(err)
		}
		if err := checkNotTruncated(path); err == nil || !strings.Contains(err.Error(), "truncated") {
			t.Fatalf("store cut to 1/%d not detected: %v", keep, err)
		}
		s2 := openTest(t, dir)
		if matches, _ := filepath.Glob(path + ".corrupt-*"); len(matches) != 1 {
			t.Fatalf("truncated store not moved aside: %v", matches)
		}
		if _, err := s2.ConfigMaps().Create(ctx, cm("default", "a", "1")); err != nil {
			t.Fatalf("fresh store unusable: %v", err)
		}
		_ = s2.Close()
	}
}
