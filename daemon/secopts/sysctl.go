package secopts

import (
	"context"
	"fmt"
	"strings"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
)

// safeSysctls are the sysctls the kubelet allows without configuration:
// namespaced and unable to affect other pods.
func safeSysctls() []string {
	return []string{
		"kernel.shm_rmid_forced",
		"net.ipv4.ip_local_port_range",
		"net.ipv4.tcp_syncookies",
		"net.ipv4.ping_group_range",
		"net.ipv4.ip_unprivileged_port_start",
		"net.ipv4.ip_local_reserved_ports",
		"net.ipv4.tcp_keepalive_time",
		"net.ipv4.tcp_fin_timeout",
		"net.ipv4.tcp_keepalive_intvl",
		"net.ipv4.tcp_keepalive_probes",
		"net.ipv4.tcp_rmem",
		"net.ipv4.tcp_wmem",
	}
}

// IsSafeSysctl reports whether name is one of the kubelet's safe sysctls.
func IsSafeSysctl(name string) bool {
	name = normalizeSysctl(name)
	for _, s := range safeSysctls() {
		if s == name {
			return true
		}
	}
	return false
}

// normalizeSysctl turns the slash form (net/ipv4/ip_forward) into dots.
func normalizeSysctl(name string) string {
	if !strings.Contains(name, "/") {
		return name
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '/':
			return '.'
		case '.':
			return '/'
		}
		return r
	}, name)
}

// sysctlNamespace is the namespace a sysctl belongs to ("" if none: it
// would change the host and is never allowed in a pod).
func sysctlNamespace(name string) string {
	switch {
	case strings.HasPrefix(name, "net."):
		return "net"
	case strings.HasPrefix(name, "fs.mqueue."):
		return "ipc"
	}
	switch name {
	case "kernel.sem", "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
		"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni":
		return "ipc"
	}
	return ""
}

// sysctlOpt sets the pod's sysctls, refusing those that are not namespaced
// or whose namespace is the host's (hostNetwork, hostIPC).
func sysctlOpt(pod *corev1.Pod) (oci.SpecOpts, error) {
	vals := map[string]string{}
	if psc := pod.Spec.SecurityContext; psc != nil {
		for _, s := range psc.Sysctls {
			name := normalizeSysctl(s.Name)
			switch ns := sysctlNamespace(name); {
			case ns == "":
				return nil, fmt.Errorf("sysctl %q is not namespaced and cannot be set in a pod", s.Name)
			case ns == "net" && pod.Spec.HostNetwork:
				return nil, fmt.Errorf("sysctl %q not allowed with hostNetwork enabled", s.Name)
			case ns == "ipc" && pod.Spec.HostIPC:
				return nil, fmt.Errorf("sysctl %q not allowed with hostIPC enabled", s.Name)
			}
			vals[name] = s.Value
		}
	}
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if len(vals) == 0 {
			return nil
		}
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		if s.Linux.Sysctl == nil {
			s.Linux.Sysctl = map[string]string{}
		}
		for k, v := range vals {
			s.Linux.Sysctl[k] = v
		}
		return nil
	}, nil
}
