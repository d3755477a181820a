package secopts

import (
	"context"
	"slices"
	"strings"

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
// in add starts from every known capability, "ALL" in drop from none, then
// the named adds, then the named drops.
func capabilitySet(c *corev1.Capabilities) []string {
	set := defaultCapabilities()
	if c == nil {
		return set
	}
	if hasAll(c.Add) {
		set = cap.Known()
	}
	if hasAll(c.Drop) {
		set = nil
	}
	for _, a := range c.Add {
		if n := capName(a); n != "CAP_ALL" && !slices.Contains(set, n) {
			set = append(set, n)
		}
	}
	for _, d := range c.Drop {
		n := capName(d)
		set = slices.DeleteFunc(set, func(s string) bool { return s == n })
	}
	if set == nil {
		set = []string{}
	}
	return set
}

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
