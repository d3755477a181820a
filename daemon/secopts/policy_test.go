package secopts

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func newPolicy(t *testing.T, cfg PolicyConfig) *Policy {
	t.Helper()
	p, err := NewPolicy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func policyPod(mut func(*corev1.Pod)) *corev1.Pod {
	p := basePod()
	p.Spec.Containers = []corev1.Container{{Name: "app"}}
	if mut != nil {
		mut(p)
	}
	return p
}

func withSC(sc *corev1.SecurityContext) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.Containers[0].SecurityContext = sc }
}

func withHostPath(path string, readOnly bool) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path}}}}
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "h", MountPath: "/h", ReadOnly: readOnly}}
	}
}

// restrictedSC is what the restricted level asks of a container.
func restrictedSC() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: bp(false), RunAsNonRoot: bp(true),
		Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// TestPolicyLevels runs the pods of the security review (and the other
// things each level forbids) through the API server's PodSecurity rules:
// the message is the admission plugin's, word for word.
func TestPolicyLevels(t *testing.T) {
	unmasked := corev1.UnmaskedProcMount
	cases := []struct {
		name, level string
		mut         func(*corev1.Pod)
		want        string // "" admitted
	}{
		{"plain pod at baseline", "baseline", nil, ""},
		{"plain pod at default level", "", nil, ""},
		{"privileged at baseline", "baseline", withSC(&corev1.SecurityContext{Privileged: bp(true)}),
			`violates PodSecurity "baseline:latest": privileged (container "app" must not set securityContext.privileged=true)`},
		{"privileged at default level", "", withSC(&corev1.SecurityContext{Privileged: bp(true)}),
			`violates PodSecurity "baseline:latest": privileged (container "app" must not set securityContext.privileged=true)`},
		{"privileged at privileged", "privileged", withSC(&corev1.SecurityContext{Privileged: bp(true)}), ""},
		{"SYS_ADMIN and SYS_MODULE", "baseline", withSC(&corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN", "SYS_MODULE"}}}),
			`violates PodSecurity "baseline:latest": non-default capabilities (container "app" must not include "SYS_ADMIN", "SYS_MODULE" in securityContext.capabilities.add)`},
		{"default capability added", "baseline", withSC(&corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_BIND_SERVICE"}}}), ""},
		{"procMount Unmasked", "baseline", withSC(&corev1.SecurityContext{ProcMount: &unmasked}),
			`violates PodSecurity "baseline:latest": procMount (container "app" must not set securityContext.procMount to "Unmasked")`},
		{"seccomp Unconfined", "baseline", withSC(&corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}}),
			`violates PodSecurity "baseline:latest": seccompProfile (container "app" must not set securityContext.seccompProfile.type to "Unconfined")`},
		{"host namespaces", "baseline", func(p *corev1.Pod) { p.Spec.HostNetwork, p.Spec.HostPID, p.Spec.HostIPC = true, true, true },
			`violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true, hostPID=true, hostIPC=true)`},
		{"hostPath", "baseline", withHostPath("/etc", true),
			`violates PodSecurity "baseline:latest": hostPath volumes (volume "h")`},
		{"hostPath at privileged without a list", "privileged", withHostPath("/etc", false), ""},
		{"several violations aggregated", "baseline", func(p *corev1.Pod) {
			p.Spec.HostPID = true
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: bp(true)}
		}, `violates PodSecurity "baseline:latest": host namespaces (hostPID=true), privileged (container "app" must not set securityContext.privileged=true)`},
		{"plain pod at restricted", "restricted", nil,
			`violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false), ` +
				`unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"]), ` +
				`runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true), ` +
				`seccompProfile (pod or container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`},
		{"restricted pod at restricted", "restricted", withSC(restrictedSC()), ""},
		{"runAsUser 0 at restricted", "restricted", func(p *corev1.Pod) {
			sc := restrictedSC()
			sc.RunAsUser = new(int64)
			p.Spec.Containers[0].SecurityContext = sc
		}, `violates PodSecurity "restricted:latest": runAsUser=0 (container "app" must not set runAsUser=0)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantVerdict(t, newPolicy(t, PolicyConfig{Level: tc.level}), policyPod(tc.mut), tc.want)
		})
	}
}

// wantVerdict wants p to refuse pod with the message want, or admit it
// when want is "".
func wantVerdict(t *testing.T, p *Policy, pod *corev1.Pod, want string) {
	t.Helper()
	got := ""
	if err := p.Forbidden(&pod.ObjectMeta, &pod.Spec); err != nil {
		got = err.Error()
	}
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestPolicyNamespaces(t *testing.T) {
	p := newPolicy(t, PolicyConfig{Level: "baseline", Namespaces: map[string]string{"infra": "privileged", "apps": "restricted"}})
	priv := policyPod(withSC(&corev1.SecurityContext{Privileged: bp(true)}))
	if err := p.Forbidden(&priv.ObjectMeta, &priv.Spec); err == nil {
		t.Fatal("privileged pod admitted in the default namespace at baseline")
	}
	priv.Namespace = "infra"
	if err := p.Forbidden(&priv.ObjectMeta, &priv.Spec); err != nil {
		t.Fatalf("privileged pod refused in a privileged namespace: %v", err)
	}
	plain := policyPod(func(p *corev1.Pod) { p.Namespace = "apps" })
	if err := p.Forbidden(&plain.ObjectMeta, &plain.Spec); err == nil || !strings.Contains(err.Error(), `"restricted:latest"`) {
		t.Fatalf("plain pod in a restricted namespace: %v", err)
	}
	if _, err := NewPolicy(PolicyConfig{Namespaces: map[string]string{"x": "lax"}}); err == nil || !strings.Contains(err.Error(), "policy.namespaces.x") {
		t.Fatalf("bad namespace level: %v", err)
	}
	if _, err := NewPolicy(PolicyConfig{Level: "strict"}); err == nil || !strings.Contains(err.Error(), "policy.level") {
		t.Fatalf("bad level: %v", err)
	}
}

// TestPolicyAllowedHostPaths: a hostPath under an allowed prefix is exempt
// from the level's hostPath ban (and only from it), one outside is
// refused at every level, and a readOnly prefix needs readOnly mounts.
func TestPolicyAllowedHostPaths(t *testing.T) {
	prefixes := []HostPathPrefix{{Prefix: "/var/log"}, {Prefix: "/srv/data/"}, {Prefix: "/etc/ssl", ReadOnly: true},
		{Prefix: "/opt", ReadOnly: true}, {Prefix: "/opt/scratch"}}
	cases := []struct {
		name, level string
		mut         func(*corev1.Pod)
		want        string
	}{
		{"under a prefix", "baseline", withHostPath("/var/log/app", false), ""},
		{"equal to a prefix", "restricted", func(p *corev1.Pod) {
			withHostPath("/srv/data", false)(p)
			p.Spec.Containers[0].SecurityContext = restrictedSC()
		}, ""},
		{"sibling of a prefix", "baseline", withHostPath("/var/logs", false),
			`violates PodSecurity "baseline:latest": hostPath volumes (volume "h")`},
		{"climbing out of a prefix", "baseline", withHostPath("/var/log/../../etc", false),
			`violates PodSecurity "baseline:latest": hostPath volumes (volume "h")`},
		{"outside every prefix at privileged", "privileged", withHostPath("/etc", false),
			`hostPath volume "h": /etc is not under policy.allowedHostPaths (/var/log, /srv/data/, /etc/ssl, /opt, /opt/scratch)`},
		{"exempt from the hostPath check only", "baseline", func(p *corev1.Pod) {
			withHostPath("/var/log", false)(p)
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: bp(true)}
		}, `violates PodSecurity "baseline:latest": privileged (container "app" must not set securityContext.privileged=true)`},
		{"readOnly prefix, readOnly mount", "baseline", withHostPath("/etc/ssl/certs", true), ""},
		{"readOnly prefix, writable mount", "baseline", withHostPath("/etc/ssl/certs", false),
			`hostPath volume "h": /etc/ssl/certs is under a readOnly allowedHostPaths prefix, so container "app" must set volumeMounts readOnly: true`},
		{"readOnly prefix, writable init mount", "privileged", func(p *corev1.Pod) {
			withHostPath("/etc/ssl", true)(p)
			p.Spec.InitContainers = []corev1.Container{{Name: "init", VolumeMounts: []corev1.VolumeMount{{Name: "h", MountPath: "/x"}}}}
		}, `hostPath volume "h": /etc/ssl is under a readOnly allowedHostPaths prefix, so container "init" must set volumeMounts readOnly: true`},
		{"writable prefix inside a readOnly one", "baseline", withHostPath("/opt/scratch/a", false), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantVerdict(t, newPolicy(t, PolicyConfig{Level: tc.level, AllowedHostPaths: prefixes}), policyPod(tc.mut), tc.want)
		})
	}
	every := newPolicy(t, PolicyConfig{Level: "baseline", AllowedHostPaths: []HostPathPrefix{{Prefix: "/"}}})
	pod := policyPod(withHostPath("/etc", false))
	if err := every.Forbidden(&pod.ObjectMeta, &pod.Spec); err != nil {
		t.Fatalf(`prefix "/" refused /etc: %v`, err)
	}
}

func TestPolicyCheckSysctls(t *testing.T) {
	sysctls := func(names ...string) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{}
			for _, n := range names {
				p.Spec.SecurityContext.Sysctls = append(p.Spec.SecurityContext.Sysctls, corev1.Sysctl{Name: n})
			}
		}
	}
	var none *Policy
	if errs := none.Check(policyPod(sysctls("net.core.somaxconn"))); len(errs) != 0 {
		t.Fatalf("nil policy: %v", errs)
	}
	strict := newPolicy(t, PolicyConfig{})
	errs := strict.Check(policyPod(sysctls("kernel.shm_rmid_forced", "net.core.somaxconn")))
	if len(errs) != 1 || errs[0].Field != "spec.securityContext.sysctls[1].name" || !strings.Contains(errs[0].Error(), "policy") {
		t.Fatalf("unsafe sysctl: %v", errs)
	}
	lax := newPolicy(t, PolicyConfig{AllowedUnsafeSysctls: []string{"net.core.*"}})
	if errs := lax.Check(policyPod(sysctls("net.core.somaxconn"))); len(errs) != 0 {
		t.Fatalf("allowed by pattern: %v", errs)
	}
}

func TestNilPolicyForbidsNothing(t *testing.T) {
	var p *Policy
	pod := policyPod(func(p *corev1.Pod) {
		p.Spec.HostNetwork = true
		p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: bp(true)}
	})
	if err := p.Forbidden(&pod.ObjectMeta, &pod.Spec); err != nil {
		t.Fatal(err)
	}
}
