package robust

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/podrun/podrun/integration/harness"
)

const image = "busybox:1.28"

// httpServe runs busybox httpd on :8080 until signalled: probes against it
// are cheap (no runc exec) and do not fail on a busy host.
const httpServe = "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www"

// forever sleeps in the background so SIGTERM ends it at once.
const forever = "trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done"

func shell(name, script string) corev1.Container {
	return corev1.Container{Name: name, Image: image, Command: []string{"sh", "-c", script},
		VolumeMounts: []corev1.VolumeMount{{Name: "shared", MountPath: "/shared"}}}
}

// httpProbe is a lenient probe against httpServe: a loaded host must not
// make it fail.
func httpProbe() *corev1.Probe {
	return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
		Path: "/", Port: intstr.FromInt32(8080)}},
		PeriodSeconds: 2, TimeoutSeconds: 5, FailureThreshold: 5}
}

func withProbes(c corev1.Container, readiness, startup bool) corev1.Container {
	if readiness {
		c.ReadinessProbe = httpProbe()
	}
	if startup {
		c.StartupProbe = httpProbe()
		c.StartupProbe.FailureThreshold = 30
	}
	return c
}

func sidecar(c corev1.Container) corev1.Container {
	c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
	return c
}

// newPod builds a pod whose containers mount the client's host dir at
// /shared (subdirectory = pod name).
func newPod(c *harness.Client, name string, policy corev1.RestartPolicy, inits []corev1.Container, apps ...corev1.Container) *corev1.Pod {
	return &corev1.Pod{
		TypeMeta:   typeMeta("v1", "Pod"),
		ObjectMeta: objectMeta(name),
		Spec:       podSpec(c, name, policy, inits, apps),
	}
}

func podSpec(c *harness.Client, dir string, policy corev1.RestartPolicy, inits, apps []corev1.Container) corev1.PodSpec {
	return corev1.PodSpec{
		RestartPolicy:                 policy,
		TerminationGracePeriodSeconds: ptr.To[int64](2),
		InitContainers:                inits,
		Containers:                    apps,
		Volumes: []corev1.Volume{{Name: "shared", VolumeSource: corev1.VolumeSource{
			HostPath: &corev1.HostPathVolumeSource{Path: c.HostDir + "/" + dir,
				Type: ptr.To(corev1.HostPathDirectoryOrCreate)}}}},
	}
}

func newJob(c *harness.Client, name string, app corev1.Container) *batchv1.Job {
	return &batchv1.Job{
		TypeMeta:   typeMeta("batch/v1", "Job"),
		ObjectMeta: objectMeta(name),
		Spec: batchv1.JobSpec{BackoffLimit: ptr.To[int32](0), Template: corev1.PodTemplateSpec{
			Spec: podSpec(c, name, corev1.RestartPolicyNever, nil, []corev1.Container{app})}},
	}
}

// applyAll applies objects as one v1 List (one podctl run).
func applyAll(t *testing.T, c *harness.Client, objs ...any) {
	t.Helper()
	items := make([]json.RawMessage, 0, len(objs))
	for _, o := range objs {
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, b)
	}
	list, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	out := c.Apply(string(list))
	if n := strings.Count(out, "created"); n != len(objs) {
		t.Fatalf("apply created %d of %d objects:\n%s", n, len(objs), out)
	}
}

func allStatuses(p *corev1.Pod) []corev1.ContainerStatus {
	return append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
}

func isReady(p *corev1.Pod) bool {
	if p == nil {
		return false
	}
	for _, cd := range p.Status.Conditions {
		if cd.Type == corev1.PodReady {
			return cd.Status == corev1.ConditionTrue
		}
	}
	return false
}

func started(s *corev1.ContainerStatus) bool { return s.Started != nil && *s.Started }

func describe(p *corev1.Pod) string { return harness.Describe(p) }

func fmtPods(pods map[string]*corev1.Pod) string {
	var b strings.Builder
	for n, p := range pods {
		fmt.Fprintf(&b, "pod %s: %s", n, describe(p))
	}
	return b.String()
}

// restartsOf is a container's restartCount, -1 while the pod or the
// status is not there yet.
func restartsOf(p *corev1.Pod, name string) int32 {
	if p == nil {
		return -1
	}
	if s := harness.ContainerStatus(p, name); s != nil {
		return s.RestartCount
	}
	return -1
}

// phaseOf is the pod's phase, "" while there is no pod.
func phaseOf(p *corev1.Pod) corev1.PodPhase {
	if p == nil {
		return ""
	}
	return p.Status.Phase
}
