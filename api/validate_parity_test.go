package api

import (
	"sort"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// fieldTypes is each error as "path: type", sorted.
func fieldTypes(errs field.ErrorList) string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Field + ": " + string(e.Type)
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

// Each difference the differential test against the API server found, as
// the API server answers it (path and type of every error).
func TestValidatePodParity(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *corev1.Pod)
		want   string
	}{
		{"tolerations", func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: "Sometimes"}, {Key: "k", Operator: corev1.TolerationOpExists, Value: "v"},
				{Operator: corev1.TolerationOpEqual}, {Key: "k", TolerationSeconds: ptr.To[int64](1), Effect: corev1.TaintEffectNoSchedule}}
		}, "spec.tolerations[0].operator: FieldValueNotSupported; spec.tolerations[1].operator: FieldValueInvalid; " +
			"spec.tolerations[2].operator: FieldValueInvalid; spec.tolerations[3].effect: FieldValueInvalid"},
		{"scheduling names and enums", func(p *corev1.Pod) {
			p.Spec.PriorityClassName, p.Spec.RuntimeClassName = "Bad_Class", ptr.To("Bad_RC")
			p.Spec.PreemptionPolicy, p.Spec.OS = ptr.To(corev1.PreemptionPolicy("Sometimes")), &corev1.PodOS{Name: "plan9"}
			p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "bad type!"}}
			p.Spec.HostnameOverride = ptr.To("Bad_Override")
		}, "spec.hostnameOverride: FieldValueInvalid; spec.os: FieldValueNotSupported; spec.preemptionPolicy: FieldValueNotSupported; " +
			"spec.priorityClassName: FieldValueInvalid; spec.readinessGates[0].conditionType: FieldValueInvalid; spec.runtimeClassName: FieldValueInvalid"},
		{"spread and affinity", func(p *corev1.Pod) {
			p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{WhenUnsatisfiable: "Sometimes"}}
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{}}}
		}, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: FieldValueRequired; " +
			"spec.topologySpreadConstraints[0].maxSkew: FieldValueInvalid; spec.topologySpreadConstraints[0].topologyKey: FieldValueRequired; " +
			"spec.topologySpreadConstraints[0].whenUnsatisfiable: FieldValueNotSupported"},
		{"ephemeral containers on create", func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "e", Image: "i"}}}
		}, "spec.ephemeralContainers: FieldValueForbidden"},
		{"security profiles, procMount, fsGroupChangePolicy", func(p *corev1.Pod) {
			p.Spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost}
			p.Spec.SecurityContext.FSGroupChangePolicy = ptr.To(corev1.PodFSGroupChangePolicy("Sometimes"))
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{ProcMount: ptr.To(corev1.ProcMountType("Sometimes")),
				AppArmorProfile: &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeLocalhost}}
		}, "spec.containers[0].securityContext.appArmorProfile.localhostProfile: FieldValueRequired; " +
			"spec.containers[0].securityContext.procMount: FieldValueNotSupported; spec.securityContext.fsGroupChangePolicy: FieldValueNotSupported; " +
			"spec.securityContext.seccompProfile.localhostProfile: FieldValueRequired"},
		{"resize policy", func(p *corev1.Pod) {
			p.Spec.Containers[0].ResizePolicy = []corev1.ContainerResizePolicy{{ResourceName: "gpu", RestartPolicy: "Sometimes"}}
		}, "spec.containers[0].resizePolicy: FieldValueNotSupported; spec.containers[0].resizePolicy: FieldValueNotSupported"},
		{"extended resources are whole and need a limit", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{"example.com/dongle": resource.MustParse("1.5")},
				Requests: corev1.ResourceList{"example.com/gadget": resource.MustParse("1")}}
		}, "spec.containers[0].resources.limits: FieldValueRequired; spec.containers[0].resources.limits[example.com/dongle]: FieldValueInvalid"},
		{"finalizers need a domain unless standard", func(p *corev1.Pod) {
			p.Finalizers = []string{"kubernetes", "orphan", "mine", "example.com/mine"}
		}, "metadata.finalizers[2]: FieldValueInvalid"},
		{"image whitespace and empty pull secret name", func(p *corev1.Pod) {
			p.Spec.Containers[0].Image = " busybox"
			p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{}}
		}, "spec.containers[0].image: FieldValueInvalid"},
		{"an invalid volume declares no name", func(p *corev1.Pod) {
			p.Spec.Volumes[0].VolumeSource = corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: ""}}
		}, "spec.containers[0].volumeMounts[0].name: FieldValueNotFound; spec.volumes[0].hostPath.path: FieldValueRequired"},
		{"a volume podrun does not run still declares its name", func(p *corev1.Pod) {
			p.Spec.Volumes[0].VolumeSource = corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "s", Path: "/p"}}
		}, "spec.volumes[0].nfs: FieldValueForbidden"},
		{"an empty projection is accepted, a token is not run", func(p *corev1.Pod) {
			p.Spec.Volumes[0].VolumeSource = corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{},
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "t"}}}}}
		}, "spec.volumes[0].projected.sources[1].serviceAccountToken: FieldValueForbidden"},
		{"another node, gates and claims are not run", func(p *corev1.Pod) {
			p.Spec.NodeName = ThisNode() + "-other"
			p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/gate"}}
			p.Spec.ResourceClaims = []corev1.PodResourceClaim{{Name: "c", ResourceClaimName: ptr.To("rc")}}
		}, "spec.nodeName: FieldValueForbidden; spec.resourceClaims: FieldValueForbidden; spec.schedulingGates: FieldValueForbidden"},
		{"the second volume source is named in the API server's order and spelling", func(p *corev1.Pod) {
			p.Spec.Volumes[0].VolumeSource = corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp"},
				EmptyDir: &corev1.EmptyDirVolumeSource{}, DownwardAPI: &corev1.DownwardAPIVolumeSource{}}
		}, "spec.containers[0].volumeMounts[0].name: FieldValueNotFound; spec.volumes[0].downwarAPI: FieldValueForbidden; spec.volumes[0].hostPath: FieldValueForbidden"},
		{"dnsPolicy None without nameservers says only that", func(p *corev1.Pod) {
			p.Spec.DNSPolicy = corev1.DNSNone
			p.Spec.DNSConfig = &corev1.PodDNSConfig{Searches: []string{"Bad_Search"}}
		}, "spec.dnsConfig.nameservers: FieldValueRequired"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := basePod()
			p.Spec.Volumes[0].EmptyDir = &corev1.EmptyDirVolumeSource{}
			tc.mutate(p)
			if got := fieldTypes(ValidatePod(p)); got != tc.want {
				t.Errorf("errors:\n got: %s\nwant: %s", got, tc.want)
			}
		})
	}
}

// Pod defaulting the API server does before it validates.
func TestDefaultPodParity(t *testing.T) {
	p := basePod()
	p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](-5)
	p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{StopSignal: ptr.To(corev1.SIGTERM)}
	DefaultPod(p)
	if *p.Spec.TerminationGracePeriodSeconds != 1 || p.Spec.Containers[0].Lifecycle != nil {
		t.Fatalf("grace %d, lifecycle %+v: want 1 and no lifecycle", *p.Spec.TerminationGracePeriodSeconds, p.Spec.Containers[0].Lifecycle)
	}
}

// Job differences the differential test found, as the API server answers.
func TestValidateJobParity(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(j *batchv1.Job) // before the selector is generated
		want   string
	}{
		{"a user's selector is kept and judged", func(j *batchv1.Job) {
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"other": "x"}}
		}, "spec.selector: FieldValueInvalid; spec.template.metadata.labels: FieldValueInvalid"},
		{"a template label that conflicts with the generated one", func(j *batchv1.Job) {
			j.Spec.Template.Labels = map[string]string{"job-name": "other"}
		}, "spec.template.metadata.labels[job-name]: FieldValueInvalid"},
		{"maxFailedIndexes needs Indexed", func(j *batchv1.Job) {
			j.Spec.MaxFailedIndexes = ptr.To[int32](1)
		}, "spec.backoffLimitPerIndex: FieldValueRequired; spec.maxFailedIndexes: FieldValueInvalid"},
		{"Indexed limits", func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
			j.Spec.Completions, j.Spec.Parallelism = ptr.To[int32](200000), ptr.To[int32](200000)
			j.Spec.BackoffLimitPerIndex = ptr.To[int32](1)
		}, "spec.maxFailedIndexes: FieldValueRequired; spec.parallelism: FieldValueInvalid; spec.parallelism: FieldValueInvalid"},
		{"succeededCount at most the succeededIndexes", func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
			j.Spec.Completions = ptr.To[int32](10)
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr.To("0,2-3"), SucceededCount: ptr.To[int32](4)}}}
		}, "spec.successPolicy.rules[0].succeededCount: FieldValueInvalid"},
		{"an Indexed Job's name leaves room for the index", func(j *batchv1.Job) {
			j.Name = strings.Repeat("a", 60)
			j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
			j.Spec.Completions = ptr.To[int32](1000)
		}, "metadata.name: FieldValueInvalid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "default", UID: "uid-1"},
				Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "pi", Image: "busybox"}}}}}}
			tc.mutate(j)
			DefaultJob(j)
			GenerateJobSelector(j)
			if got := fieldTypes(ValidateJob(j)); got != tc.want {
				t.Errorf("errors:\n got: %s\nwant: %s", got, tc.want)
			}
		})
	}
}

// The Job's labels: shared with the template's when they came from it
// (so they get the generated ones too), the generated ones when it had
// none, and the user's own otherwise.
func TestGenerateJobSelectorLabels(t *testing.T) {
	for name, tc := range map[string]struct {
		labels, template map[string]string
		wantJobName      bool
	}{
		"from the template": {nil, map[string]string{"app": "x"}, true},
		"none at all":       {nil, nil, true},
		"the user's own":    {map[string]string{"team": "a"}, map[string]string{"app": "x"}, false},
	} {
		j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "pi", UID: "uid-1", Labels: tc.labels},
			Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: tc.template}}}}
		DefaultJob(j)
		GenerateJobSelector(j)
		if _, got := j.Labels[batchv1.JobNameLabel]; got != tc.wantJobName {
			t.Errorf("%s: labels %v, want job-name %v", name, j.Labels, tc.wantJobName)
		}
	}
}
