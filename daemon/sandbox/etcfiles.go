package sandbox

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// clusterDomain is the DNS domain the kubelet's default uses for subdomain
// FQDNs in /etc/hosts.
const clusterDomain = "cluster.local"

// Limits the kubelet applies to resolv.conf (validation.MaxDNSNameservers, MaxDNSSearchPaths).
const (
	maxNameservers = 3
	maxSearches    = 32
)

// podHostname returns the hostname the pod's UTS namespace gets: spec.hostname
// or the pod name, cut to 63 characters without a trailing '-' or '.' as the
// kubelet does (GeneratePodHostNameAndDomain / truncatePodHostnameIfNeeded).
func podHostname(pod *corev1.Pod) string {
	h := pod.Name
	if pod.Spec.Hostname != "" {
		h = pod.Spec.Hostname
	}
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-.")
	}
	return h
}

// utsHostname is the hostname set in the pod's UTS namespace: the FQDN with
// setHostnameAsFQDN (when the pod has a subdomain), else podHostname.
func utsHostname(pod *corev1.Pod) string {
	h := podHostname(pod)
	if d := podDomain(pod); d != "" && pod.Spec.SetHostnameAsFQDN != nil && *pod.Spec.SetHostnameAsFQDN {
		if fqdn := h + "." + d; len(fqdn) <= 64 {
			return fqdn
		}
	}
	return h
}

// podDomain returns "<subdomain>.<ns>.svc.cluster.local" or "" without subdomain.
func podDomain(pod *corev1.Pod) string {
	if pod.Spec.Subdomain == "" {
		return ""
	}
	return fmt.Sprintf("%s.%s.svc.%s", pod.Spec.Subdomain, pod.Namespace, clusterDomain)
}

// checkEtcField refuses a value that is not one whitespace-free token
// before it goes into /etc/hosts or resolv.conf. Validation refuses such
// values at admission, but a pod stored by an older podrund, or any other
// path around validation, must still not add lines of its choosing (a
// "\n" in a hostAlias or search) to files the pod's resolver trusts.
func checkEtcField(file, what, v string) error {
	for _, r := range v {
		if r <= ' ' || r == 0x7f {
			return fmt.Errorf("refusing to write %s: %s %q contains whitespace or a control character", file, what, v)
		}
	}
	return nil
}

// renderHosts renders the pod's /etc/hosts like the kubelet's managedHostsFileContent.
// Without a pod IP (loopback-only network) the hostname maps to 127.0.1.1 so
// that it still resolves, as Debian does for the host name.
func renderHosts(pod *corev1.Pod, podIPs []string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# Kubernetes-managed hosts file.\n")
	b.WriteString("127.0.0.1\tlocalhost\n")
	b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::0\tip6-localnet\n")
	b.WriteString("fe00::0\tip6-mcastprefix\n")
	b.WriteString("fe00::1\tip6-allnodes\n")
	b.WriteString("fe00::2\tip6-allrouters\n")
	if len(podIPs) == 0 {
		podIPs = []string{"127.0.1.1"}
	}
	host, domain := podHostname(pod), podDomain(pod)
	if err := checkEtcField("/etc/hosts", "hostname", host); err != nil {
		return nil, err
	}
	if err := checkEtcField("/etc/hosts", "domain", domain); err != nil {
		return nil, err
	}
	for _, ip := range podIPs {
		if err := checkEtcField("/etc/hosts", "pod IP", ip); err != nil {
			return nil, err
		}
		if domain != "" {
			fmt.Fprintf(&b, "%s\t%s.%s\t%s\n", ip, host, domain, host)
		} else {
			fmt.Fprintf(&b, "%s\t%s\n", ip, host)
		}
	}
	aliasLines, err := renderHostAliases(pod.Spec.HostAliases)
	if err != nil {
		return nil, err
	}
	b.Write(aliasLines)
	return b.Bytes(), nil
}

// renderHostNetworkHosts is the host's /etc/hosts plus hostAliases, as the
// kubelet writes it for hostNetwork pods.
func renderHostNetworkHosts(hostHosts []byte, aliases []corev1.HostAlias) ([]byte, error) {
	aliasLines, err := renderHostAliases(aliases)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("# Kubernetes-managed hosts file (host network).\n")
	b.Write(hostHosts)
	if len(hostHosts) > 0 && hostHosts[len(hostHosts)-1] != '\n' {
		b.WriteByte('\n')
	}
	b.Write(aliasLines)
	return b.Bytes(), nil
}

func renderHostAliases(aliases []corev1.HostAlias) ([]byte, error) {
	if len(aliases) == 0 {
		return nil, nil
	}
	var b bytes.Buffer
	b.WriteString("\n# Entries added by HostAliases.\n")
	for _, a := range aliases {
		if err := checkEtcField("/etc/hosts", "hostAliases ip", a.IP); err != nil {
			return nil, err
		}
		for _, h := range a.Hostnames {
			if err := checkEtcField("/etc/hosts", "hostAliases hostname", h); err != nil {
				return nil, err
			}
		}
		fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
	}
	return b.Bytes(), nil
}

// resolvConf is the parsed content of a resolv.conf.
type resolvConf struct {
	Nameservers []string
	Searches    []string
	Options     []string
}

// parseResolvConf reads nameserver, search/domain and options lines.
func parseResolvConf(data []byte) resolvConf {
	var rc resolvConf
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], ";") {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) > 1 {
				rc.Nameservers = append(rc.Nameservers, f[1])
			}
		case "search", "domain":
			rc.Searches = append([]string(nil), f[1:]...) // the last one wins, as in libc
		case "options":
			rc.Options = append(rc.Options, f[1:]...)
		}
	}
	return rc
}

// allLoopback reports whether every nameserver is a loopback address (a
// local stub resolver such as systemd-resolved's 127.0.0.53), which a pod
// with its own network namespace cannot reach.
func allLoopback(servers []string) bool {
	for _, s := range servers {
		ip := net.ParseIP(s)
		if ip == nil || !ip.IsLoopback() {
			return false
		}
	}
	return len(servers) > 0
}

// podResolvConf computes the pod's resolver configuration from dnsPolicy and
// dnsConfig. There is no cluster DNS on a single podrun node, so ClusterFirst
// and ClusterFirstWithHostNet fall back to the host's configuration, as the
// kubelet does when it has no --cluster-dns.
func podResolvConf(pod *corev1.Pod, host resolvConf) resolvConf {
	var rc resolvConf
	if pod.Spec.DNSPolicy != corev1.DNSNone {
		rc = resolvConf{
			Nameservers: append([]string(nil), host.Nameservers...),
			Searches:    append([]string(nil), host.Searches...),
			Options:     append([]string(nil), host.Options...),
		}
	}
	if c := pod.Spec.DNSConfig; c != nil {
		rc.Nameservers = appendUnique(rc.Nameservers, c.Nameservers)
		rc.Searches = appendUnique(rc.Searches, c.Searches)
		rc.Options = mergeOptions(rc.Options, c.Options)
	}
	if len(rc.Nameservers) > maxNameservers {
		rc.Nameservers = rc.Nameservers[:maxNameservers]
	}
	if len(rc.Searches) > maxSearches {
		rc.Searches = rc.Searches[:maxSearches]
	}
	return rc
}

func appendUnique(base, add []string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(base)+len(add))
	for _, s := range append(append([]string(nil), base...), add...) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// mergeOptions lets dnsConfig options override host options of the same
// name (kubelet's mergeDNSOptions): "ndots:5" replaces "ndots:1".
func mergeOptions(base []string, add []corev1.PodDNSConfigOption) []string {
	var names []string
	vals := map[string]string{}
	set := func(name, opt string) {
		if _, ok := vals[name]; !ok {
			names = append(names, name)
		}
		vals[name] = opt
	}
	for _, o := range base {
		set(strings.SplitN(o, ":", 2)[0], o)
	}
	for _, o := range add {
		opt := o.Name
		if o.Value != nil {
			opt = o.Name + ":" + *o.Value
		}
		set(o.Name, opt)
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, vals[n])
	}
	return out
}

func renderResolvConf(rc resolvConf) ([]byte, error) {
	for _, f := range []struct {
		what   string
		values []string
	}{{"search", rc.Searches}, {"nameserver", rc.Nameservers}, {"option", rc.Options}} {
		for _, v := range f.values {
			if err := checkEtcField("resolv.conf", f.what, v); err != nil {
				return nil, err
			}
		}
	}
	var b bytes.Buffer
	if len(rc.Searches) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(rc.Searches, " "))
	}
	for _, ns := range rc.Nameservers {
		fmt.Fprintf(&b, "nameserver %s\n", ns)
	}
	if len(rc.Options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(rc.Options, " "))
	}
	return b.Bytes(), nil
}

// hostResolvConf reads the host's resolver configuration; when it names only
// a local stub resolver, the upstream file systemd-resolved keeps is used
// instead (what the kubelet's --resolv-conf is set to on such hosts).
func hostResolvConf(path, fallback string) (resolvConf, error) {
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return resolvConf{}, fmt.Errorf("read host resolv.conf: %w", err)
	}
	rc := parseResolvConf(data)
	if allLoopback(rc.Nameservers) && fallback != "" {
		if up, err := os.ReadFile(fallback); err == nil {
			if urc := parseResolvConf(up); len(urc.Nameservers) > 0 {
				return urc, nil
			}
		}
	}
	return rc, nil
}

// writeFileAtomic writes data to path through a temporary file and a
// rename, so a container bind-mounting the file never sees it half written.
// The inode changes, which is why the pod files are written before any
// container mounts them and rewritten only while the pod is re-created.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
