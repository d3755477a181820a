package sandbox

import (
	"context"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func testPod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: "uid-" + "0123456789"},
	}
}

func TestPodHostname(t *testing.T) {
	p := testPod("web")
	if got := podHostname(p); got != "web" {
		t.Fatalf("hostname = %q, want pod name", got)
	}
	p.Spec.Hostname = "box"
	if got := podHostname(p); got != "box" {
		t.Fatalf("hostname = %q, want spec.hostname", got)
	}
	p.Spec.Hostname = strings.Repeat("a", 62) + "-b"
	if got := podHostname(p); got != strings.Repeat("a", 62) {
		t.Fatalf("truncated hostname = %q", got)
	}
}

func TestRenderHosts(t *testing.T) {
	p := testPod("web")
	p.Spec.Hostname = "h"
	p.Spec.Subdomain = "sub"
	p.Spec.HostAliases = []corev1.HostAlias{{IP: "1.2.3.4", Hostnames: []string{"foo", "bar"}}}
	got := string(must(renderHosts(p, []string{"10.88.0.5"})))
	for _, want := range []string{
		"# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n",
		"::1\tlocalhost ip6-localhost ip6-loopback\n",
		"10.88.0.5\th.sub.default.svc.cluster.local\th\n",
		"\n# Entries added by HostAliases.\n1.2.3.4\tfoo\tbar\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("hosts file lacks %q:\n%s", want, got)
		}
	}
	p.Spec.Subdomain = ""
	p.Spec.HostAliases = nil
	got = string(must(renderHosts(p, nil)))
	if !strings.HasSuffix(got, "127.0.1.1\th\n") || strings.Contains(got, "HostAliases") {
		t.Errorf("loopback-only hosts file:\n%s", got)
	}
}

func TestRenderHostNetworkHosts(t *testing.T) {
	got := string(must(renderHostNetworkHosts([]byte("127.0.0.1 localhost"), []corev1.HostAlias{{IP: "5.6.7.8", Hostnames: []string{"x"}}})))
	want := "# Kubernetes-managed hosts file (host network).\n127.0.0.1 localhost\n\n# Entries added by HostAliases.\n5.6.7.8\tx\n"
	if got != want {
		t.Fatalf("got %q want %q", got, want)
	}
}

func TestParseResolvConf(t *testing.T) {
	rc := parseResolvConf([]byte("# c\nnameserver 1.1.1.1\nnameserver 8.8.8.8\ndomain a.example\nsearch b.example c.example\noptions ndots:2 rotate\n"))
	if strings.Join(rc.Nameservers, ",") != "1.1.1.1,8.8.8.8" || strings.Join(rc.Searches, ",") != "b.example,c.example" ||
		strings.Join(rc.Options, ",") != "ndots:2,rotate" {
		t.Fatalf("parsed %+v", rc)
	}
	if !allLoopback([]string{"127.0.0.53"}) || allLoopback([]string{"127.0.0.53", "10.0.0.1"}) || allLoopback(nil) {
		t.Fatal("allLoopback wrong")
	}
}

func TestPodResolvConf(t *testing.T) {
	host := resolvConf{Nameservers: []string{"10.0.0.1"}, Searches: []string{"lan"}, Options: []string{"ndots:1", "edns0"}}
	five := "5"
	cfg := &corev1.PodDNSConfig{
		Nameservers: []string{"9.9.9.9", "10.0.0.1", "1.1.1.1", "8.8.8.8"},
		Searches:    []string{"svc.example"},
		Options:     []corev1.PodDNSConfigOption{{Name: "ndots", Value: &five}, {Name: "single-request"}},
	}
	cases := []struct {
		name   string
		policy corev1.DNSPolicy
		cfg    *corev1.PodDNSConfig
		want   string
	}{
		{"ClusterFirst falls back to host", corev1.DNSClusterFirst, nil,
			"search lan\nnameserver 10.0.0.1\noptions ndots:1 edns0\n"},
		{"Default", corev1.DNSDefault, nil,
			"search lan\nnameserver 10.0.0.1\noptions ndots:1 edns0\n"},
		{"Default merged with dnsConfig, 3 nameservers max", corev1.DNSDefault, cfg,
			"search lan svc.example\nnameserver 10.0.0.1\nnameserver 9.9.9.9\nnameserver 1.1.1.1\noptions ndots:5 edns0 single-request\n"},
		{"None uses only dnsConfig", corev1.DNSNone, &corev1.PodDNSConfig{Nameservers: []string{"9.9.9.9"}, Searches: []string{"x"}},
			"search x\nnameserver 9.9.9.9\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := testPod("p")
			p.Spec.DNSPolicy = tc.policy
			p.Spec.DNSConfig = tc.cfg
			if got := string(must(renderResolvConf(podResolvConf(p, host)))); got != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// A hostAlias, dnsConfig value or pod IP with a line break or other
// whitespace never reaches /etc/hosts or resolv.conf, even from a pod that
// skipped validation (stored by an older podrund): rendering fails naming
// the value instead of writing lines of the pod's choosing.
func TestEtcFilesRefuseInjectedLines(t *testing.T) {
	inject := "x\n6.6.6.6 bank.example"
	hostsCases := map[string]func(p *corev1.Pod) []string{
		"alias hostname": func(p *corev1.Pod) []string {
			p.Spec.HostAliases = []corev1.HostAlias{{IP: "1.2.3.4", Hostnames: []string{"ok", inject}}}
			return nil
		},
		"alias ip":  func(p *corev1.Pod) []string { p.Spec.HostAliases = []corev1.HostAlias{{IP: "1.2.3.4\x00"}}; return nil },
		"hostname":  func(p *corev1.Pod) []string { p.Spec.Hostname = "h\tx"; return nil },
		"subdomain": func(p *corev1.Pod) []string { p.Spec.Subdomain = "s\r"; return nil },
		"pod ip":    func(p *corev1.Pod) []string { return []string{"10.0.0.1\n6.6.6.6 x"} },
	}
	for name, mutate := range hostsCases {
		t.Run("hosts "+name, func(t *testing.T) {
			p := testPod("p")
			ips := mutate(p)
			if b, err := renderHosts(p, ips); err == nil || !strings.Contains(err.Error(), "/etc/hosts") {
				t.Fatalf("renderHosts wrote %q, err %v", b, err)
			}
		})
	}
	if b, err := renderHostNetworkHosts(nil, []corev1.HostAlias{{IP: "1.2.3.4", Hostnames: []string{inject}}}); err == nil {
		t.Fatalf("renderHostNetworkHosts wrote %q", b)
	}
	val := "5\nnameserver 6.6.6.6"
	dnsCases := map[string]*corev1.PodDNSConfig{
		"search":     {Nameservers: []string{"1.1.1.1"}, Searches: []string{"svc\nnameserver 6.6.6.6"}},
		"nameserver": {Nameservers: []string{"1.1.1.1\nnameserver 6.6.6.6"}},
		"option":     {Nameservers: []string{"1.1.1.1"}, Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: &val}}},
	}
	for name, cfg := range dnsCases {
		t.Run("resolv.conf "+name, func(t *testing.T) {
			p := testPod("p")
			p.Spec.DNSPolicy, p.Spec.DNSConfig = corev1.DNSNone, cfg
			if b, err := renderResolvConf(podResolvConf(p, resolvConf{})); err == nil || !strings.Contains(err.Error(), "resolv.conf") {
				t.Fatalf("renderResolvConf wrote %q, err %v", b, err)
			}
		})
	}
}

func TestPortMappings(t *testing.T) {
	p := testPod("p")
	p.Spec.InitContainers = []corev1.Container{{Ports: []corev1.ContainerPort{{ContainerPort: 53, HostPort: 5353, Protocol: corev1.ProtocolUDP}}}}
	p.Spec.Containers = []corev1.Container{{Ports: []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080}, {ContainerPort: 81}}}}
	got := portMappings(p)
	if len(got) != 2 || got[0].Protocol != "udp" || got[0].HostPort != 5353 || got[1].Protocol != "tcp" || got[1].ContainerPort != 80 {
		t.Fatalf("port mappings %+v", got)
	}
}

func TestUTSHostnameFQDN(t *testing.T) {
	p := testPod("web")
	p.Spec.Subdomain = "sub"
	yes := true
	p.Spec.SetHostnameAsFQDN = &yes
	if got := utsHostname(p); got != "web.sub.default.svc.cluster.local" {
		t.Fatalf("FQDN hostname = %q", got)
	}
	p.Spec.Subdomain = ""
	if got := utsHostname(p); got != "web" {
		t.Fatalf("hostname without subdomain = %q", got)
	}
}

func TestSpecOptsRespectVolumeAtEtcHosts(t *testing.T) {
	m := &Manager{o: Options{Root: "/r", State: "/s"}}
	p := testPod("p")
	opts, err := m.SpecOpts(p)
	if err != nil {
		t.Fatal(err)
	}
	s := &oci.Spec{Hostname: "x", Linux: &specs.Linux{}, Mounts: []specs.Mount{
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm"},
		{Destination: "/etc/hosts", Type: "bind", Source: "/my/volume/hosts"},
	}}
	if err := oci.ApplyOpts(context.Background(), nil, &containers.Container{ID: "c"}, s, opts...); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, mnt := range s.Mounts {
		got[mnt.Destination] += mnt.Source + ";"
	}
	want := map[string]string{
		"/dev/shm": "/s/sandboxes/uid-0123456789/shm;", "/etc/hosts": "/my/volume/hosts;",
		"/etc/resolv.conf": "/r/pods/uid-0123456789/resolv.conf;", "/etc/hostname": "/r/pods/uid-0123456789/hostname;",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s mounted from %q, want %q", k, got[k], v)
		}
	}
	if s.Hostname != "" {
		t.Errorf("hostname %q set for a joined UTS namespace", s.Hostname)
	}
	var nsPaths []string
	for _, ns := range s.Linux.Namespaces {
		nsPaths = append(nsPaths, string(ns.Type)+"="+ns.Path)
	}
	if strings.Join(nsPaths, ",") != "network=/s/sandboxes/uid-0123456789/net,uts=/s/sandboxes/uid-0123456789/uts,ipc=/s/sandboxes/uid-0123456789/ipc" {
		t.Errorf("namespaces %v", nsPaths)
	}
}
