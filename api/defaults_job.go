package api

import (
	"math"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Labels the API server puts on a Job's selector and pod template
// (legacy names without the batch.kubernetes.io/ prefix included).
const (
	LegacyJobNameLabel       = "job-name"
	LegacyControllerUIDLabel = "controller-uid"
)

// DefaultJob defaults a Job as batch/v1 SetDefaults_Job does, and its pod
// template as a pod spec. The template's restartPolicy defaults to Always,
// which validation then rejects, exactly as the API server does.
func DefaultJob(job *batchv1.Job) {
	job.Kind, job.APIVersion = JobGVK.Kind, JobGVK.GroupVersion().String()
	s := &job.Spec
	if s.Completions == nil && s.Parallelism == nil {
		s.Completions = ptr.To[int32](1)
		s.Parallelism = ptr.To[int32](1)
	}
	if s.Parallelism == nil {
		s.Parallelism = ptr.To[int32](1)
	}
	if s.BackoffLimit == nil {
		if s.BackoffLimitPerIndex != nil {
			s.BackoffLimit = ptr.To[int32](math.MaxInt32)
		} else {
			s.BackoffLimit = ptr.To(DefaultBackoffLimit) // R-V2
		}
	}
	if s.CompletionMode == nil {
		s.CompletionMode = ptr.To(batchv1.NonIndexedCompletion)
	}
	if s.Suspend == nil {
		s.Suspend = ptr.To(false)
	}
	if s.ManualSelector == nil {
		s.ManualSelector = ptr.To(false)
	}
	if s.PodReplacementPolicy == nil {
		if s.PodFailurePolicy != nil {
			s.PodReplacementPolicy = ptr.To(batchv1.Failed)
		} else {
			s.PodReplacementPolicy = ptr.To(batchv1.TerminatingOrFailed)
		}
	}
	if s.PodFailurePolicy != nil {
		for i := range s.PodFailurePolicy.Rules {
			for j := range s.PodFailurePolicy.Rules[i].OnPodConditions {
				p := &s.PodFailurePolicy.Rules[i].OnPodConditions[j]
				if p.Status == "" {
					p.Status = corev1.ConditionTrue
				}
			}
		}
	}
	if len(job.Labels) == 0 && len(s.Template.Labels) > 0 {
		job.Labels = make(map[string]string, len(s.Template.Labels))
		for k, v := range s.Template.Labels {
			job.Labels[k] = v
		}
	}
	DefaultPodSpec(&s.Template.Spec)
}

// GenerateJobSelector does what the API server's Job strategy does on
// create once the Job has its UID: unless manualSelector is true, the
// selector is set to the controller-uid label and the template gets the
// job-name and controller-uid labels (both the batch.kubernetes.io/ and the
// legacy names). Call it after setting metadata.uid and before ValidateJob.
func GenerateJobSelector(job *batchv1.Job) {
	if ptr.Deref(job.Spec.ManualSelector, false) || job.UID == "" {
		return
	}
	uid := string(job.UID)
	if job.Spec.Template.Labels == nil {
		job.Spec.Template.Labels = map[string]string{}
	}
	l := job.Spec.Template.Labels
	l[batchv1.ControllerUidLabel] = uid
	l[LegacyControllerUIDLabel] = uid
	l[batchv1.JobNameLabel] = job.Name
	l[LegacyJobNameLabel] = job.Name
	job.Spec.Selector = &metav1.LabelSelector{
		MatchLabels: map[string]string{batchv1.ControllerUidLabel: uid},
	}
	if len(job.Labels) == 0 {
		job.Labels = map[string]string{
			batchv1.ControllerUidLabel: uid,
			LegacyControllerUIDLabel:   uid,
			batchv1.JobNameLabel:       job.Name,
			LegacyJobNameLabel:         job.Name,
		}
	}
}
