package secopts

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/containerd/cgroups/v3"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	"k8s.io/apimachinery/pkg/types"
)

// cgroupRoot is where cgroup hierarchies are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// PodCgroupParent is the cgroup (cgroupfs driver notation) every container of
// the pod is placed under: /podrun/pod<uid>.
func PodCgroupParent(uid types.UID) string {
	return "/podrun/pod" + string(uid)
}

// withPodCgroup places the container at /podrun/pod<uid>/<containerID>. The
// container ID is only known when the spec is generated, hence an opt.
// runc creates the intermediate cgroups on v1 and v2 (enabling controllers
// in the parents' subtree_control on v2).
func withPodCgroup(uid types.UID) oci.SpecOpts {
	return func(ctx context.Context, cl oci.Client, c *containers.Container, s *oci.Spec) error {
		if c == nil || c.ID == "" {
			return errors.New("cgroup path: container ID unknown")
		}
		return oci.WithCgroup(PodCgroupParent(uid)+"/"+c.ID)(ctx, cl, c, s)
	}
}

// withCgroupMount mounts the container's own cgroup at /sys/fs/cgroup, as
// containerd's CRI plugin does: containerd's default spec has no cgroup
// mount, so without it a process cannot see its limits (cpu.shares,
// memory.limit_in_bytes / cpu.max, memory.max) the way it can under the
// kubelet. Read-only unless privileged; a volume mounted there wins.
func withCgroupMount(privileged bool) oci.SpecOpts {
	return func(ctx context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		for _, m := range s.Mounts {
			if filepath.Clean(m.Destination) == cgroupRoot {
				return nil
			}
		}
		mode := "ro"
		if privileged {
			mode = "rw"
		}
		s.Mounts = append(s.Mounts, specs.Mount{Destination: cgroupRoot, Type: "cgroup", Source: "cgroup",
			Options: []string{"nosuid", "noexec", "nodev", "relatime", mode}})
		return nil
	}
}

// cgroupTree is a cgroup file system: where it is mounted and whether it is
// the unified (v2) hierarchy alone. Tests point it at a temp dir shaped
// like /sys/fs/cgroup.
type cgroupTree struct {
	root    string
	unified bool
}

// hostCgroups is the host's /sys/fs/cgroup; containerd's cgroups package
// tells its mode (Legacy and Hybrid hosts keep the controllers on v1).
func hostCgroups() (cgroupTree, error) {
	switch cgroups.Mode() {
	case cgroups.Unavailable:
		return cgroupTree{}, fmt.Errorf("no cgroup file system is mounted at %s", cgroupRoot)
	case cgroups.Unified:
		return cgroupTree{root: cgroupRoot, unified: true}, nil
	}
	return cgroupTree{root: cgroupRoot}, nil
}

// podCgroupDirs lists the directories of the pod's cgroup parent in every
// mounted hierarchy of the host.
func podCgroupDirs(uid types.UID) ([]string, error) {
	tree, err := hostCgroups()
	if err != nil {
		return nil, err
	}
	return tree.podCgroupDirs(uid)
}

// podCgroupDirs lists the pod's cgroup parent in the unified hierarchy on
// v2, and in each hierarchy mounted below the root on v1 (the controllers'
// and, on hybrid hosts, the unified one runc also uses). Symlinks such as
// cpu -> cpu,cpuacct name a hierarchy already listed.
func (t cgroupTree) podCgroupDirs(uid types.UID) ([]string, error) {
	rel := PodCgroupParent(uid)
	if t.unified {
		return []string{filepath.Join(t.root, rel)}, nil
	}
	entries, err := os.ReadDir(t.root)
	if err != nil {
		return nil, fmt.Errorf("list cgroup hierarchies: %w", err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join(t.root, e.Name(), rel))
		}
	}
	return dirs, nil
}

// RemovePodCgroup removes the pod's cgroup parent in every hierarchy (the
// shared /podrun parent stays for other pods). runc removes a
// container's own cgroup when it is deleted, but not the parents it created.
// The pod's containers must be gone; a cgroup still in use is an error.
func RemovePodCgroup(uid types.UID) error {
	tree, err := hostCgroups()
	if err != nil {
		return err
	}
	return tree.removePodCgroup(uid)
}

func (t cgroupTree) removePodCgroup(uid types.UID) error {
	dirs, err := t.podCgroupDirs(uid)
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range dirs {
		if err := removeCgroupTree(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeCgroupTree removes d and any (empty) child cgroups, deepest first.
// cgroup directories are removed with rmdir; their files cannot be unlinked.
func removeCgroupTree(d string) error {
	entries, err := os.ReadDir(d)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("read cgroup %s: %w", d, err)
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := removeCgroupTree(filepath.Join(d, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := unix.Rmdir(d); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove cgroup %s: %w", d, err)
	}
	return nil
}
