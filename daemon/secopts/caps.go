package secopts

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/cap"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
)

// defaultCapabilities is the set containerd (and Docker, CRI-O) give a
// container that asks for nothing (containerd's oci.defaultUnixCaps).
func defaultCapabilities() []string {
	return []string{
		"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
		"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
		"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
	}
}

func capName(c corev1.Capability) string {
	n := strings.ToUpper(string(c))
	if !strings.HasPrefix(n, "CAP_") {
		n = "CAP_" + n
	}
	return n
}

func hasAll(cs []corev1.Capability) bool {
	return slices.ContainsFunc(cs, func(c corev1.Capability) bool { return strings.EqualFold(string(c), "ALL") })
}

// capabilitySet applies add/drop over the default set in CRI order: "ALL"
// in add starts from every capability of the host's bounding set, "ALL" in
// drop from none, then the named adds, then the named drops. bounding is
// what runc can grant on this host: "ALL" means all of it (a host without
// CAP_SYS_RESOURCE, as a container host often is, still runs an "ALL"
// container), while a named capability outside it is an
// UnavailableCapabilitiesError rather than an opaque runc failure.
func capabilitySet(c *corev1.Capabilities, bounding []string) ([]string, error) {
	set := slices.DeleteFunc(defaultCapabilities(), func(s string) bool { return !slices.Contains(bounding, s) })
	if c == nil {
		return set, nil
	}
	if hasAll(c.Add) {
		set = slices.Clone(bounding)
	}
	if hasAll(c.Drop) {
		set = nil
	}
	var missing []string
	for _, a := range c.Add {
		n := capName(a)
		switch {
		case n == "CAP_ALL" || slices.Contains(set, n):
		case !slices.Contains(bounding, n):
			missing = append(missing, n)
		default:
			set = append(set, n)
		}
	}
	if len(missing) > 0 {
		return nil, &UnavailableCapabilitiesError{Capabilities: missing}
	}
	for _, d := range c.Drop {
		n := capName(d)
		set = slices.DeleteFunc(set, func(s string) bool { return s == n })
	}
	if set == nil {
		set = []string{}
	}
	return set, nil
}

// UnavailableCapabilitiesError is a container asking by name for
// capabilities the host's bounding set lacks. The runtime reports it as
// the container's CreateContainerError, the reason runc's refusal would
// have had under the kubelet.
type UnavailableCapabilitiesError struct {
	Capabilities []string
}

func (e *UnavailableCapabilitiesError) Error() string {
	verb := "is"
	if len(e.Capabilities) > 1 {
		verb = "are"
	}
	return fmt.Sprintf("capabilities.add: %s %s not in the host's capability bounding set",
		strings.Join(e.Capabilities, ", "), verb)
}

// hostBoundingSet is podrund's capability bounding set, read once: the
// most any container it starts can hold.
var hostBoundingSet = sync.OnceValues(func() ([]string, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return nil, fmt.Errorf("read capability bounding set: %w", err)
	}
	defer f.Close()
	sets, err := cap.ParseProcPIDStatus(f)
	if err != nil {
		return nil, fmt.Errorf("read capability bounding set: %w", err)
	}
	names, _ := cap.FromBitmap(sets[cap.Bounding])
	return names, nil
})

// procPathOpts keeps the default masked and read-only /proc and /sys paths,
// or clears them for procMount: Unmasked.
func procPathOpts(pm *corev1.ProcMountType) []oci.SpecOpts {
	if pm != nil && *pm == corev1.UnmaskedProcMount {
		return []oci.SpecOpts{oci.WithMaskedPaths(nil), oci.WithReadonlyPaths(nil)}
	}
	return []oci.SpecOpts{withDefaultMaskedPaths}
}

// withDefaultMaskedPaths sets the default lists explicitly, so the result
// does not depend on how the base spec was generated.
func withDefaultMaskedPaths(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	s.Linux.MaskedPaths = []string{
		"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
		"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
	}
	s.Linux.ReadonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
	return nil
}
