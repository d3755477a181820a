package sandbox

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Test network: a bridge of its own on a private subnet nothing else uses.
const (
	testBridge  = "prsbx0"
	testSubnet  = "10.199.77.0/24"
	testGateway = "10.199.77.1"
)

// portmapChains are the shared chains the portmap plugin creates once and
// never removes; the test removes them if they were not there before.
var portmapChains = []string{"CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-SETMARK", "CNI-HOSTPORT-MASQ"}

// cniNetwork writes a bridge + host-local + portmap conflist (IPAM leases
// in its own dir) and returns the conf dir and the lease dir. At cleanup
// it removes the bridge and the portmap chains it caused.
func cniNetwork(t *testing.T) (confDir, leaseDir string) {
	t.Helper()
	dir := t.TempDir()
	confDir, leaseDir = filepath.Join(dir, "net.d"), filepath.Join(dir, "ipam")
	conf := fmt.Sprintf(`{"cniVersion": "1.0.0", "name": "podrun-sandbox-test", "plugins": [
  {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": %q, "gateway": %q}]],
            "routes": [{"dst": "0.0.0.0/0"}], "dataDir": %q}},
  {"type": "portmap", "capabilities": {"portMappings": true}}
]}`, testBridge, testSubnet, testGateway, leaseDir)
	if err := os.MkdirAll(confDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(confDir, "10-podrun-test.conflist"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	before := natRules(t)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "link", "del", testBridge).CombinedOutput(); err != nil &&
			!strings.Contains(string(out), "Cannot find") {
			t.Errorf("remove test bridge: %v %s", err, out)
		}
		removeNewPortmapChains(t, before)
	})
	return confDir, leaseDir
}

func natRules(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("iptables", "-w", "-t", "nat", "-S").CombinedOutput()
	if err != nil {
		t.Fatalf("iptables -t nat -S: %v %s", err, out)
	}
	return string(out)
}

// removeNewPortmapChains deletes the jumps into, and then the portmap
// chains that did not exist in before.
func removeNewPortmapChains(t *testing.T, before string) {
	for _, chain := range portmapChains {
		if strings.Contains(before, "-N "+chain+"\n") {
			continue
		}
		for _, rule := range strings.Split(natRules(t), "\n") {
			if strings.HasPrefix(rule, "-A ") && strings.Contains(rule, "-j "+chain) {
				// -S prints rules shell-quoted (comments have spaces).
				cmd := "iptables -w -t nat -D " + strings.TrimPrefix(rule, "-A ")
				if out, err := exec.Command("sh", "-c", cmd).CombinedOutput(); err != nil {
					t.Errorf("%s: %v %s", cmd, err, out)
				}
			}
		}
	}
	for _, chain := range portmapChains {
		if strings.Contains(before, "-N "+chain+"\n") {
			continue
		}
		_ = exec.Command("iptables", "-w", "-t", "nat", "-F", chain).Run()
		_ = exec.Command("iptables", "-w", "-t", "nat", "-X", chain).Run()
	}
}

// hostAddress is an IPv4 address of the host that is neither loopback nor
// on the test bridge: what a client elsewhere would dial for a hostPort.
func hostAddress(t *testing.T) string {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 || i.Flags&net.FlagUp == 0 || i.Name == testBridge || strings.HasPrefix(i.Name, "veth") {
			continue
		}
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsGlobalUnicast() {
				return n.IP.String()
			}
		}
	}
	t.Fatal("no non-loopback IPv4 address on the host")
	return ""
}

// bridgeVeths lists the interfaces enslaved to the test bridge.
func bridgeVeths(t *testing.T) string {
	out, _ := exec.Command("ip", "-o", "link", "show", "master", testBridge).CombinedOutput()
	if strings.Contains(string(out), "does not exist") {
		return ""
	}
	return strings.TrimSpace(string(out))
}
