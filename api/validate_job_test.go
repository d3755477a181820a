package api

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func baseJob() *batchv1.Job {
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "pi", UID: "uid-1"},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy:  corev1.RestartPolicyNever,
			InitContainers: []corev1.Container{{Name: "proxy", Image: "busybox:1.28", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)}},
			Containers:     []corev1.Container{{Name: "pi", Image: "busybox:1.28"}},
		}}},
	}
	DefaultJob(j)
	GenerateJobSelector(j)
	return j
}

func TestValidateJobValid(t *testing.T) {
	checkErrs(t, ValidateJob(baseJob()), nil)
	// Before the server generated the selector (no UID yet) the Job is valid too.
	j := baseJob()
	j.UID, j.Spec.Selector = "", nil
	checkErrs(t, ValidateJob(j), nil)
}

func TestValidateJobRules(t *testing.T) {
	tests := []jobCase{
		{"template restartPolicy Always is refused", func(j *batchv1.Job) {
			j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
		}, []string{`spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"`}},
		{"negative counts", func(j *batchv1.Job) {
			j.Spec.Parallelism, j.Spec.Completions, j.Spec.BackoffLimit = ptr.To[int32](-1), ptr.To[int32](-1), ptr.To[int32](-1)
			j.Spec.TTLSecondsAfterFinished, j.Spec.ActiveDeadlineSeconds = ptr.To[int32](-1), ptr.To[int64](-1)
		}, []string{
			`spec.parallelism: Invalid value: -1: must be greater than or equal to 0`,
			`spec.completions: Invalid value: -1: must be greater than or equal to 0`,
			`spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0`,
			`spec.ttlSecondsAfterFinished: Invalid value: -1: must be greater than or equal to 0`,
			`spec.activeDeadlineSeconds: Invalid value: -1: must be greater than or equal to 0`,
		}},
		{"Indexed needs completions", func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
			j.Spec.Completions = nil
		}, []string{`spec.completions: Required value: when completion mode is Indexed`}},
		{"unknown completion mode", func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptr.To(batchv1.CompletionMode("Sometimes"))
		}, []string{`spec.completionMode: Unsupported value: "Sometimes": supported values: "NonIndexed", "Indexed"`}},
		{"podFailurePolicy needs restartPolicy Never (R-V3)", func(j *batchv1.Job) {
			j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action:      batchv1.PodFailurePolicyActionFailJob,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}},
			}}}
			j.Spec.PodReplacementPolicy = ptr.To(batchv1.Failed)
		}, []string{`spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified`}},
		{"podFailurePolicy rules", func(j *batchv1.Job) {
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
				{Action: "Explode", OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{ContainerName: ptr.To("nope"),
					Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{0, 3, 2, 2}}},
				{Action: batchv1.PodFailurePolicyActionIgnore},
				{Action: batchv1.PodFailurePolicyActionFailIndex, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{
					{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}},
			}}
		}, []string{
			`spec.podFailurePolicy.rules[0].action: Unsupported value: "Explode": supported values: "Count", "FailIndex", "FailJob", "Ignore"`,
			`spec.podFailurePolicy.rules[0].onExitCodes.containerName: Invalid value: "nope": must be one of the container or initContainer names in the pod template`,
			`spec.podFailurePolicy.rules[0].onExitCodes.values[0]: Invalid value: 0: must not be 0 for the In operator`,
			`spec.podFailurePolicy.rules[0].onExitCodes.values[2]: Invalid value: 2: must be ordered`,
			`spec.podFailurePolicy.rules[0].onExitCodes.values[3]: Duplicate value: 2`,
			`spec.podFailurePolicy.rules[1]: Invalid value: specifying one of OnExitCodes and OnPodConditions is required`,
			`spec.podFailurePolicy.rules[2].action: Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set`,
			`spec.podReplacementPolicy: Unsupported value: "TerminatingOrFailed": supported values: "Failed"`,
		}},
		{"successPolicy needs Indexed", func(j *batchv1.Job) {
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededCount: ptr.To[int32](2)}, {}}}
		}, []string{
			`spec.successPolicy: Invalid value: requires indexed completion mode`,
		}},
		{"successPolicy indexes", func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
			j.Spec.Completions = ptr.To[int32](5)
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{
				{SucceededIndexes: ptr.To("0,2-4")}, {SucceededIndexes: ptr.To("3,1")}, {SucceededIndexes: ptr.To("7")}}}
		}, []string{
			`spec.successPolicy.rules[1].succeededIndexes: Invalid value: "3,1": error parsing succeededIndexes: non-increasing order, previous: 3, current: 1`,
			`spec.successPolicy.rules[2].succeededIndexes: Invalid value: "7": error parsing succeededIndexes: too large: 7`,
		}},
		{"selector not generated", func(j *batchv1.Job) {
			j.Spec.Selector.MatchLabels = map[string]string{"app": "x"}
		}, []string{
			"spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"x\"}}: `selector` not auto-generated",
			"spec.template.metadata.labels: Invalid value: {\"batch.kubernetes.io/controller-uid\":\"uid-1\",\"batch.kubernetes.io/job-name\":\"pi\",\"controller-uid\":\"uid-1\",\"job-name\":\"pi\"}: `selector` does not match template `labels`",
		}},
		{"manualSelector needs a selector", func(j *batchv1.Job) {
			j.Spec.ManualSelector = ptr.To(true)
			j.Spec.Selector = nil
		}, []string{`spec.selector: Required value`, `spec.template.metadata.labels: Invalid value: {"batch.kubernetes.io/controller-uid":"uid-1","batch.kubernetes.io/job-name":"pi","controller-uid":"uid-1","job-name":"pi"}: ` + "`selector` does not match template `labels`"}},
		{"a name too long for the job-name label is refused at the template's labels", func(j *batchv1.Job) {
			j.Name, j.Labels, j.Spec.Template.Labels, j.Spec.Selector = strings.Repeat("a", 64), nil, nil, nil
			GenerateJobSelector(j)
		}, []string{
			`spec.template.labels: Invalid value: "` + strings.Repeat("a", 64) + `": must be no more than 63 bytes`,
			`spec.template.labels: Invalid value: "` + strings.Repeat("a", 64) + `": must be no more than 63 bytes`,
		}},
		{"template pod spec is validated with its path", func(j *batchv1.Job) {
			j.Spec.Template.Spec.Containers[0].Image = ""
			j.Spec.Template.Spec.InitContainers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicy("Sometimes"))
		}, []string{
			`spec.template.spec.containers[0].image: Required value`,
			`spec.template.spec.initContainers[0].restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "Never", "OnFailure"`,
		}},
	}
	runMutateCases(t, baseJob, ValidateJob, tests)
}

func TestParseIndexes(t *testing.T) {
	got, err := ParseIndexes("0,2-4,7", 8)
	if err != nil || len(got) != 5 || got[0] != 0 || got[1] != 2 || got[3] != 4 || got[4] != 7 {
		t.Fatalf("got %v %v", got, err)
	}
	for _, bad := range []string{"a", "1-", "4-2", "1,1", "0-2,2", "8", "0-999999999"} {
		if _, err := ParseIndexes(bad, 8); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestValidateJobUpdate(t *testing.T) {
	old := baseJob()
	checkErrs(t, ValidateJobUpdate(baseJob(), old), nil)

	ok := baseJob()
	ok.Spec.Parallelism, ok.Spec.Suspend, ok.Spec.ActiveDeadlineSeconds = ptr.To[int32](3), ptr.To(true), ptr.To[int64](10)
	checkErrs(t, ValidateJobUpdate(ok, old), nil)

	bad := baseJob()
	bad.Spec.Template.Spec.Containers[0].Image = "busybox:1.36"
	bad.Spec.Completions = ptr.To[int32](2)
	errs := ValidateJobUpdate(bad, old)
	if len(errs) != 2 || errs[0].Field != "spec.template" || errs[1].Field != "spec.completions" ||
		!strings.Contains(errs[0].Error(), "field is immutable") {
		t.Fatalf("errors %v", errs)
	}

	elasticOld := baseJob()
	elasticOld.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
	elasticOld.Spec.Completions, elasticOld.Spec.Parallelism = ptr.To[int32](4), ptr.To[int32](4)
	elastic := elasticOld.DeepCopy()
	elastic.Spec.Completions, elastic.Spec.Parallelism = ptr.To[int32](6), ptr.To[int32](6)
	checkErrs(t, ValidateJobUpdate(elastic, elasticOld), nil)

	// As the API server: an Indexed Job's completions change in tandem
	// with parallelism (whatever they were), managedBy is immutable,
	// manualSelector is not.
	unequal := elasticOld.DeepCopy()
	unequal.Spec.Parallelism = ptr.To[int32](2)
	tandem := unequal.DeepCopy()
	tandem.Spec.Completions, tandem.Spec.Parallelism = ptr.To[int32](7), ptr.To[int32](7)
	checkErrs(t, ValidateJobUpdate(tandem, unequal), nil)
	alone := unequal.DeepCopy()
	alone.Spec.Completions = ptr.To[int32](7)
	checkErrs(t, ValidateJobUpdate(alone, unequal), []string{`spec.completions: Invalid value: 7: can only be modified in tandem with spec.parallelism`})
	managed := baseJob()
	managed.Spec.ManagedBy, managed.Spec.ManualSelector = ptr.To("example.com/other"), ptr.To(true)
	checkErrs(t, ValidateJobUpdate(managed, old), []string{`spec.managedBy: Invalid value: "example.com/other": field is immutable`})
}
