package api

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestValidateHandlersAndMisc(t *testing.T) {
	tests := []podCase{
		{"httpGet port and scheme, tcpSocket port name, grpc port, exec command", func(p *corev1.Pod) {
			c := &p.Spec.Containers[0]
			c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: "/", Port: intstr.FromInt32(0), Scheme: "FTP", HTTPHeaders: []corev1.HTTPHeader{{Name: "bad header"}}}}}
			c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("Not_A_Name")}}}
			c.StartupProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 70000}}}
			c.Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{}}}
			DefaultPod(p)
		}, []string{
			`spec.containers[0].livenessProbe.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive`,
			`spec.containers[0].livenessProbe.httpGet.scheme: Unsupported value: "FTP": supported values: "HTTP", "HTTPS"`,
			`spec.containers[0].livenessProbe.httpGet.httpHeaders: Invalid value: "bad header": a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')`,
			`spec.containers[0].readinessProbe.tcpSocket.port: Invalid value: "Not_A_Name": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)`,
			`spec.containers[0].startupProbe.grpc.port: Invalid value: 70000: must be between 1 and 65535, inclusive`,
			`spec.containers[0].lifecycle.postStart.exec.command: Required value`,
		}},
		{"preStop sleep longer than the grace period", func(p *corev1.Pod) {
			p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](5)
			p.Spec.InitContainers[1].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 6}}}
		}, []string{`spec.initContainers[1].lifecycle.preStop.sleep: Invalid value: 6: must be non-negative and less than terminationGracePeriodSeconds (5)`}},
		{"annotations and label keys", func(p *corev1.Pod) {
			p.Annotations = map[string]string{"bad key!": "v"}
			p.Labels = map[string]string{"-bad": "v"}
		}, []string{
			`metadata.annotations: Invalid value: "bad key!": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
			`metadata.labels: Invalid value: "-bad": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
		}},
		{"dnsConfig", func(p *corev1.Pod) {
			p.Spec.DNSPolicy = corev1.DNSNone
			p.Spec.DNSConfig = &corev1.PodDNSConfig{Nameservers: []string{"1.1.1.1", "not-an-ip", "8.8.8.8", "9.9.9.9"}}
		}, []string{
			`spec.dnsConfig.nameservers: Invalid value: ["1.1.1.1","not-an-ip","8.8.8.8","9.9.9.9"]: must not have more than 3 nameservers`,
			`spec.dnsConfig.nameservers[1]: Invalid value: "not-an-ip": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`,
		}},
		{"dnsPolicy None with an empty dnsConfig", func(p *corev1.Pod) {
			p.Spec.DNSPolicy = corev1.DNSNone
			p.Spec.DNSConfig = &corev1.PodDNSConfig{}
		}, []string{"spec.dnsConfig.nameservers: Required value: must provide at least one DNS nameserver when `dnsPolicy` is None"}},
		{"pull and termination message policies", func(p *corev1.Pod) {
			p.Spec.Containers[0].ImagePullPolicy = "Sometimes"
			p.Spec.Containers[0].TerminationMessagePolicy = "Log"
		}, []string{
			`spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"`,
			`spec.containers[0].terminationMessagePolicy: Unsupported value: "Log": supported values: "File", "FallbackToLogsOnError"`,
		}},
		{"security context ids", func(p *corev1.Pod) {
			p.Spec.SecurityContext.RunAsUser = ptr.To[int64](-1)
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{RunAsGroup: ptr.To[int64](-2)}
		}, []string{
			`spec.securityContext.runAsUser: Invalid value: -1: must be between 0 and 2147483647, inclusive`,
			`spec.containers[0].securityContext.runAsGroup: Invalid value: -2: must be between 0 and 2147483647, inclusive`,
		}},
		{"restartPolicyRules need a restartPolicy and exitCodes (R100)", func(p *corev1.Pod) {
			p.Spec.Containers[0].RestartPolicyRules = []corev1.ContainerRestartRule{{Action: "Restart"}}
		}, []string{
			`spec.containers[0].restartPolicy: Required value: must specify restartPolicy when restart rules are used`,
			`spec.containers[0].restartPolicyRules[0].exitCodes: Required value: must be specified`,
		}},
	}
	runMutateCases(t, basePod, ValidatePod, tests)
}

// The "bad input" list, end to end through Decode, Default and
// Validate: each is rejected with the right code and field.
func TestBadInputEndToEnd(t *testing.T) {
	tests := []struct {
		name, yaml string
		code       int
		field      string
	}{
		{"missing image", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c}]\n", 422, "spec.containers[0].image"},
		{"duplicate names", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  initContainers: [{name: c, image: i}]\n  containers: [{name: c, image: i}]\n", 422, "spec.containers[0].name"},
		{"invalid name", "apiVersion: v1\nkind: Pod\nmetadata: {name: My_Pod}\nspec:\n  containers: [{name: c, image: i}]\n", 422, "metadata.name"},
		{"probe on a plain init container", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  initContainers: [{name: i, image: i, livenessProbe: {exec: {command: [x]}}}]\n  containers: [{name: c, image: i}]\n", 422, "spec.initContainers[0].livenessProbe"},
		{"unknown field", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: i, imagePullPolicyy: Always}]\n", 400, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Decode([]byte(tc.yaml))
			if err == nil {
				Default(objs[0])
				err = Validate(objs[0])
			}
			se := AsStatusError(err)
			if se == nil || se.Code() != tc.code {
				t.Fatalf("err %v, want code %d", err, tc.code)
			}
			if tc.field == "" {
				return
			}
			found := false
			for _, c := range se.Status().Details.Causes {
				found = found || c.Field == tc.field
			}
			if !found || !strings.Contains(se.Error(), tc.field) {
				t.Fatalf("no cause for %s in %v", tc.field, se.Status().Details.Causes)
			}
		})
	}
}
