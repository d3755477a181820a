package sandbox

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"

	gocni "github.com/containerd/go-cni"
	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"
)

// defaultCNIBinDirs are where CNI plugins usually live: the upstream
// location and Debian's containernetworking-plugins.
const defaultCNIBinDirs = "/opt/cni/bin:/usr/lib/cni"

// cniEnabled reports whether pods get a CNI network instead of loopback only.
func (m *Manager) cniEnabled() bool {
	return m.o.CNIConfDir != ""
}

// loadCNI reads the CNI configuration afresh for every pod, so a changed or
// late-written conflist is picked up without restarting podrund.
func (m *Manager) loadCNI() (gocni.CNI, error) {
	c, err := gocni.New(
		gocni.WithPluginConfDir(m.o.CNIConfDir),
		gocni.WithPluginDir(filepath.SplitList(m.o.CNIBinDir)),
		gocni.WithInterfacePrefix("eth"),
	)
	if err != nil {
		return nil, fmt.Errorf("initialise CNI: %w", err)
	}
	if err := c.Load(gocni.WithDefaultConf); err != nil {
		return nil, fmt.Errorf("load CNI configuration from %s: %w", m.o.CNIConfDir, err)
	}
	return c, nil
}

// cniID is the container ID CNI plugins key their state by (IPAM leases,
// portmap chains).
func cniID(pod *corev1.Pod) string { return "podrun-" + string(pod.UID) }

// cniNamespaceOpts passes the pod's identity (as CRI runtimes do) and its
// hostPort mappings (the portmap plugin's capability).
func cniNamespaceOpts(pod *corev1.Pod) []gocni.NamespaceOpts {
	return []gocni.NamespaceOpts{
		gocni.WithLabels(map[string]string{
			"IgnoreUnknown":              "1",
			"K8S_POD_NAMESPACE":          pod.Namespace,
			"K8S_POD_NAME":               pod.Name,
			"K8S_POD_INFRA_CONTAINER_ID": cniID(pod),
			"K8S_POD_UID":                string(pod.UID),
		}),
		gocni.WithCapabilityPortMap(portMappings(pod)),
	}
}

// portMappings collects every hostPort of the pod's containers (sidecars included).
func portMappings(pod *corev1.Pod) []gocni.PortMapping {
	var out []gocni.PortMapping
	add := func(cs []corev1.Container) {
		for _, c := range cs {
			for _, p := range c.Ports {
				if p.HostPort == 0 {
					continue
				}
				proto := strings.ToLower(string(p.Protocol))
				if proto == "" {
					proto = "tcp"
				}
				out = append(out, gocni.PortMapping{
					HostPort:      p.HostPort,
					ContainerPort: p.ContainerPort,
					Protocol:      proto,
					HostIP:        p.HostIP,
				})
			}
		}
	}
	add(pod.Spec.InitContainers)
	add(pod.Spec.Containers)
	return out
}

// cniSetup attaches the pod's network namespace and returns its IPs, IPv4 first.
func (m *Manager) cniSetup(ctx context.Context, pod *corev1.Pod, netns string) ([]string, error) {
	c, err := m.loadCNI()
	if err != nil {
		return nil, err
	}
	res, err := c.Setup(ctx, cniID(pod), netns, cniNamespaceOpts(pod)...)
	if err != nil {
		return nil, fmt.Errorf("set up CNI network of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	var v4, v6 []string
	for _, cfg := range res.Interfaces {
		if cfg.Sandbox == "" {
			continue // host side: the bridge, the veth peer
		}
		for _, ipc := range cfg.IPConfigs {
			if ipc.IP.To4() != nil {
				v4 = append(v4, ipc.IP.String())
			} else if ipc.IP != nil {
				v6 = append(v6, ipc.IP.String())
			}
		}
	}
	return append(v4, v6...), nil
}

// cniTeardown detaches the pod; netns may be "" when the namespace is already
// gone (plugins still release IPAM leases and port mappings).
func (m *Manager) cniTeardown(ctx context.Context, pod *corev1.Pod, netns string) error {
	c, err := m.loadCNI()
	if err != nil {
		return err
	}
	if err := c.Remove(ctx, cniID(pod), netns, cniNamespaceOpts(pod)...); err != nil {
		return fmt.Errorf("tear down CNI network of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// hostIPs returns the host's primary address: the source address of the
// default route, else the first global unicast address (so a CNI bridge
// added later does not become the "host IP").
func hostIPs() []string {
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err == nil {
		for _, r := range routes {
			if r.Dst != nil && !r.Dst.IP.IsUnspecified() {
				continue
			}
			if r.Src != nil {
				return []string{r.Src.String()}
			}
			if ip := firstAddr(r.LinkIndex); ip != "" {
				return []string{ip}
			}
		}
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.IsGlobalUnicast() {
			return []string{ipn.IP.String()}
		}
	}
	return nil
}

func firstAddr(linkIndex int) string {
	link, err := netlink.LinkByIndex(linkIndex)
	if err != nil {
		return ""
	}
	addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if a.IP.IsGlobalUnicast() {
			return a.IP.String()
		}
	}
	return ""
}
