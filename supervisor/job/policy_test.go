package job

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func exitRule(action batchv1.PodFailurePolicyAction, container *string, op batchv1.PodFailurePolicyOnExitCodesOperator, codes ...int32) batchv1.PodFailurePolicyRule {
	return batchv1.PodFailurePolicyRule{Action: action, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
		ContainerName: container, Operator: op, Values: codes}}
}

// R-V3: podFailurePolicy, evaluated on Failed pods only.
func TestPodFailurePolicy(t *testing.T) {
	in, notIn := batchv1.PodFailurePolicyOnExitCodesOpIn, batchv1.PodFailurePolicyOnExitCodesOpNotIn
	tests := []struct {
		name       string
		rules      []batchv1.PodFailurePolicyRule
		exit       map[string]int32 // pi = regular, proxy = sidecar
		conditions []corev1.PodCondition
		wantFailed int32
		wantReason string
		wantMsg    string
	}{
		{"FailJob on the app's exit code",
			[]batchv1.PodFailurePolicyRule{exitRule(batchv1.PodFailurePolicyActionFailJob, nil, in, 42)},
			map[string]int32{"pi": 42}, nil, 1, "PodFailurePolicy",
			"Container pi for pod default/pi-00001 failed with exit code 42 matching FailJob rule at index 0"},
		{"a sidecar killed with 137 matches a rule without containerName (regular first, then init)",
			[]batchv1.PodFailurePolicyRule{exitRule(batchv1.PodFailurePolicyActionIgnore, nil, in, 137)},
			map[string]int32{"pi": 1, "proxy": 137}, nil, 0, "", ""},
		{"regular statuses are scanned before init statuses",
			[]batchv1.PodFailurePolicyRule{exitRule(batchv1.PodFailurePolicyActionFailJob, nil, notIn, 5)},
			map[string]int32{"pi": 3, "proxy": 137}, nil, 1, "PodFailurePolicy",
			"Container pi for pod default/pi-00001 failed with exit code 3 matching FailJob rule at index 0"},
		{"containerName filters: the sidecar's 137 does not match a rule for pi",
			[]batchv1.PodFailurePolicyRule{exitRule(batchv1.PodFailurePolicyActionIgnore, ptr.To("pi"), in, 137)},
			map[string]int32{"pi": 1, "proxy": 137}, nil, 1, "", ""},
		{"exit code 0 is never matched",
			[]batchv1.PodFailurePolicyRule{exitRule(batchv1.PodFailurePolicyActionFailJob, ptr.To("proxy"), notIn, 1)},
			map[string]int32{"pi": 1, "proxy": 0}, nil, 1, "", ""},
		{"first matching rule wins: Count before FailJob",
			[]batchv1.PodFailurePolicyRule{
				exitRule(batchv1.PodFailurePolicyActionCount, nil, in, 7),
				exitRule(batchv1.PodFailurePolicyActionFailJob, nil, in, 7)},
			map[string]int32{"pi": 7}, nil, 1, "", ""},
		{"second rule at index 1",
			[]batchv1.PodFailurePolicyRule{
				exitRule(batchv1.PodFailurePolicyActionIgnore, nil, in, 8),
				exitRule(batchv1.PodFailurePolicyActionFailJob, nil, in, 7)},
			map[string]int32{"pi": 7}, nil, 1, "PodFailurePolicy",
			"Container pi for pod default/pi-00001 failed with exit code 7 matching FailJob rule at index 1"},
		{"onPodConditions DisruptionTarget is ignored",
			[]batchv1.PodFailurePolicyRule{{Action: batchv1.PodFailurePolicyActionIgnore,
				OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}}},
			map[string]int32{"pi": 137}, []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}, 0, "", ""},
		{"onPodConditions FailJob message",
			[]batchv1.PodFailurePolicyRule{{Action: batchv1.PodFailurePolicyActionFailJob,
				OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}}},
			map[string]int32{"pi": 137}, []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}, 1,
			"PodFailurePolicy", "Pod default/pi-00001 has condition DisruptionTarget matching FailJob rule at index 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, newJob(func(j *batchv1.Job) {
				j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: tc.rules}
			}))
			h.sync()
			p := h.activePods()[0]
			h.finish(p, corev1.PodFailed, tc.exit)
			p.Status.Conditions = append(p.Status.Conditions, tc.conditions...)
			h.sync()
			if h.job.Status.Failed != tc.wantFailed {
				t.Errorf("failed %d, want %d", h.job.Status.Failed, tc.wantFailed)
			}
			if tc.wantReason == "" {
				h.wantNoCondition(batchv1.JobFailed)
				return
			}
			h.wantCondition(batchv1.JobFailureTarget, corev1.ConditionTrue, tc.wantReason, tc.wantMsg)
			h.wantCondition(batchv1.JobFailed, corev1.ConditionTrue, tc.wantReason, tc.wantMsg)
		})
	}
}

// An ignored failure is not counted and its pod is replaced.
func TestIgnoredFailureIsReplaced(t *testing.T) {
	h := newHarness(t, newJob(func(j *batchv1.Job) {
		j.Spec.BackoffLimit = ptr.To[int32](0)
		j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
			exitRule(batchv1.PodFailurePolicyActionIgnore, nil, batchv1.PodFailurePolicyOnExitCodesOpIn, 137)}}
	}))
	h.sync()
	h.finish(h.activePods()[0], corev1.PodFailed, map[string]int32{"pi": 137})
	h.advance(11 * time.Second)
	h.sync()
	if h.job.Status.Failed != 0 || h.condition(batchv1.JobFailed) != nil || h.f.creates != 2 {
		t.Fatalf("failed %d conditions %+v creates %d", h.job.Status.Failed, h.job.Status.Conditions, h.f.creates)
	}
}
