package secopts

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/containerd/containerd/v2/pkg/oci"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
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

// TestCgroupMount: every container gets /sys/fs/cgroup (its own cgroup, as
// under CRI), read-only unless privileged; a volume mounted there wins.
func TestCgroupMount(t *testing.T) {
	find := func(s *oci.Spec) []specs.Mount {
		var out []specs.Mount
		for _, m := range s.Mounts {
			if m.Destination == "/sys/fs/cgroup" {
				out = append(out, m)
			}
		}
		return out
	}
	for _, priv := range []bool{false, true} {
		c := &corev1.Container{Name: "app", SecurityContext: &corev1.SecurityContext{Privileged: bp(priv)}}
		opts, err := SpecOpts(basePod(), c, ocispec.ImageConfig{})
		if err != nil {
			t.Fatal(err)
		}
		ms := find(buildSpec(t, opts))
		mode := map[bool]string{false: "ro", true: "rw"}[priv]
		if len(ms) != 1 || ms[0].Type != "cgroup" || !slices.Contains(ms[0].Options, mode) {
			t.Errorf("privileged=%v: cgroup mounts %+v, want one of type cgroup, %s", priv, ms, mode)
		}
	}
	opts, err := SpecOpts(basePod(), &corev1.Container{Name: "app"}, ocispec.ImageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	vol := oci.WithMounts([]specs.Mount{{Destination: "/sys/fs/cgroup", Type: "bind", Source: "/tmp"}})
	if ms := find(buildSpec(t, append([]oci.SpecOpts{vol}, opts...))); len(ms) != 1 || ms[0].Type != "bind" {
		t.Errorf("volume at /sys/fs/cgroup: mounts %+v, want only the volume", ms)
	}
}
