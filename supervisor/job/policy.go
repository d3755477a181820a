package job

import (
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/ptr"

	"github.com/podrun/podrun/api"
)

// Condition messages, in the Kubernetes job controller's words.
const (
	msgBackoffLimit     = "Job has reached the specified backoff limit"
	msgDeadline         = "Job was active longer than specified deadline"
	msgMaxFailedIndexes = "Job has exceeded the specified maximal number of failed indexes"
	msgFailedIndexes    = "Job has failed indexes"
	msgCompletions      = "Reached expected number of succeeded pods"
)

// failure reports whether the Job has failed and why, in the controller's
// order: a FailJob rule (R-V3), the backoff limit (R-V2), too many failed
// indexes, the Job's deadline (R-V4), failed indexes once all are done.
func (st *syncState) failure() (reason, message string, failed bool) {
	job := st.job
	if st.failJob != nil {
		return batchv1.JobReasonPodFailurePolicy, *st.failJob, true
	}
	limit := ptr.Deref(job.Spec.BackoffLimit, api.DefaultBackoffLimit)
	if job.Status.Failed > limit || st.pastBackoffLimitOnFailure(limit) {
		return batchv1.JobReasonBackoffLimitExceeded, msgBackoffLimit, true
	}
	if st.indexed && job.Spec.MaxFailedIndexes != nil && int32(st.failedIdx.Len()) > *job.Spec.MaxFailedIndexes {
		return batchv1.JobReasonMaxFailedIndexesExceeded, msgMaxFailedIndexes, true
	}
	if !isSuspended(job) && deadlinePassed(job, st.now) {
		return batchv1.JobReasonDeadlineExceeded, msgDeadline, true
	}
	if st.indexed && st.failedIdx.Len() > 0 &&
		int32(st.completed.Len()+st.failedIdx.Len()) >= ptr.Deref(job.Spec.Completions, 0) {
		return batchv1.JobReasonFailedIndexes, msgFailedIndexes, true
	}
	return "", "", false
}

// pastBackoffLimitOnFailure is R-V2: under pod restartPolicy OnFailure the
// restarts of every init (sidecars included) and regular container of the
// pods still Pending or Running count against backoffLimit.
func (st *syncState) pastBackoffLimitOnFailure(limit int32) bool {
	if st.job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		return false
	}
	var restarts int32
	for _, p := range st.pods {
		if p.Status.Phase != corev1.PodRunning && p.Status.Phase != corev1.PodPending {
			continue
		}
		for _, cs := range p.Status.InitContainerStatuses {
			restarts += cs.RestartCount
		}
		for _, cs := range p.Status.ContainerStatuses {
			restarts += cs.RestartCount
		}
	}
	if limit == 0 {
		return restarts > 0
	}
	return restarts >= limit
}

// success reports whether the Job met its success criteria.
func (st *syncState) success() (reason, message string, ok bool) {
	job := st.job
	if st.indexed {
		if sp := job.Spec.SuccessPolicy; sp != nil {
			for i, r := range sp.Rules {
				if st.successRuleMet(r) {
					return batchv1.JobReasonSuccessPolicy, fmt.Sprintf("Matched rules at index %d", i), true
				}
			}
		}
		if int32(st.completed.Len()) >= ptr.Deref(job.Spec.Completions, 0) {
			return batchv1.JobReasonCompletionsReached, msgCompletions, true
		}
		return "", "", false
	}
	if c := job.Spec.Completions; c != nil {
		if job.Status.Succeeded >= *c {
			return batchv1.JobReasonCompletionsReached, msgCompletions, true
		}
		return "", "", false
	}
	// Work queue (no completions): done once a pod succeeded and none runs.
	if job.Status.Succeeded > 0 && len(st.active) == 0 && len(st.terminating) == 0 {
		return batchv1.JobReasonCompletionsReached, msgCompletions, true
	}
	return "", "", false
}

func (st *syncState) successRuleMet(r batchv1.SuccessPolicyRule) bool {
	if r.SucceededIndexes == nil {
		return r.SucceededCount != nil && int32(st.completed.Len()) >= *r.SucceededCount
	}
	want := parseIndexSet(*r.SucceededIndexes, ptr.Deref(st.job.Spec.Completions, 0))
	got := int32(want.Intersection(st.completed).Len())
	if r.SucceededCount != nil {
		return got >= *r.SucceededCount
	}
	return want.Len() > 0 && got == int32(want.Len())
}

// matchPodFailurePolicy is R-V3: the first rule matching the failed pod
// wins. onExitCodes looks at regular container statuses first, then at
// init container statuses (sidecars included), only at terminated states
// with a non-zero exit code.
func matchPodFailurePolicy(pfp *batchv1.PodFailurePolicy, p *corev1.Pod) (string, batchv1.PodFailurePolicyAction, bool) {
	for i, r := range pfp.Rules {
		if req := r.OnExitCodes; req != nil {
			cs := matchingContainer(p.Status.ContainerStatuses, req)
			if cs == nil {
				cs = matchingContainer(p.Status.InitContainerStatuses, req)
			}
			if cs != nil {
				return fmt.Sprintf("Container %s for pod %s/%s failed with exit code %d matching %s rule at index %d",
					cs.Name, p.Namespace, p.Name, cs.State.Terminated.ExitCode, r.Action, i), r.Action, true
			}
		}
		for _, pat := range r.OnPodConditions {
			status := pat.Status
			if status == "" {
				status = corev1.ConditionTrue
			}
			for _, c := range p.Status.Conditions {
				if c.Type == pat.Type && c.Status == status {
					return fmt.Sprintf("Pod %s/%s has condition %s matching %s rule at index %d",
						p.Namespace, p.Name, c.Type, r.Action, i), r.Action, true
				}
			}
		}
	}
	return "", "", false
}

func matchingContainer(list []corev1.ContainerStatus, req *batchv1.PodFailurePolicyOnExitCodesRequirement) *corev1.ContainerStatus {
	values := sets.New(req.Values...)
	for i := range list {
		cs := &list[i]
		t := cs.State.Terminated
		if t == nil || t.ExitCode == 0 {
			continue
		}
		if req.ContainerName != nil && *req.ContainerName != cs.Name {
			continue
		}
		in := values.Has(t.ExitCode)
		if (req.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && in) ||
			(req.Operator == batchv1.PodFailurePolicyOnExitCodesOpNotIn && !in) {
			return cs
		}
	}
	return nil
}

func deadlinePassed(job *batchv1.Job, now time.Time) bool {
	ads, start := job.Spec.ActiveDeadlineSeconds, job.Status.StartTime
	if ads == nil || start == nil {
		return false
	}
	return !now.Before(start.Add(time.Duration(*ads) * time.Second))
}

// deadlineRemaining is how long until the Job's activeDeadlineSeconds
// expires (0 when not set or not running).
func deadlineRemaining(job *batchv1.Job, now time.Time) time.Duration {
	ads, start := job.Spec.ActiveDeadlineSeconds, job.Status.StartTime
	if ads == nil || start == nil || isSuspended(job) {
		return 0
	}
	d := start.Add(time.Duration(*ads) * time.Second).Sub(now)
	if d <= 0 {
		return time.Millisecond // due now: sync again at once
	}
	return d
}
