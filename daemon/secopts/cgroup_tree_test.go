package secopts

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

// fakeV1Tree lays out a hybrid host's /sys/fs/cgroup (this build host's
// shape): a directory per v1 hierarchy, co-mounted ones behind symlinks,
// and the unified hierarchy under unified/.
func fakeV1Tree(t *testing.T) string {
	root := t.TempDir()
	for _, d := range []string{"blkio", "cpu,cpuacct", "memory", "pids", "systemd", "unified"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"cpu": "cpu,cpuacct", "cpuacct": "cpu,cpuacct"} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestPodCgroupDirsV1(t *testing.T) {
	root := fakeV1Tree(t)
	dirs, err := cgroupTree{root: root}.podCgroupDirs("uid-1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range dirs {
		got = append(got, strings.TrimPrefix(d, root))
	}
	want := []string{"/blkio/podrun/poduid-1", "/cpu,cpuacct/podrun/poduid-1", "/memory/podrun/poduid-1",
		"/pids/podrun/poduid-1", "/systemd/podrun/poduid-1", "/unified/podrun/poduid-1"}
	if !slices.Equal(got, want) {
		t.Fatalf("v1 pod cgroup dirs %v, want %v (each hierarchy once, symlinks skipped)", got, want)
	}
}

func TestPodCgroupDirsV2(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "cgroup.controllers"), []byte("cpu memory pids\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "system.slice"), 0o755); err != nil {
		t.Fatal(err)
	}
	dirs, err := cgroupTree{root: root, unified: true}.podCgroupDirs("uid-2")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(root, "podrun/poduid-2")}; !slices.Equal(dirs, want) {
		t.Fatalf("v2 pod cgroup dirs %v, want %v", dirs, want)
	}
}

// On both layouts the pod's parent and the container cgroups runc left
// below it go; the shared /podrun parent and other pods stay.
func TestRemovePodCgroupFakeTrees(t *testing.T) {
	for name, tree := range map[string]cgroupTree{
		"v1": {root: fakeV1Tree(t)},
		"v2": {root: t.TempDir(), unified: true},
	} {
		t.Run(name, func(t *testing.T) {
			mine, err := tree.podCgroupDirs("mine")
			if err != nil {
				t.Fatal(err)
			}
			other, _ := tree.podCgroupDirs("other")
			for _, d := range append(slices.Clone(mine), other...) {
				if err := os.MkdirAll(filepath.Join(d, "c1", "nested"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := tree.removePodCgroup("mine"); err != nil {
				t.Fatal(err)
			}
			for _, d := range mine {
				if _, err := os.Stat(d); !os.IsNotExist(err) {
					t.Errorf("%s still exists: %v", d, err)
				}
				if _, err := os.Stat(filepath.Dir(d)); err != nil {
					t.Errorf("shared parent %s: %v", filepath.Dir(d), err)
				}
			}
			for _, d := range other {
				if _, err := os.Stat(filepath.Join(d, "c1")); err != nil {
					t.Errorf("other pod's cgroup %s: %v", d, err)
				}
			}
			if err := tree.removePodCgroup("mine"); err != nil {
				t.Errorf("second removal: %v", err)
			}
		})
	}
}

// A cgroup that cannot be removed (here: not empty, as a cgroup with live
// processes is busy) is an error naming it, and the others still go.
func TestRemovePodCgroupReportsBusy(t *testing.T) {
	tree := cgroupTree{root: fakeV1Tree(t)}
	dirs, _ := tree.podCgroupDirs(types.UID("busy"))
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	busy := filepath.Join(tree.root, "memory/podrun/podbusy")
	if err := os.WriteFile(filepath.Join(busy, "tasks"), []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := tree.removePodCgroup("busy")
	if err == nil || !strings.Contains(err.Error(), busy) {
		t.Fatalf("err %v, want one naming %s", err, busy)
	}
	if _, err := os.Stat(filepath.Join(tree.root, "pids/podrun/podbusy")); !os.IsNotExist(err) {
		t.Errorf("the other hierarchies' pod cgroups were kept: %v", err)
	}
}
