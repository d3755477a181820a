package secopts

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
)

// checkNonRoot refuses to run a container with runAsNonRoot whose user would
// be root or cannot be verified, with the kubelet's messages (verifyRunAsNonRoot).
func checkNonRoot(pod *corev1.Pod, c *corev1.Container, sc *corev1.SecurityContext, img ocispec.ImageConfig) error {
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		return nil
	}
	where := fmt.Sprintf("(pod: %q, container: %s)", pod.Name+"_"+pod.Namespace+"("+string(pod.UID)+")", c.Name)
	if sc.RunAsUser != nil {
		if *sc.RunAsUser == 0 {
			return fmt.Errorf("container's runAsUser breaks non-root policy %s", where)
		}
		return nil
	}
	user := strings.SplitN(img.User, ":", 2)[0]
	if user == "" {
		return fmt.Errorf("container has runAsNonRoot and image will run as root %s", where)
	}
	uid, err := strconv.ParseInt(user, 10, 64)
	if err != nil {
		return fmt.Errorf("container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root %s", user, where)
	}
	if uid == 0 {
		return fmt.Errorf("container has runAsNonRoot and image will run as root %s", where)
	}
	return nil
}

// userOpts sets runAsUser/runAsGroup over the image's user and adds the
// pod's supplementalGroups and fsGroup as supplementary groups.
func userOpts(pod *corev1.Pod, sc *corev1.SecurityContext) []oci.SpecOpts {
	var opts []oci.SpecOpts
	switch {
	case sc.RunAsUser != nil && sc.RunAsGroup != nil:
		opts = append(opts, oci.WithUIDGID(uint32(*sc.RunAsUser), uint32(*sc.RunAsGroup)))
	case sc.RunAsUser != nil:
		// The primary group comes from the image's /etc/passwd (0 if absent).
		opts = append(opts, oci.WithUserID(uint32(*sc.RunAsUser)))
	case sc.RunAsGroup != nil:
		opts = append(opts, withGID(uint32(*sc.RunAsGroup)))
	}
	if groups := podGroups(pod); len(groups) > 0 {
		opts = append(opts, withAdditionalGIDs(groups))
	}
	return opts
}

// podGroups is fsGroup followed by supplementalGroups.
func podGroups(pod *corev1.Pod) []uint32 {
	psc := pod.Spec.SecurityContext
	if psc == nil {
		return nil
	}
	var out []uint32
	if psc.FSGroup != nil {
		out = append(out, uint32(*psc.FSGroup))
	}
	for _, g := range psc.SupplementalGroups {
		out = append(out, uint32(g))
	}
	return out
}

func withGID(gid uint32) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Process == nil {
			s.Process = &specs.Process{}
		}
		s.Process.User.GID = gid
		return nil
	}
}

// withAdditionalGIDs appends groups not already present.
func withAdditionalGIDs(groups []uint32) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Process == nil {
			s.Process = &specs.Process{}
		}
		have := map[uint32]bool{}
		for _, g := range s.Process.User.AdditionalGids {
			have[g] = true
		}
		for _, g := range groups {
			if !have[g] {
				have[g] = true
				s.Process.User.AdditionalGids = append(s.Process.User.AdditionalGids, g)
			}
		}
		return nil
	}
}

func withNoNewPrivileges(on bool) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Process == nil {
			s.Process = &specs.Process{}
		}
		s.Process.NoNewPrivileges = on
		return nil
	}
}
