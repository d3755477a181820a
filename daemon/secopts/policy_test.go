package secopts

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestPolicyCheck(t *testing.T) {
	priv := &corev1.SecurityContext{Privileged: bp(true)}
	pod := func(mut func(*corev1.Pod)) *corev1.Pod {
		p := basePod()
		p.Spec.Containers = []corev1.Container{{Name: "app"}}
		mut(p)
		return p
	}
	hostPath := func(path string) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path}}}}
		}
	}
	strict := &Policy{AllowedHostPaths: []string{"/var/log", "/srv/data/"}}
	cases := []struct {
		name   string
		policy *Policy
		pod    *corev1.Pod
		fields []string
	}{
		{"nil policy allows everything", nil, pod(func(p *corev1.Pod) { p.Spec.HostNetwork = true; p.Spec.Containers[0].SecurityContext = priv }), nil},
		{"privileged container", strict, pod(func(p *corev1.Pod) { p.Spec.Containers[0].SecurityContext = priv }),
			[]string{"spec.containers[0].securityContext.privileged"}},
		{"privileged sidecar", strict, pod(func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "a"}, {Name: "b", SecurityContext: priv}}
		}), []string{"spec.initContainers[1].securityContext.privileged"}},
		{"privileged allowed", &Policy{AllowPrivileged: true}, pod(func(p *corev1.Pod) { p.Spec.Containers[0].SecurityContext = priv }), nil},
		{"host namespaces", strict, pod(func(p *corev1.Pod) { p.Spec.HostNetwork, p.Spec.HostPID, p.Spec.HostIPC = true, true, true }),
			[]string{"spec.hostNetwork", "spec.hostPID", "spec.hostIPC"}},
		{"host namespaces allowed", &Policy{AllowHostNamespaces: true}, pod(func(p *corev1.Pod) { p.Spec.HostNetwork = true }), nil},
		{"hostPath under prefix", strict, pod(hostPath("/var/log/app")), nil},
		{"hostPath equal to prefix", strict, pod(hostPath("/srv/data")), nil},
		{"hostPath sibling", strict, pod(hostPath("/var/logs")), []string{"spec.volumes[0].hostPath.path"}},
		{"hostPath climbing out", strict, pod(hostPath("/var/log/../../etc")), []string{"spec.volumes[0].hostPath.path"}},
		{"no hostPaths when none listed", &Policy{}, pod(hostPath("/var/log")), []string{"spec.volumes[0].hostPath.path"}},
		{"every hostPath under /", &Policy{AllowedHostPaths: []string{"/"}}, pod(hostPath("/etc")), nil},
		{"unsafe sysctl", strict, pod(func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "kernel.shm_rmid_forced"}, {Name: "net.core.somaxconn"}}}
		}), []string{"spec.securityContext.sysctls[1].name"}},
		{"unsafe sysctl allowed by pattern", &Policy{AllowedUnsafeSysctls: []string{"net.core.*"}}, pod(func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "net.core.somaxconn"}}}
		}), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := tc.policy.Check(tc.pod)
			var got []string
			for _, e := range errs {
				got = append(got, e.Field)
				if !strings.Contains(e.Error(), "policy") {
					t.Errorf("message does not say why: %v", e)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Fatalf("fields %v, want %v", got, tc.fields)
			}
		})
	}
}
