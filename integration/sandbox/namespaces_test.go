package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

const nsScript = "for n in net ipc uts; do readlink /proc/self/ns/$n; done | tr '\\n' ' '"

// TestSharedNamespaces: both containers see one net/IPC/UTS namespace, not
// the host's; it stays the same across a container restart and while every
// container of the pod has exited (the lone container of "solo" restarts
// after back-off), and goes with the pod. Without shareProcessNamespace the
// containers do not see each other's processes.
func TestSharedNamespaces(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	c.Apply(harness.Pod{Name: "solo", NoSharedDir: true,
		Containers: []harness.Container{{Name: "once", Command: harness.Sh(nsScript + "; echo; sleep 1")}}}.YAML(""))
	p := applyReady(t, c, podOf("pair", 2, nil,
		busybox("a", "while [ ! -f /tmp/stop ]; do sleep 1; done"), busybox("b", "exec sleep 3002")), "pair")
	a, b := sh(t, c, "pair", "a", nsScript), sh(t, c, "pair", "b", nsScript)
	want(t, "namespaces of b vs a", b, a)
	if strings.Count(a, ":[") != 3 {
		t.Fatalf("namespaces seen by a: %q, want net:[..] ipc:[..] uts:[..]", a)
	}
	for _, kind := range []string{"net", "ipc", "uts"} {
		host, _ := os.Readlink("/proc/self/ns/" + kind)
		if strings.Contains(a, host) {
			t.Errorf("container is in the host's %s namespace %s: %s", kind, host, a)
		}
	}
	if ps := sh(t, c, "pair", "a", "ps"); strings.Contains(ps, "sleep 3002") {
		t.Errorf("without shareProcessNamespace a sees b's process:\n%s", ps)
	}
	// A restart of a keeps the namespaces (the sandbox outlives containers).
	sh(t, c, "pair", "a", "touch /tmp/stop")
	c.WaitFor("pair", "a restarted", 60*time.Second, func(p *corev1.Pod) bool {
		s := status(p, "a")
		return s != nil && s.RestartCount >= 1 && s.State.Running != nil
	})
	want(t, "namespaces of a after its restart", sh(t, c, "pair", "a", nsScript), a)

	// solo: every container exited, then it ran again in the same namespaces.
	c.WaitFor("solo", "restarted once", 90*time.Second, func(p *corev1.Pod) bool {
		s := status(p, "once")
		return s != nil && s.RestartCount >= 1 && s.State.Waiting == nil
	})
	prev := strings.TrimSpace(c.Logs("solo", "once", "--previous"))
	harness.Eventually(t, 10*time.Second, func() string {
		cur := strings.TrimSpace(c.Logs("solo", "once"))
		if cur == "" || cur != prev || !strings.Contains(cur, "net:[") {
			return "namespaces after all containers exited: run 1 " + prev + ", run 2 " + cur
		}
		return ""
	})
	uid := p.UID
	deletePod(t, c, "pair")
	deletePod(t, c, "solo")
	if _, err := os.Stat(filepath.Join(c.Daemon.State, "sandboxes", string(uid), "net")); err == nil {
		t.Errorf("netns bind mount of pair remains")
	}
}

// TestShareProcessNamespace: with shareProcessNamespace the containers see
// each other's processes.
func TestShareProcessNamespace(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	applyReady(t, c, podOf("pid", 2, []string{"shareProcessNamespace: true"},
		busybox("a", forever), busybox("b", "exec sleep 3003")), "pid")
	wantContains(t, "ps in a", sh(t, c, "pid", "a", "ps"), "sleep 3003")
	deletePod(t, c, "pid")
}

// TestHostnameHostsResolv: hostname is the pod name, or spec.hostname with
// the subdomain's FQDN in /etc/hosts; hostAliases land in /etc/hosts;
// dnsPolicy None takes dnsConfig as /etc/resolv.conf.
func TestHostnameHostsResolv(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	c.Apply(podOf("plain-name", 1, nil, busybox("a", forever)))
	applyPodReady(t, c, "named", `
  hostname: web
  subdomain: sub
  terminationGracePeriodSeconds: 1
  hostAliases:
  - ip: 10.1.2.3
    hostnames: [foo.local, bar.local]
  dnsPolicy: None
  dnsConfig:
    nameservers: [10.9.9.9]
    searches: [a.example, b.example]
    options:
    - name: ndots
      value: "3"
  containers:
  - name: a
    image: busybox:1.28
    command: ["sh", "-c", "`+forever+`"]
`)
	c.WaitFor("plain-name", "Ready", 60*time.Second, harness.PodReady)
	want(t, "hostname of plain-name", sh(t, c, "plain-name", "a", "hostname"), "plain-name")
	// Default dnsPolicy (ClusterFirst) without a cluster DNS falls back to
	// the host's nameservers, as the kubelet does.
	if host, err := os.ReadFile("/etc/resolv.conf"); err == nil && !strings.Contains(string(host), "127.0.0.53") {
		for _, l := range strings.Split(string(host), "\n") {
			if strings.HasPrefix(l, "nameserver ") {
				wantContains(t, "resolv.conf of plain-name", sh(t, c, "plain-name", "a", "cat /etc/resolv.conf"), strings.TrimSpace(l))
			}
		}
	}
	want(t, "hostname of named", sh(t, c, "named", "a", "hostname"), "web")
	hosts := sh(t, c, "named", "a", "cat /etc/hosts")
	wantContains(t, "/etc/hosts", hosts, "10.1.2.3\tfoo.local\tbar.local", "web.sub."+c.NS+".svc.cluster.local", "localhost")
	resolv := sh(t, c, "named", "a", "cat /etc/resolv.conf")
	wantContains(t, "/etc/resolv.conf", resolv, "nameserver 10.9.9.9", "search a.example b.example", "options ndots:3")
	if strings.Count(resolv, "nameserver") != 1 {
		t.Errorf("dnsPolicy None: only dnsConfig's nameserver expected:\n%s", resolv)
	}
	deletePod(t, c, "named")
	deletePod(t, c, "plain-name")
}

// TestSeeds04And05: the log-file sidecar tails the emptyDir file the main
// container writes; the sidecar reaches the app's httpd on localhost.
func TestSeeds04And05(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	for _, f := range []string{"04-log-file-sidecar.yaml", "05-http-sidecar-localhost.yaml"} {
		c.ApplyFile(filepath.Join(env.Seeds, f))
	}
	logsUntil(t, c, "logger", "sidecar-container", "Hello World", 60*time.Second)
	logsUntil(t, c, "http-logger", "sidecar-container", `{"logs": "Hello World"}`, 60*time.Second)
	deletePod(t, c, "logger")
	deletePod(t, c, "http-logger")
}
