// Package secopts turns a container's security context and resources into
// OCI spec options: user and groups, runAsNonRoot, capabilities, privileged,
// read-only rootfs, no_new_privs, seccomp, masked /proc paths, sysctls, CPU
// and memory limits, and the pod's cgroup parent. Policy decides at submit
// time what the daemon admits at all.
package secopts

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/containerd/containerd/v2/contrib/seccomp"
	"github.com/containerd/containerd/v2/pkg/oci"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	corev1 "k8s.io/api/core/v1"
)

// DefaultSeccompRoot holds Localhost seccomp profiles (the kubelet's is
// /var/lib/kubelet/seccomp).
const DefaultSeccompRoot = "/var/lib/podrund/seccomp"

// Config holds the host-side settings of the security options.
type Config struct {
	// SeccompRoot is the directory localhostProfile paths are relative to.
	SeccompRoot string
	// OOMScore limits the oom_score_adj given to containers (zero value:
	// no limit, the QoS class's value as is).
	OOMScore OOMScoreLimit
}

// SpecOpts returns the security and resource options of container c with
// the default Config. They must be applied after the image's config
// (oci.WithImageConfig), whose user they override.
func SpecOpts(pod *corev1.Pod, c *corev1.Container, img ocispec.ImageConfig) ([]oci.SpecOpts, error) {
	return Config{}.SpecOpts(pod, c, img)
}

// SpecOpts is the package-level SpecOpts with this Config. Errors (runAsNonRoot
// violated, a bad seccomp profile or sysctl) are meant to become the
// container's CreateContainerConfigError.
func (cfg Config) SpecOpts(pod *corev1.Pod, c *corev1.Container, img ocispec.ImageConfig) ([]oci.SpecOpts, error) {
	sc := effective(pod, c)
	if err := checkNonRoot(pod, c, sc, img); err != nil {
		return nil, err
	}
	opts := userOpts(pod, sc)
	privileged := sc.Privileged != nil && *sc.Privileged
	if privileged {
		opts = append(opts, oci.WithPrivileged, oci.WithHostDevices, oci.WithAllDevicesAllowed)
	} else {
		bounding, err := hostBoundingSet()
		if err != nil {
			return nil, err
		}
		caps, err := capabilitySet(sc.Capabilities, bounding)
		if err != nil {
			return nil, err
		}
		opts = append(opts, oci.WithCapabilities(caps))
		opts = append(opts, procPathOpts(sc.ProcMount)...)
	}
	opts = append(opts, withNoNewPrivileges(noNewPrivs(sc)))
	if sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem {
		opts = append(opts, oci.WithRootFSReadonly())
	}
	if !privileged { // seccomp follows the capabilities it depends on
		so, err := cfg.seccompOpt(sc.SeccompProfile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, so)
	}
	so, err := sysctlOpt(pod)
	if err != nil {
		return nil, err
	}
	opts = append(opts, so)
	opts = append(opts, resourceOpts(pod, c, cfg.OOMScore)...)
	return append(opts, withPodCgroup(pod.UID), withCgroupMount(privileged)), nil
}

// effective merges the pod's and the container's security context; the
// container's fields win (kubelet's DetermineEffectiveSecurityContext).
func effective(pod *corev1.Pod, c *corev1.Container) *corev1.SecurityContext {
	sc := &corev1.SecurityContext{}
	if c.SecurityContext != nil {
		sc = c.SecurityContext.DeepCopy()
	}
	psc := pod.Spec.SecurityContext
	if psc == nil {
		return sc
	}
	// cmp.Or keeps the container's pointer unless it is nil.
	sc.RunAsUser = cmp.Or(sc.RunAsUser, psc.RunAsUser)
	sc.RunAsGroup = cmp.Or(sc.RunAsGroup, psc.RunAsGroup)
	sc.RunAsNonRoot = cmp.Or(sc.RunAsNonRoot, psc.RunAsNonRoot)
	sc.SeccompProfile = cmp.Or(sc.SeccompProfile, psc.SeccompProfile)
	sc.SELinuxOptions = cmp.Or(sc.SELinuxOptions, psc.SELinuxOptions)
	sc.AppArmorProfile = cmp.Or(sc.AppArmorProfile, psc.AppArmorProfile)
	return sc
}

// noNewPrivs is the kubelet's AddNoNewPrivileges: only an explicit
// allowPrivilegeEscalation: false sets no_new_privs, never for privileged.
func noNewPrivs(sc *corev1.SecurityContext) bool {
	if sc.Privileged != nil && *sc.Privileged {
		return false
	}
	return sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation
}

func (cfg Config) seccompOpt(p *corev1.SeccompProfile) (oci.SpecOpts, error) {
	if p == nil || p.Type == corev1.SeccompProfileTypeUnconfined {
		return oci.WithSeccompUnconfined, nil
	}
	switch p.Type {
	case corev1.SeccompProfileTypeRuntimeDefault:
		return seccomp.WithDefaultProfile(), nil
	case corev1.SeccompProfileTypeLocalhost:
		if p.LocalhostProfile == nil || !filepath.IsLocal(*p.LocalhostProfile) {
			return nil, errors.New("seccompProfile: localhostProfile must be a relative path below the seccomp root")
		}
		root := cfg.SeccompRoot
		if root == "" {
			root = DefaultSeccompRoot
		}
		path := filepath.Join(root, *p.LocalhostProfile)
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("seccompProfile: localhost profile: %w", err)
		}
		return seccomp.WithProfile(path), nil
	}
	return nil, fmt.Errorf("seccompProfile: unknown type %q", p.Type)
}
