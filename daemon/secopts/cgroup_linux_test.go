package secopts

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

// TestRemovePodCgroup runs as root against the real cgroup filesystem: the
// pod parent and a container cgroup below it, as runc leaves them, go away.
func TestRemovePodCgroup(t *testing.T) {
	uid := types.UID("cgroup-test-uid")
	dirs, err := podCgroupDirs(uid)
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no cgroup hierarchy found")
	}
	var created []string
	for _, d := range dirs {
		parent := filepath.Dir(d)
		if _, err := os.Stat(parent); os.IsNotExist(err) {
			created = append(created, parent)
		}
		if err := os.MkdirAll(filepath.Join(d, "container1"), 0o755); err != nil {
			t.Fatalf("create cgroup %s: %v", d, err)
		}
	}
	t.Cleanup(func() {
		for _, p := range created {
			_ = os.Remove(p)
		}
	})
	if err := RemovePodCgroup(uid); err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s still exists: %v", d, err)
		}
	}
	if err := RemovePodCgroup(uid); err != nil {
		t.Fatalf("second removal: %v", err)
	}
}
