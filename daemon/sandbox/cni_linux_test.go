package sandbox

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"
)

const (
	testBridge = "prtest0"
	testSubnet = "10.237.0.0/24"
)

// writeBridgeConf writes a bridge + host-local + portmap conflist like the
// ones podrun users configure, with IPAM state kept in the test's directory.
func writeBridgeConf(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	conf := fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "podrun-test",
  "plugins": [
    {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": %q}]], "routes": [{"dst": "0.0.0.0/0"}],
              "dataDir": %q}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}`, testBridge, testSubnet, filepath.Join(dir, "ipam"))
	if err := os.WriteFile(filepath.Join(dir, "10-podrun-test.conflist"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// cleanupHostNetwork removes what the plugins leave behind on purpose for
// the next pod (the bridge, portmap's shared CHAINS) when the test created
// them, and restores ip_forward, which the bridge plugin turns on.
func cleanupHostNetwork(t *testing.T) {
	t.Helper()
	fwd, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	natBefore, _ := exec.Command("iptables", "-t", "nat", "-S").Output()
	t.Cleanup(func() {
		if !strings.Contains(string(natBefore), "CNI-HOSTPORT-DNAT") {
			removePortmapChains(t)
		}
		if l, err := netlink.LinkByName(testBridge); err == nil {
			if err := netlink.LinkDel(l); err != nil {
				t.Errorf("delete test bridge: %v", err)
			}
		}
		if len(fwd) > 0 {
			_ = os.WriteFile("/proc/sys/net/ipv4/ip_forward", fwd, 0o644)
		}
	})
}

func TestCNIBridgeHostPort(t *testing.T) {
	ctx := context.Background()
	cleanupHostNetwork(t)
	m := newTestManager(t, Options{CNIConfDir: writeBridgeConf(t), CNIBinDir: "/nonexistent/bin:/usr/lib/cni"})
	pod := testPod("web")
	pod.UID = "cni-test-pod-uid"
	const hostPort, containerPort = 18937, 8080
	pod.Spec.Containers = []corev1.Container{{Name: "app", Ports: []corev1.ContainerPort{
		{ContainerPort: containerPort, HostPort: hostPort, Protocol: corev1.ProtocolTCP}}}}

	sb, err := m.Ensure(ctx, pod, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Remove(context.Background(), pod) }) // even when the test fails half-way
	_, subnet, _ := net.ParseCIDR(testSubnet)
	if ip := net.ParseIP(sb.PodIP); ip == nil || !subnet.Contains(ip) {
		t.Fatalf("pod IP %q not in %s", sb.PodIP, testSubnet)
	}
	hosts, _ := os.ReadFile(filepath.Join(m.podDir(pod), "etc-hosts"))
	if !strings.Contains(string(hosts), sb.PodIP+"\tweb\n") {
		t.Errorf("etc-hosts lacks the pod IP line:\n%s", hosts)
	}

	ln := serveLineInNetNS(t, sb.NetNSPath, fmt.Sprintf("0.0.0.0:%d", containerPort), "served by the pod\n")
	if len(sb.HostIPs) == 0 {
		t.Fatal("no host IP to dial the hostPort on")
	}
	// The host reaches the pod at its pod IP and through the hostPort.
	for _, addr := range []string{
		net.JoinHostPort(sb.PodIP, fmt.Sprint(containerPort)),
		net.JoinHostPort(sb.HostIPs[0], fmt.Sprint(hostPort)),
	} {
		if got := readLine(t, addr); got != "served by the pod\n" {
			t.Fatalf("%s answered %q", addr, got)
		}
	}

	if err := m.Remove(ctx, pod); err != nil {
		t.Fatal(err)
	}
	ln.Close()
	checkNoCNILeftovers(t, pod)
}

func readLine(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	return line
}

// checkNoCNILeftovers: no veth on the test bridge, no iptables rule naming
// the pod's CNI container ID.
func checkNoCNILeftovers(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	br, err := netlink.LinkByName(testBridge)
	if err == nil {
		links, _ := netlink.LinkList()
		for _, l := range links {
			if l.Attrs().MasterIndex == br.Attrs().Index {
				t.Errorf("interface %s still attached to %s", l.Attrs().Name, testBridge)
			}
		}
	}
	for _, table := range []string{"nat", "filter"} {
		out, err := exec.Command("iptables", "-t", table, "-S").CombinedOutput()
		if err != nil {
			t.Fatalf("iptables -t %s -S: %v: %s", table, err, out)
		}
		if strings.Contains(string(out), cniID(pod)) {
			t.Errorf("iptables %s still mentions %s:\n%s", table, cniID(pod), out)
		}
	}
}

// removePortmapChains deletes portmap's shared nat chains and the rules
// jumping to them.
func removePortmapChains(t *testing.T) {
	t.Helper()
	out, err := exec.Command("iptables", "-t", "nat", "-S").Output()
	if err != nil {
		t.Errorf("iptables -t nat -S: %v", err)
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "-A ") && !strings.HasPrefix(line, "-A CNI-HOSTPORT-") && strings.Contains(line, "-j CNI-HOSTPORT-") {
			args := append([]string{"-t", "nat", "-D"}, splitRule(strings.TrimPrefix(line, "-A "))...)
			if out, err := exec.Command("iptables", args...).CombinedOutput(); err != nil {
				t.Errorf("iptables %v: %v: %s", args, err, out)
			}
		}
	}
	for _, chain := range []string{"CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-MASQ", "CNI-HOSTPORT-SETMARK"} {
		_ = exec.Command("iptables", "-t", "nat", "-F", chain).Run()
		if out, err := exec.Command("iptables", "-t", "nat", "-X", chain).CombinedOutput(); err != nil {
			t.Errorf("delete chain %s: %v: %s", chain, err, out)
		}
	}
}

// splitRule splits an iptables -S rule into arguments, keeping quoted comments whole.
func splitRule(rule string) []string {
	var args []string
	var cur strings.Builder
	quoted := false
	for _, r := range rule {
		switch {
		case r == '"':
			quoted = !quoted
		case r == ' ' && !quoted:
			if cur.Len() > 0 {
				args = append(args, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		args = append(args, cur.String())
	}
	return args
}
