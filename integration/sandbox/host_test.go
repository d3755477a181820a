package sandbox

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/integration/harness"
)

// TestHostAndCNI runs a podrund with no policy (everything allowed, as under
// the kubelet) and a CNI bridge network: a pod gets status.podIP on the
// bridge, reaches the host through the bridge gateway, and its hostPort
// answers on the host's own address; hostNetwork/hostPID/hostIPC pods share
// the host's namespaces; a privileged container has every capability. After
// deletion no veth, lease, port mapping, netns, mount, cgroup or process
// of the pods is left.
func TestHostAndCNI(t *testing.T) {
	t.Parallel()
	confDir, leaseDir := cniNetwork(t)
	d := openDaemon(t, "cni", fmt.Sprintf("cni:\n  confDir: %s\n  binDir: /usr/lib/cni\n", confDir))
	c := env.ClientOn(t, d)

	hostPort, outPort := harness.FreePort(t, ""), harness.FreePort(t, "")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "from-host") })}
	l, err := net.Listen("tcp", fmt.Sprintf("0.0.0.0:%d", outPort))
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()

	c.Apply(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: busybox:1.28
    command: ["sh", "-c", "mkdir -p /www && echo from-pod > /www/index.html && exec httpd -f -p 80 -h /www"]
    ports:
    - {containerPort: 80, hostPort: %d}
---
apiVersion: v1
kind: Pod
metadata: {name: hostns}
spec:
  terminationGracePeriodSeconds: 1
  hostNetwork: true
  hostPID: true
  hostIPC: true
  containers:
  - name: a
    image: busybox:1.28
    command: ["sh", "-c", "%s"]
---
apiVersion: v1
kind: Pod
metadata: {name: priv}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: a
    image: busybox:1.28
    command: ["sh", "-c", "%s"]
    securityContext: {privileged: true}
`, hostPort, forever, forever))
	web := c.WaitFor("web", "Ready", 90*time.Second, harness.PodReady)
	_, subnet, _ := net.ParseCIDR(testSubnet)
	if ip := net.ParseIP(web.Status.PodIP); ip == nil || !subnet.Contains(ip) || web.Status.PodIP == testGateway {
		t.Errorf("status.podIP %q, want an address of %s", web.Status.PodIP, testSubnet)
	}
	wantContains(t, "/etc/hosts names the pod IP", sh(t, c, "web", "httpd", "cat /etc/hosts"), web.Status.PodIP+"\tweb")
	wantContains(t, "eth0 in the pod", sh(t, c, "web", "httpd", "ip -4 addr show eth0"), "inet "+web.Status.PodIP+"/24")
	// (Debian's busybox wget crashes with -T, hence timeout.)
	want(t, "outbound to the host via the bridge gateway",
		sh(t, c, "web", "httpd", fmt.Sprintf("timeout 10 wget -qO- http://%s:%d/", testGateway, outPort)), "from-host")
	checkHostPort(t, hostAddress(t), hostPort, "from-pod\n")

	checkHostNamespaces(t, c)
	checkPrivileged(t, c)

	deletePod(t, c, "web")
	deletePod(t, c, "hostns")
	deletePod(t, c, "priv")
	if v := bridgeVeths(t); v != "" {
		t.Errorf("veths left on %s after deleting the pods:\n%s", testBridge, v)
	}
	if rules := natRules(t); strings.Contains(rules, web.Status.PodIP) || strings.Contains(rules, fmt.Sprint(hostPort)) {
		t.Errorf("port mapping of %s:%d left in the nat table:\n%s", web.Status.PodIP, hostPort, rules)
	}
	if entries, _ := os.ReadDir(leaseDir + "/podrun-sandbox-test"); len(entries) > 0 {
		for _, e := range entries {
			if e.Name() == web.Status.PodIP {
				t.Errorf("IPAM lease of %s left in %s", web.Status.PodIP, leaseDir)
			}
		}
	}
}

// checkHostPort dials the hostPort on the host's own address, as a client
// from elsewhere would, and expects the pod's answer.
func checkHostPort(t *testing.T, host string, port int, body string) {
	t.Helper()
	url := fmt.Sprintf("http://%s:%d/", host, port)
	cl := &http.Client{Timeout: 3 * time.Second}
	harness.Eventually(t, 20*time.Second, func() string {
		resp, err := cl.Get(url)
		if err != nil {
			return "hostPort " + url + ": " + err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if string(b) != body {
			return fmt.Sprintf("hostPort %s answered %q, want %q", url, b, body)
		}
		return ""
	})
}

// checkHostNamespaces: the hostns pod is in the host's net, PID, IPC and
// UTS namespaces (those of this test process, which runs on the host).
func checkHostNamespaces(t *testing.T, c *harness.Client) {
	t.Helper()
	c.WaitFor("hostns", "Ready", 90*time.Second, harness.PodReady)
	for _, kind := range []string{"net", "pid", "ipc", "uts"} {
		host, err := os.Readlink("/proc/self/ns/" + kind)
		if err != nil {
			t.Fatal(err)
		}
		want(t, "hostns "+kind+" namespace", sh(t, c, "hostns", "a", "readlink /proc/self/ns/"+kind), host)
	}
	hn, _ := os.Hostname()
	want(t, "hostname with hostNetwork", sh(t, c, "hostns", "a", "hostname"), hn)
	wantContains(t, "hostPID: ps sees host processes", sh(t, c, "hostns", "a", "ps -o pid,comm"), "podrund")
	if p := c.GetPod("hostns"); p.Status.PodIP == "" || strings.HasPrefix(p.Status.PodIP, "10.199.77.") {
		t.Errorf("hostNetwork pod's podIP %q, want the host's address", p.Status.PodIP)
	}
}

// checkPrivileged: a privileged container has the capabilities of podrund
// (all), the host's devices and a writable /sys.
func checkPrivileged(t *testing.T, c *harness.Client) {
	t.Helper()
	c.WaitFor("priv", "Ready", 90*time.Second, harness.PodReady)
	self, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	hostEff := ""
	for _, l := range strings.Split(string(self), "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			hostEff = strings.TrimSpace(v)
		}
	}
	want(t, "privileged CapEff", procStatus(t, c, "priv", "a", "CapEff"), hostEff)
	want(t, "privileged Seccomp", procStatus(t, c, "priv", "a", "Seccomp"), "0")
	sh(t, c, "priv", "a", "test -c /dev/kmsg")
	wantContains(t, "privileged /sys", sh(t, c, "priv", "a", "grep ' /sys ' /proc/mounts"), " rw,")
}
