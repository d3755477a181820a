package api

import (
	"math"
	"reflect"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestPullPolicyFor(t *testing.T) {
	tests := map[string]corev1.PullPolicy{
		"busybox":                          corev1.PullAlways,
		"busybox:latest":                   corev1.PullAlways,
		"busybox:1.28":                     corev1.PullIfNotPresent,
		"localhost:5000/busybox":           corev1.PullAlways,
		"localhost:5000/busybox:latest":    corev1.PullAlways,
		"localhost:5000/team/busybox:v2":   corev1.PullIfNotPresent,
		"busybox@sha256:" + sha:            corev1.PullIfNotPresent,
		"busybox:latest@sha256:" + sha:     corev1.PullIfNotPresent,
		"docker.io/library/busybox:1.36.1": corev1.PullIfNotPresent,
	}
	for img, want := range tests {
		if got := PullPolicyFor(img); got != want {
			t.Errorf("PullPolicyFor(%q) = %s, want %s", img, got, want)
		}
	}
}

const sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestDefaultPod(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec: corev1.PodSpec{
			HostNetwork: true,
			InitContainers: []corev1.Container{{Name: "side", Image: "busybox", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways),
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(80)}}}}},
			Containers: []corev1.Container{{
				Name: "app", Image: "busybox:1.28",
				Ports:     []corev1.ContainerPort{{ContainerPort: 8080}},
				Env:       []corev1.EnvVar{{Name: "N", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}},
				Lifecycle: &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/stop", Port: intstr.FromString("http")}}},
			}},
			Volumes: []corev1.Volume{
				{Name: "empty"},
				{Name: "cm", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}}}},
				{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}},
				{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp"}}},
			},
		},
	}
	DefaultPod(pod)
	s := pod.Spec
	if pod.Kind != "Pod" || pod.APIVersion != "v1" {
		t.Errorf("TypeMeta %+v", pod.TypeMeta)
	}
	// R7 and the other pod-level defaults.
	if s.RestartPolicy != corev1.RestartPolicyAlways || *s.TerminationGracePeriodSeconds != 30 ||
		s.DNSPolicy != corev1.DNSClusterFirst || s.SchedulerName != "default-scheduler" ||
		s.SecurityContext == nil || !*s.EnableServiceLinks {
		t.Errorf("pod defaults: %+v", s)
	}
	side, app := s.InitContainers[0], s.Containers[0]
	if side.ImagePullPolicy != corev1.PullAlways || app.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("pull policies %s %s", side.ImagePullPolicy, app.ImagePullPolicy)
	}
	if app.TerminationMessagePath != "/dev/termination-log" || app.TerminationMessagePolicy != corev1.TerminationMessageReadFile {
		t.Errorf("termination message %q %q", app.TerminationMessagePath, app.TerminationMessagePolicy)
	}
	// R6 probe defaults; httpGet scheme and path.
	rp := side.ReadinessProbe
	if rp.TimeoutSeconds != 1 || rp.PeriodSeconds != 10 || rp.SuccessThreshold != 1 || rp.FailureThreshold != 3 || rp.InitialDelaySeconds != 0 {
		t.Errorf("R6 probe defaults %+v", rp)
	}
	if rp.HTTPGet.Scheme != corev1.URISchemeHTTP || rp.HTTPGet.Path != "/" {
		t.Errorf("httpGet defaults %+v", rp.HTTPGet)
	}
	if h := app.Lifecycle.PreStop.HTTPGet; h.Path != "/stop" || h.Scheme != corev1.URISchemeHTTP {
		t.Errorf("preStop httpGet %+v", h)
	}
	if p := app.Ports[0]; p.Protocol != corev1.ProtocolTCP || p.HostPort != 8080 {
		t.Errorf("port defaults with hostNetwork %+v", p)
	}
	if app.Env[0].ValueFrom.FieldRef.APIVersion != "v1" {
		t.Errorf("fieldRef apiVersion %q", app.Env[0].ValueFrom.FieldRef.APIVersion)
	}
	if q := app.Resources.Requests[corev1.ResourceCPU]; q.String() != "500m" {
		t.Errorf("requests from limits: %v", app.Resources.Requests)
	}
	v := s.Volumes
	if v[0].EmptyDir == nil || *v[1].ConfigMap.DefaultMode != 0o644 || *v[2].Secret.DefaultMode != 0o644 ||
		v[3].HostPath.Type == nil || *v[3].HostPath.Type != corev1.HostPathUnset {
		t.Errorf("volume defaults %+v", v)
	}
	again := pod.DeepCopy()
	DefaultPod(again)
	if !reflect.DeepEqual(pod, again) {
		t.Error("defaulting twice changed the pod")
	}
}

func TestDefaultPodKeepsExplicitValues(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever, TerminationGracePeriodSeconds: ptr.To[int64](0), DNSPolicy: corev1.DNSNone,
		Containers: []corev1.Container{{Name: "c", Image: "busybox", ImagePullPolicy: corev1.PullNever,
			LivenessProbe: &corev1.Probe{PeriodSeconds: 2, FailureThreshold: 7}}},
	}}
	DefaultPod(pod)
	s := pod.Spec
	if s.RestartPolicy != corev1.RestartPolicyNever || *s.TerminationGracePeriodSeconds != 0 || s.DNSPolicy != corev1.DNSNone ||
		s.Containers[0].ImagePullPolicy != corev1.PullNever {
		t.Errorf("explicit values overwritten: %+v", s)
	}
	if lp := s.Containers[0].LivenessProbe; lp.PeriodSeconds != 2 || lp.FailureThreshold != 7 || lp.TimeoutSeconds != 1 {
		t.Errorf("probe %+v", lp)
	}
}

func TestDefaultSecret(t *testing.T) {
	s := &corev1.Secret{Data: map[string][]byte{"a": []byte("old"), "b": []byte("keep")}, StringData: map[string]string{"a": "new", "c": "x"}}
	DefaultSecret(s)
	if s.Type != corev1.SecretTypeOpaque || s.StringData != nil {
		t.Errorf("type %q stringData %v", s.Type, s.StringData)
	}
	want := map[string]string{"a": "new", "b": "keep", "c": "x"}
	for k, v := range want {
		if string(s.Data[k]) != v {
			t.Errorf("data[%s] = %q, want %q", k, s.Data[k], v)
		}
	}
	only := &corev1.Secret{StringData: map[string]string{"k": "v"}, Type: corev1.SecretTypeBasicAuth}
	DefaultSecret(only)
	if string(only.Data["k"]) != "v" || only.Type != corev1.SecretTypeBasicAuth {
		t.Errorf("stringData only: %+v", only)
	}
}

func TestDefaultJob(t *testing.T) {
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j"}, Spec: batchv1.JobSpec{
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox:1.28"}}}},
	}}
	DefaultJob(job)
	s := job.Spec
	if *s.Completions != 1 || *s.Parallelism != 1 || *s.BackoffLimit != 6 || *s.CompletionMode != batchv1.NonIndexedCompletion ||
		*s.Suspend || *s.ManualSelector || *s.PodReplacementPolicy != batchv1.TerminatingOrFailed {
		t.Errorf("job defaults %+v", s)
	}
	if job.Labels["app"] != "x" || job.Kind != "Job" || job.APIVersion != "batch/v1" {
		t.Errorf("labels %v typemeta %+v", job.Labels, job.TypeMeta)
	}
	// The template is defaulted like a pod: restartPolicy Always, rejected later by ValidateJob.
	if s.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways || s.Template.Spec.Containers[0].ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("template defaults %+v", s.Template.Spec)
	}

	par := &batchv1.Job{Spec: batchv1.JobSpec{Parallelism: ptr.To[int32](3), PodFailurePolicy: &batchv1.PodFailurePolicy{
		Rules: []batchv1.PodFailurePolicyRule{{Action: batchv1.PodFailurePolicyActionIgnore,
			OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget}}}}}}}
	DefaultJob(par)
	if par.Spec.Completions != nil || *par.Spec.Parallelism != 3 {
		t.Errorf("parallelism only: completions must stay unset (work queue), got %v", par.Spec.Completions)
	}
	if *par.Spec.PodReplacementPolicy != batchv1.Failed || par.Spec.PodFailurePolicy.Rules[0].OnPodConditions[0].Status != corev1.ConditionTrue {
		t.Errorf("podFailurePolicy defaults %+v", par.Spec)
	}
	perIndex := &batchv1.Job{Spec: batchv1.JobSpec{BackoffLimitPerIndex: ptr.To[int32](1)}}
	DefaultJob(perIndex)
	if *perIndex.Spec.BackoffLimit != math.MaxInt32 {
		t.Errorf("backoffLimit with backoffLimitPerIndex = %d", *perIndex.Spec.BackoffLimit)
	}
}

func TestGenerateJobSelector(t *testing.T) {
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "pi", UID: "u-1"}}
	DefaultJob(job)
	GenerateJobSelector(job)
	l := job.Spec.Template.Labels
	if l["batch.kubernetes.io/controller-uid"] != "u-1" || l["controller-uid"] != "u-1" ||
		l["batch.kubernetes.io/job-name"] != "pi" || l["job-name"] != "pi" {
		t.Errorf("template labels %v", l)
	}
	if job.Spec.Selector.MatchLabels["batch.kubernetes.io/controller-uid"] != "u-1" {
		t.Errorf("selector %+v", job.Spec.Selector)
	}
	manual := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "m", UID: "u-2"}, Spec: batchv1.JobSpec{ManualSelector: ptr.To(true)}}
	GenerateJobSelector(manual)
	if manual.Spec.Selector != nil || manual.Spec.Template.Labels != nil {
		t.Error("manualSelector: nothing may be generated")
	}
}

// SetDefaults_Pod-only defaults stay off a Job's template, as in Kubernetes.
func TestJobTemplateLacksPodOnlyDefaults(t *testing.T) {
	job := &batchv1.Job{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "c", Image: "i", Resources: corev1.ResourceRequirements{
			Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}}}}}}}}
	DefaultJob(job)
	s := job.Spec.Template.Spec
	if s.EnableServiceLinks != nil || s.Containers[0].Resources.Requests != nil {
		t.Fatalf("template got pod-only defaults: %+v", s)
	}
}

// TestDefaultProjectedDownwardAPI: a projected downwardAPI fieldRef without
// apiVersion is defaulted to v1 as the API server does, so a pod written the
// usual way passes validation.
func TestDefaultProjectedDownwardAPI(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "c", Image: "busybox:1.28",
				VolumeMounts: []corev1.VolumeMount{{Name: "proj", MountPath: "/proj"}}}},
			Volumes: []corev1.Volume{{Name: "proj", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
					{Path: "ns", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}},
				}}}},
			}}}},
		},
	}
	DefaultPod(pod)
	if got := pod.Spec.Volumes[0].Projected.Sources[0].DownwardAPI.Items[0].FieldRef.APIVersion; got != "v1" {
		t.Errorf("projected downwardAPI fieldRef.apiVersion = %q, want v1", got)
	}
	if errs := ValidatePod(pod); len(errs) > 0 {
		t.Errorf("ValidatePod after DefaultPod: %v", errs)
	}
}
