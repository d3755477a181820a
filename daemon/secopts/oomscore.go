package secopts

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// capSysResource is CAP_SYS_RESOURCE's bit in a capability set.
const capSysResource = 24

// OOMScoreLimit says how low podrund may set a container's oom_score_adj.
// The kernel refuses to lower a process's oom_score_adj below the one it
// inherited unless the writer holds CAP_SYS_RESOURCE; without it runc
// fails to start the container ("can't get final child's PID from pipe")
// and a Guaranteed pod (-997) never runs. That is the case in LXC and
// other containers and in systemd units with a capability bounding set.
type OOMScoreLimit struct {
	// Restricted is true when podrund lacks CAP_SYS_RESOURCE.
	Restricted bool
	// Floor is podrund's own oom_score_adj: the lowest value a container
	// gets when Restricted (containerd's CRI restrict_oom_score_adj rule).
	Floor int
}

// Clamp is adj raised to the floor when restricted.
func (l OOMScoreLimit) Clamp(adj int) int {
	if l.Restricted && adj < l.Floor {
		return l.Floor
	}
	return adj
}

// String describes the limit for the log and /readyz?verbose.
func (l OOMScoreLimit) String() string {
	if !l.Restricted {
		return "oom_score_adj: set from the QoS class (CAP_SYS_RESOURCE held)"
	}
	return fmt.Sprintf("oom_score_adj: clamped to at least %d, podrund's own (no CAP_SYS_RESOURCE)", l.Floor)
}

// DetectOOMScoreLimit reads podrund's effective capabilities and its own
// oom_score_adj. If the check itself fails it returns, with the error,
// the clamp to podrund's default 0: a pod that starts with a higher score
// beats a Guaranteed pod runc cannot start.
func DetectOOMScoreLimit() (OOMScoreLimit, error) {
	return detectOOMScoreLimit(func() (bool, error) { return hasEffectiveCap(capSysResource) }, "/proc/self/oom_score_adj")
}

func detectOOMScoreLimit(holdsSysResource func() (bool, error), ownAdjPath string) (OOMScoreLimit, error) {
	assumed := OOMScoreLimit{Restricted: true}
	held, err := holdsSysResource()
	if err != nil {
		return assumed, err
	}
	if held {
		return OOMScoreLimit{}, nil
	}
	floor, err := readOOMScoreAdj(ownAdjPath)
	if err != nil {
		return assumed, err
	}
	return OOMScoreLimit{Restricted: true, Floor: floor}, nil
}

func hasEffectiveCap(bit uint) (bool, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false, fmt.Errorf("capget: %w", err)
	}
	return data[bit/32].Effective&(1<<(bit%32)) != 0, nil
}

func readOOMScoreAdj(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read own oom_score_adj: %w", err)
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || v < -1000 || v > 1000 {
		return 0, fmt.Errorf("%s: %q is not an oom_score_adj", path, strings.TrimSpace(string(data)))
	}
	return v, nil
}
