package sandbox

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/types"

	"github.com/podrun/podrun/integration/harness"
)

// podLeftovers lists what the host still holds of pod uid: its namespace
// dir (nsfs bind mounts), any mount naming the uid (volumes, tmpfs, shm,
// netns), its cgroup parent /podrun/pod<uid> in any hierarchy, any process
// in such a cgroup, and its pod dir. Veths are checked by the CNI test,
// which knows its bridge.
func podLeftovers(d *harness.Podrund, uid types.UID) []string {
	var left []string
	u := string(uid)
	for _, p := range []string{filepath.Join(d.State, "sandboxes", u), filepath.Join(d.Root, "pods", u)} {
		if _, err := os.Stat(p); err == nil {
			left = append(left, "dir: "+p)
		}
	}
	if mi, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, l := range strings.Split(string(mi), "\n") {
			if strings.Contains(l, u) {
				left = append(left, "mount: "+l)
			}
		}
	}
	cg, _ := filepath.Glob("/sys/fs/cgroup/*/podrun/pod" + u)
	cg2, _ := filepath.Glob("/sys/fs/cgroup/podrun/pod" + u)
	for _, p := range append(cg, cg2...) {
		left = append(left, "cgroup: "+p)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cgroup")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte("pod"+u)) {
			left = append(left, "process: "+filepath.Dir(p))
		}
	}
	return left
}
