package api

import (
	"k8s.io/apimachinery/pkg/util/validation"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// Values that reach /etc/hosts, resolv.conf, /proc/sys or the atomic
// writer's directory are refused with the API server's field paths and
// messages; a line break in any of them would let a pod write lines of its
// choosing into those files.
func TestValidateHostBoundValues(t *testing.T) {
	const subdomainMsg = `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`
	const ipMsg = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
	const sysctlMsg = `must have at most 253 characters and match regex ([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?`
	items := func(path string) []corev1.KeyToPath { return []corev1.KeyToPath{{Key: "k", Path: path}} }
	tests := []struct {
		name   string
		mutate func(p *corev1.Pod)
		want   []string
	}{
		{"hostAliases: newline in a hostname, bad ip", func(p *corev1.Pod) {
			p.Spec.HostAliases = []corev1.HostAlias{
				{IP: "10.0.0.1", Hostnames: []string{"ok.example", "evil\n1.2.3.4 bank.example"}},
				{IP: "10.0.0.1\n8.8.8.8 x", Hostnames: []string{"a"}},
				{IP: "010.0.0.1", Hostnames: []string{"b"}},
			}
		}, []string{
			`spec.hostAliases[0].hostnames[1]: Invalid value: "evil\n1.2.3.4 bank.example": ` + subdomainMsg,
			`spec.hostAliases[1].ip: Invalid value: "10.0.0.1\n8.8.8.8 x": ` + ipMsg,
			`spec.hostAliases[2].ip: Invalid value: "010.0.0.1": must not have leading 0s`,
		}},
		{"valid hostAliases", func(p *corev1.Pod) {
			p.Spec.HostAliases = []corev1.HostAlias{{IP: "fe80::1", Hostnames: []string{"a.example", "b"}}, {IP: "127.0.0.2"}}
		}, nil},
		{"dnsConfig: newline in a search, nameserver and option", func(p *corev1.Pod) {
			p.Spec.DNSConfig = &corev1.PodDNSConfig{
				Nameservers: []string{"1.1.1.1\nnameserver 6.6.6.6"},
				Searches:    []string{"ok.example.", ".", "svc\nnameserver 6.6.6.6"},
				Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: ptr.To("5\nnameserver 6.6.6.6")},
					{Name: "rotate\nnameserver 6.6.6.6"}, {Value: ptr.To("1")}},
			}
		}, []string{
			`spec.dnsConfig.nameservers[0]: Invalid value: "1.1.1.1\nnameserver 6.6.6.6": ` + ipMsg,
			`spec.dnsConfig.searches[2]: Invalid value: "svc\nnameserver 6.6.6.6": ` + validation.IsDNS1123SubdomainWithUnderscore("-")[0],
			`spec.dnsConfig.options[0].value: Invalid value: "5\nnameserver 6.6.6.6": must not contain a line break or NUL character`,
			`spec.dnsConfig.options[1].name: Invalid value: "rotate\nnameserver 6.6.6.6": must not contain a line break or NUL character`,
			`spec.dnsConfig.options[2]: Required value: must not be empty`,
		}},
		{"dnsConfig: search list too long", func(p *corev1.Pod) {
			long := strings.Repeat("a", 63)
			var s []string
			for i := 0; i < 32; i++ {
				s = append(s, long+"."+long)
			}
			p.Spec.DNSConfig = &corev1.PodDNSConfig{Searches: s}
		}, []string{
			`spec.dnsConfig.searches: Invalid value: ["` + strings.Repeat("a", 63) + ".", // prefix; checked below
		}},
		{"sysctls: names, duplicates, values", func(p *corev1.Pod) {
			p.Spec.SecurityContext.Sysctls = []corev1.Sysctl{
				{Name: "net.ipv4.ip_forward", Value: "1"},
				{Name: "net/ipv4/ping_group_range", Value: "0 2147483647"},
				{Name: "net.ipv4.ip_forward", Value: "1"},
				{Name: "Kernel.Shm", Value: "1"},
				{Name: "kernel..shmmax", Value: "1"},
				{Name: "../../etc/passwd", Value: "1"},
				{Name: strings.Repeat("a", 254), Value: "1"},
				{Value: "1"},
				{Name: "kernel.shmmax", Value: "1\n2"},
				{Name: "kernel.shmall", Value: "1\x00"},
			}
		}, []string{
			`spec.securityContext.sysctls[2].name: Duplicate value: "net.ipv4.ip_forward"`,
			`spec.securityContext.sysctls[3].name: Invalid value: "Kernel.Shm": ` + sysctlMsg,
			`spec.securityContext.sysctls[4].name: Invalid value: "kernel..shmmax": ` + sysctlMsg,
			`spec.securityContext.sysctls[5].name: Invalid value: "../../etc/passwd": ` + sysctlMsg,
			`spec.securityContext.sysctls[6].name: Invalid value: "` + strings.Repeat("a", 254) + `": ` + sysctlMsg,
			`spec.securityContext.sysctls[7].name: Required value`,
			`spec.securityContext.sysctls[8].value: Invalid value: "1\n2": must not contain a line break or NUL character`,
			`spec.securityContext.sysctls[9].value: Invalid value: "1\x00": must not contain a line break or NUL character`,
		}},
		{"items paths of every volume kind", func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes,
				corev1.Volume{Name: "cm", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: "c"}, Items: items("..data/x")}}},
				corev1.Volume{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
					SecretName: "s", Items: items("..2026_01_02")}}},
				corev1.Volume{Name: "dapi", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
					Items: []corev1.DownwardAPIVolumeFile{{Path: "..data", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}}}}},
				corev1.Volume{Name: "proj", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}, Items: items("../x")}},
					{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Items: items("a/../../x")}},
					{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
						{Path: "/abs", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}}}},
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}, Items: items("a/..b/.c")}},
				}}}},
			)
		}, []string{
			`spec.volumes[1].configMap.items[0].path: Invalid value: "..data/x": must not start with '..'`,
			`spec.volumes[2].secret.items[0].path: Invalid value: "..2026_01_02": must not start with '..'`,
			`spec.volumes[3].downwardAPI.path: Invalid value: "..data": must not start with '..'`,
			`spec.volumes[4].projected.sources[0].configMap.items[0].path: Invalid value: "../x": must not contain '..'`,
			`spec.volumes[4].projected.sources[1].secret.items[0].path: Invalid value: "a/../../x": must not contain '..'`,
			`spec.volumes[4].projected.sources[2].downwardAPI.path: Invalid value: "/abs": must be a relative path`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := basePod()
			tc.mutate(p)
			errs := ValidatePod(p)
			if strings.HasPrefix(tc.name, "dnsConfig: search list too long") {
				if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), tc.want[0]) ||
					!strings.HasSuffix(errs[0].Error(), "must not have more than 2048 characters (including spaces) in the search list") {
					t.Fatalf("got %v", errs)
				}
				return
			}
			checkErrs(t, errs, tc.want)
		})
	}
}

func TestIsValidSysctlName(t *testing.T) {
	for name, want := range map[string]bool{
		"net.ipv4.ip_forward": true, "net/ipv4/conf/eth0/forwarding": true, "kernel.shm_rmid_forced": true,
		"net.ipv4.conf.eth0.100.forwarding": true, "a": true, strings.Repeat("a", 253): true,
		"": false, ".net": false, "net.": false, "net..ipv4": false, "net.-a": false, "NET.ipv4": false,
		"net.ipv4 x": false, "net.ipv4\n": false, "../x": false, strings.Repeat("a", 254): false,
	} {
		if got := isValidSysctlName(name); got != want {
			t.Errorf("isValidSysctlName(%.40q) = %v, want %v", name, got, want)
		}
	}
}
