package sandbox

import (
	"context"
	"path/filepath"
	"slices"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
)

// SpecOpts joins a container to the pod's namespaces and mounts the pod's
// /etc/hosts, /etc/resolv.conf, /etc/hostname and shared /dev/shm. The
// hostname was set when the UTS namespace was created; the spec must not set
// one, because runc refuses a hostname for a joined UTS namespace.
func (m *Manager) SpecOpts(pod *corev1.Pod) ([]oci.SpecOpts, error) {
	dir := m.sandboxDir(pod)
	join := func(t specs.LinuxNamespaceType, file string) oci.SpecOpts {
		return oci.WithLinuxNamespace(specs.LinuxNamespace{Type: t, Path: filepath.Join(dir, file)})
	}
	opts := []oci.SpecOpts{withoutHostname}
	if pod.Spec.HostNetwork {
		opts = append(opts, oci.WithHostNamespace(specs.NetworkNamespace), oci.WithHostNamespace(specs.UTSNamespace))
	} else {
		opts = append(opts, join(specs.NetworkNamespace, "net"), join(specs.UTSNamespace, "uts"))
	}
	shm := filepath.Join(dir, "shm")
	if pod.Spec.HostIPC {
		opts = append(opts, oci.WithHostNamespace(specs.IPCNamespace))
		shm = "/dev/shm"
	} else {
		opts = append(opts, join(specs.IPCNamespace, "ipc"))
	}
	switch {
	case pod.Spec.HostPID:
		opts = append(opts, oci.WithHostNamespace(specs.PIDNamespace))
	case sharesPID(pod):
		opts = append(opts, join(specs.PIDNamespace, "pid"))
	}
	pd := m.podDir(pod)
	bind := func(src, dst string) specs.Mount {
		return specs.Mount{Source: src, Destination: dst, Type: "bind", Options: []string{"rbind", "rprivate", "rw"}}
	}
	mounts := []specs.Mount{
		bind(filepath.Join(pd, "etc-hosts"), "/etc/hosts"),
		bind(filepath.Join(pd, "resolv.conf"), "/etc/resolv.conf"),
		bind(filepath.Join(pd, "hostname"), "/etc/hostname"),
		{Source: shm, Destination: "/dev/shm", Type: "bind", Options: []string{"rbind", "rprivate", "nosuid", "nodev", "noexec", "rw"}},
	}
	return append(opts, withPodMounts(mounts)), nil
}

// withPodMounts adds the pod's mounts unless the container mounts a volume
// at the same place itself (the kubelet then leaves e.g. /etc/hosts to it);
// the runtime's own /dev/shm tmpfs is replaced by the pod's.
func withPodMounts(mounts []specs.Mount) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		for _, pm := range mounts {
			i := slices.IndexFunc(s.Mounts, func(m specs.Mount) bool { return filepath.Clean(m.Destination) == pm.Destination })
			switch {
			case i < 0:
				s.Mounts = append(s.Mounts, pm)
			case s.Mounts[i].Type != "bind": // the runtime default (tmpfs /dev/shm)
				s.Mounts[i] = pm
			}
		}
		return nil
	}
}

func withoutHostname(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
	s.Hostname = ""
	return nil
}
