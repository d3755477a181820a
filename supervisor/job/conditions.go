package job

import (
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// metaTime truncates to seconds as the API server's RFC 3339 encoding
// does, so a stored and reloaded status compares equal.
func metaTime(t time.Time) metav1.Time {
	return metav1.NewTime(t.Truncate(time.Second))
}

func getCondition(s *batchv1.JobStatus, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range s.Conditions {
		if s.Conditions[i].Type == t {
			return &s.Conditions[i]
		}
	}
	return nil
}

// setCondition ensures a condition with the given status, reason and
// message. It returns the condition when it changed and nil when it was
// already so (as ensureJobConditionStatus does).
func setCondition(s *batchv1.JobStatus, t batchv1.JobConditionType, status corev1.ConditionStatus, reason, msg string, now time.Time) *batchv1.JobCondition {
	if c := getCondition(s, t); c != nil {
		if c.Status == status && c.Reason == reason && c.Message == msg {
			return nil
		}
		if c.Status != status {
			c.LastTransitionTime = metaTime(now)
		}
		c.Status, c.Reason, c.Message, c.LastProbeTime = status, reason, msg, metaTime(now)
		return c
	}
	if status != corev1.ConditionTrue {
		return nil // a condition that never was True is not recorded as False
	}
	s.Conditions = append(s.Conditions, batchv1.JobCondition{
		Type: t, Status: status, Reason: reason, Message: msg,
		LastProbeTime: metaTime(now), LastTransitionTime: metaTime(now),
	})
	return &s.Conditions[len(s.Conditions)-1]
}

func conditionTrue(job *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	if c := getCondition(&job.Status, t); c != nil && c.Status == corev1.ConditionTrue {
		return c
	}
	return nil
}

// finished: the Job has its final Complete or Failed condition.
func finished(job *batchv1.Job) bool {
	return conditionTrue(job, batchv1.JobComplete) != nil || conditionTrue(job, batchv1.JobFailed) != nil
}

// finishedAt is when the Job got its final condition.
func finishedAt(job *batchv1.Job) (time.Time, bool) {
	for _, t := range []batchv1.JobConditionType{batchv1.JobComplete, batchv1.JobFailed} {
		if c := conditionTrue(job, t); c != nil {
			return c.LastTransitionTime.Time, true
		}
	}
	return time.Time{}, false
}

// finishingCondition is the SuccessCriteriaMet or FailureTarget condition
// of a Job on its way to Complete or Failed.
func finishingCondition(job *batchv1.Job) *batchv1.JobCondition {
	if c := conditionTrue(job, batchv1.JobFailureTarget); c != nil {
		return c
	}
	return conditionTrue(job, batchv1.JobSuccessCriteriaMet)
}

func isSuspended(job *batchv1.Job) bool { return ptr.Deref(job.Spec.Suspend, false) }

// changed reports whether Sync changed what it persists.
func changed(before, after *batchv1.Job) bool {
	return !equality.Semantic.DeepEqual(before.Status, after.Status) ||
		before.Annotations[CountedPodsAnnotation] != after.Annotations[CountedPodsAnnotation]
}
