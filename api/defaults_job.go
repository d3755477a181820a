package api

import (
	"maps"
	"math"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
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
// template gets the job-name and controller-uid labels (both the
// batch.kubernetes.io/ and the legacy names) where it lacks them, and the
// selector the controller-uid label where it lacks it (a user's own
// labels or selector stay, and validation judges them). Call it after
// setting metadata.uid and before ValidateJob.
//
// The Job's own labels: the API server's defaulting made them the
// template's labels, the same map, so they get the generated labels too;
// a Job without template labels has none stored, and a read defaults them
// to the template's. podrun stores what a read returns, once it is valid.
func GenerateJobSelector(job *batchv1.Job) {
	if ptr.Deref(job.Spec.ManualSelector, false) || job.UID == "" {
		return
	}
	s := &job.Spec
	shared := len(job.Labels) > 0 && maps.Equal(job.Labels, s.Template.Labels)
	if s.Template.Labels == nil {
		s.Template.Labels = map[string]string{}
	}
	uid := string(job.UID)
	for k, v := range map[string]string{
		batchv1.ControllerUidLabel: uid, LegacyControllerUIDLabel: uid,
		batchv1.JobNameLabel: job.Name, LegacyJobNameLabel: job.Name,
	} {
		if _, found := s.Template.Labels[k]; !found {
			s.Template.Labels[k] = v
		}
	}
	if s.Selector == nil {
		s.Selector = &metav1.LabelSelector{}
	}
	if s.Selector.MatchLabels == nil {
		s.Selector.MatchLabels = map[string]string{}
	}
	if _, found := s.Selector.MatchLabels[batchv1.ControllerUidLabel]; !found {
		s.Selector.MatchLabels[batchv1.ControllerUidLabel] = uid
	}
	if shared || (len(job.Labels) == 0 && len(metavalidation.ValidateLabels(s.Template.Labels, field.NewPath(""))) == 0) {
		job.Labels = maps.Clone(s.Template.Labels)
	}
}
