package api

import (
	"sort"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// basePod is a valid pod: a plain init container, a sidecar, an app.
func basePod() *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{
			Volumes: []corev1.Volume{{Name: "data"}},
			InitContainers: []corev1.Container{
				{Name: "init", Image: "busybox:1.28"},
				{Name: "side", Image: "busybox:1.28", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)},
			},
			Containers: []corev1.Container{{Name: "app", Image: "busybox:1.28",
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}},
		},
	}
	DefaultPod(p)
	return p
}

func execProbe() *corev1.Probe {
	return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
}

// checkErrs compares the error strings exactly (order-independent).
func checkErrs(t *testing.T, errs field.ErrorList, want []string) {
	t.Helper()
	got := make([]string, len(errs))
	for i, e := range errs {
		got[i] = e.Error()
	}
	sort.Strings(got)
	w := append([]string(nil), want...)
	sort.Strings(w)
	if strings.Join(got, "\n") != strings.Join(w, "\n") {
		t.Errorf("errors:\n got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(w, "\n  "))
	}
}

// mutateCase is one row of a validation table: a change to a valid
// object and the exact errors the change must give.
type mutateCase[T any] struct {
	name   string
	mutate func(T)
	want   []string
}

type (
	podCase = mutateCase[*corev1.Pod]
	jobCase = mutateCase[*batchv1.Job]
)

// runMutateCases validates each case's change to a fresh valid object.
func runMutateCases[T any](t *testing.T, base func() T, validate func(T) field.ErrorList, cases []mutateCase[T]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := base()
			tc.mutate(obj)
			checkErrs(t, validate(obj), tc.want)
		})
	}
}

func TestValidatePodValid(t *testing.T) {
	checkErrs(t, ValidatePod(basePod()), nil)
}

func TestValidatePodRules(t *testing.T) {
	tests := []podCase{
		{"R100 init restartPolicy not a container restart policy", func(p *corev1.Pod) {
			p.Spec.InitContainers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicy("Sometimes"))
		}, []string{`spec.initContainers[0].restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "Never", "OnFailure"`}},
		{"R100 restartPolicy on a regular container", func(p *corev1.Pod) {
			p.Spec.Containers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
		}, nil},
		{"R3 probes and lifecycle on a plain init container", func(p *corev1.Pod) {
			c := &p.Spec.InitContainers[0]
			c.LivenessProbe, c.ReadinessProbe, c.StartupProbe = execProbe(), execProbe(), execProbe()
			c.Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"x"}}}}
		}, []string{
			`spec.initContainers[0].lifecycle: Forbidden: may not be set for init containers without restartPolicy=Always`,
			`spec.initContainers[0].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always`,
			`spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always`,
			`spec.initContainers[0].startupProbe: Forbidden: may not be set for init containers without restartPolicy=Always`,
		}},
		{"R4 sidecar probes and hooks are allowed", func(p *corev1.Pod) {
			c := &p.Spec.InitContainers[1]
			c.LivenessProbe, c.ReadinessProbe, c.StartupProbe = execProbe(), execProbe(), execProbe()
			c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 5}}}
			DefaultPod(p)
		}, nil},
		{"R4 sidecar probes are validated like regular ones", func(p *corev1.Pod) {
			c := &p.Spec.InitContainers[1]
			c.LivenessProbe = execProbe()
			c.LivenessProbe.HTTPGet = &corev1.HTTPGetAction{Port: intstr.FromInt32(80)}
			c.LivenessProbe.SuccessThreshold = 2
			c.StartupProbe = execProbe()
			c.StartupProbe.SuccessThreshold = 3
			c.ReadinessProbe = execProbe()
			c.ReadinessProbe.TerminationGracePeriodSeconds = ptr.To[int64](5)
			DefaultPod(p)
		}, []string{
			`spec.initContainers[1].livenessProbe.httpGet: Forbidden: may not specify more than 1 handler type`,
			`spec.initContainers[1].livenessProbe.successThreshold: Invalid value: 2: must be 1`,
			`spec.initContainers[1].startupProbe.successThreshold: Invalid value: 3: must be 1`,
			`spec.initContainers[1].readinessProbe.terminationGracePeriodSeconds: Invalid value: 5: must not be set for readinessProbes`,
		}},
		{"R4 probe without handler, probe-level grace not positive", func(p *corev1.Pod) {
			p.Spec.Containers[0].LivenessProbe = &corev1.Probe{TerminationGracePeriodSeconds: ptr.To[int64](0)}
			DefaultPod(p)
		}, []string{
			`spec.containers[0].livenessProbe: Required value: must specify a handler type`,
			`spec.containers[0].livenessProbe.terminationGracePeriodSeconds: Invalid value: 0: must be greater than 0`,
		}},
		{"R4 hook with two handlers and no handler", func(p *corev1.Pod) {
			p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{
				PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"x"}}, Sleep: &corev1.SleepAction{Seconds: 1}},
				PreStop:   &corev1.LifecycleHandler{},
			}
		}, []string{
			`spec.containers[0].lifecycle.postStart.sleep: Forbidden: may not specify more than 1 handler type`,
			`spec.containers[0].lifecycle.preStop: Required value: must specify a handler type`,
		}},
		{"R5 duplicate names across init and regular containers", func(p *corev1.Pod) {
			p.Spec.Containers[0].Name = "side"
			p.Spec.InitContainers[0].Name = "side"
		}, []string{
			`spec.initContainers[1].name: Duplicate value: "side"`,
			`spec.containers[0].name: Duplicate value: "side"`,
		}},
		{"R5 host ports: init containers one by one, regular together", func(p *corev1.Pod) {
			port := []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080, Protocol: corev1.ProtocolTCP}}
			p.Spec.InitContainers[0].Ports = port
			p.Spec.InitContainers[1].Ports = port
			p.Spec.Containers[0].Ports = port
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "app2", Image: "busybox",
				ImagePullPolicy: corev1.PullAlways, TerminationMessagePolicy: corev1.TerminationMessageReadFile, Ports: port})
		}, []string{`spec.containers[1].ports[0].hostPort: Duplicate value: "/TCP/8080"`}},
		{"R6 probe minimums", func(p *corev1.Pod) {
			pr := execProbe()
			pr.InitialDelaySeconds, pr.TimeoutSeconds, pr.PeriodSeconds, pr.FailureThreshold = -1, -2, 0, 0
			pr.SuccessThreshold = 1
			p.Spec.Containers[0].ReadinessProbe = pr
		}, []string{
			`spec.containers[0].readinessProbe.initialDelaySeconds: Invalid value: -1: must be greater than or equal to 0`,
			`spec.containers[0].readinessProbe.timeoutSeconds: Invalid value: -2: must be greater than or equal to 0`,
			`spec.containers[0].readinessProbe.periodSeconds: Invalid value: 0: must be greater than or equal to 1`,
			`spec.containers[0].readinessProbe.failureThreshold: Invalid value: 0: must be greater than or equal to 1`,
		}},
		{"R8 resizePolicy on init containers", func(p *corev1.Pod) {
			rp := []corev1.ContainerResizePolicy{{ResourceName: corev1.ResourceCPU, RestartPolicy: corev1.NotRequired}}
			p.Spec.InitContainers[0].ResizePolicy = rp
			p.Spec.InitContainers[1].ResizePolicy = rp
			p.Spec.Containers[0].ResizePolicy = rp
		}, []string{
			`spec.initContainers[0].resizePolicy: Forbidden: must not be set for init containers`,
			`spec.initContainers[1].resizePolicy: Forbidden: must not be set for init containers`,
		}},
		{"R9 at least one regular container", func(p *corev1.Pod) { p.Spec.Containers = nil },
			[]string{`spec.containers: Required value`}},
		{"image required and trimmed", func(p *corev1.Pod) {
			p.Spec.Containers[0].Image = ""
			p.Spec.InitContainers[0].Image = " busybox"
		}, []string{
			`spec.containers[0].image: Required value`,
			`spec.initContainers[0].image: Invalid value: " busybox": must not have leading or trailing whitespace`,
		}},
		{"container names are DNS labels", func(p *corev1.Pod) {
			p.Spec.Containers[0].Name = "App_1"
			p.Spec.InitContainers[0].Name = ""
		}, []string{
			`spec.containers[0].name: Invalid value: "App_1": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
			`spec.initContainers[0].name: Required value`,
		}},
		{"metadata name, namespace, labels", func(p *corev1.Pod) {
			p.Name = "Web!"
			p.Namespace = "Bad_NS"
			p.Labels = map[string]string{"ok": "bad value!"}
		}, []string{
			`metadata.name: Invalid value: "Web!": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
			`metadata.namespace: Invalid value: "Bad_NS": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
			`metadata.labels: Invalid value: "bad value!": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
		}},
		{"name required", func(p *corev1.Pod) { p.Name = "" },
			[]string{`metadata.name: Required value: name or generateName is required`}},
		{"pod restartPolicy, dnsPolicy, grace, deadline", func(p *corev1.Pod) {
			p.Spec.RestartPolicy = "Sometimes"
			p.Spec.DNSPolicy = corev1.DNSNone
			p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](-1)
			p.Spec.ActiveDeadlineSeconds = ptr.To[int64](0)
		}, []string{
			`spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"`,
			"spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None",
			`spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive`,
		}},
		{"hostNetwork hostPort must equal containerPort", func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 81, Protocol: corev1.ProtocolTCP}}
		}, []string{"spec.containers[0].ports[0].hostPort: Invalid value: 81: must match `containerPort` when `hostNetwork` is true"}},
		{"ports", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{
				{Name: "http", ContainerPort: 0, Protocol: corev1.ProtocolTCP},
				{Name: "http", ContainerPort: 70000, Protocol: "ICMP"},
			}
		}, []string{
			`spec.containers[0].ports[0].containerPort: Required value`,
			`spec.containers[0].ports[1].name: Duplicate value: "http"`,
			`spec.containers[0].ports[1].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive`,
			`spec.containers[0].ports[1].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"`,
		}},
		{"resources", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), "pods": resource.MustParse("1")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("-1")},
			}
		}, []string{
			`spec.containers[0].resources.limits[pods]: Invalid value: "pods": must be a standard resource for containers`,
			`spec.containers[0].resources.requests[memory]: Invalid value: "-1": must be greater than or equal to 0`,
			`spec.containers[0].resources.requests: Invalid value: "200m": must be less than or equal to cpu limit of 100m`,
		}},
	}
	runMutateCases(t, basePod, ValidatePod, tests)
}
