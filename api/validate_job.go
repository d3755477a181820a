package api

import (
	"fmt"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// Limits of batch/v1 validation.
const (
	maxIndexedParallelism       = 100_000
	maxIndexedFailedIndexes     = 100_000
	indexedCompletionsSoftLimit = 100_000
	indexedHighCompletionsLimit = 10_000
	maxPodFailurePolicyRules    = 20
	maxSuccessPolicyRules       = 20
	maxOnExitCodeValues         = 255
	maxSucceededIndexesLength   = 64 * 1024
)

// ValidateJob validates a defaulted Job. The selector generated from the
// Job's UID (GenerateJobSelector) is checked when present.
func ValidateJob(job *batchv1.Job) field.ErrorList {
	meta := field.NewPath("metadata")
	errs := validateObjectMeta(&job.ObjectMeta, apivalidation.NameIsDNSSubdomain, meta)
	// A name too long for the job-name label is refused at
	// spec.template.labels, as by the API server. An Indexed Job's name
	// must leave room for the index in its pods' hostnames.
	s := &job.Spec
	if ptr.Deref(s.CompletionMode, "") == batchv1.IndexedCompletion && s.Completions != nil && *s.Completions > 0 {
		hostname := fmt.Sprintf("%s-%d", job.Name, *s.Completions-1)
		if msgs := validation.IsDNS1123Label(hostname); len(msgs) > 0 {
			errs = append(errs, field.Invalid(meta.Child("name"), job.Name,
				"will not able to create pod with invalid DNS label: "+hostname))
		}
	}
	return append(errs, validateJobSpec(job, field.NewPath("spec"))...)
}

func validateJobSpec(job *batchv1.Job, p *field.Path) field.ErrorList {
	s := &job.Spec
	var errs field.ErrorList
	nonneg := func(v *int32, name string) {
		if v != nil {
			errs = append(errs, validateNonnegative(int64(*v), p.Child(name))...)
		}
	}
	nonneg(s.Parallelism, "parallelism")
	nonneg(s.Completions, "completions")
	nonneg(s.BackoffLimit, "backoffLimit")
	nonneg(s.TTLSecondsAfterFinished, "ttlSecondsAfterFinished")
	nonneg(s.BackoffLimitPerIndex, "backoffLimitPerIndex")
	nonneg(s.MaxFailedIndexes, "maxFailedIndexes")
	if s.ActiveDeadlineSeconds != nil {
		errs = append(errs, validateNonnegative(*s.ActiveDeadlineSeconds, p.Child("activeDeadlineSeconds"))...)
	}
	errs = append(errs, validateCompletionMode(s, p)...)
	errs = append(errs, validateJobSelector(job, p)...)
	tp := p.Child("template")
	// The API server names the template's labels and annotations without
	// "metadata" (spec.template.labels): the same paths here.
	errs = append(errs, validateLabels(s.Template.Labels, tp.Child("labels"))...)
	errs = append(errs, apivalidation.ValidateAnnotations(s.Template.Annotations, tp.Child("annotations"))...)
	errs = append(errs, ValidatePodSpec(&s.Template.Spec, tp.Child("spec"))...)
	rp := tp.Child("spec", "restartPolicy")
	switch rs := s.Template.Spec.RestartPolicy; rs {
	case corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever:
	default:
		errs = append(errs, field.NotSupported(rp, rs, []corev1.RestartPolicy{corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}))
	}
	if s.PodFailurePolicy != nil {
		errs = append(errs, validatePodFailurePolicy(s, p.Child("podFailurePolicy"))...)
		if s.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
			errs = append(errs, field.Invalid(rp, s.Template.Spec.RestartPolicy,
				"only \"Never\" is supported when podFailurePolicy is specified"))
		}
	}
	if s.SuccessPolicy != nil {
		errs = append(errs, validateSuccessPolicy(s, p.Child("successPolicy"))...)
	}
	if r := s.PodReplacementPolicy; r != nil {
		supported := []batchv1.PodReplacementPolicy{batchv1.TerminatingOrFailed, batchv1.Failed}
		if s.PodFailurePolicy != nil {
			supported = []batchv1.PodReplacementPolicy{batchv1.Failed}
		}
		if !containsPolicy(supported, *r) {
			errs = append(errs, field.NotSupported(p.Child("podReplacementPolicy"), *r, supported))
		}
	}
	return errs
}

func containsPolicy(list []batchv1.PodReplacementPolicy, v batchv1.PodReplacementPolicy) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// validateCompletionMode holds the API server's checks of completionMode
// and the per-index limits, with its limits and messages.
func validateCompletionMode(s *batchv1.JobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.MaxFailedIndexes != nil && s.BackoffLimitPerIndex == nil {
		errs = append(errs, field.Required(p.Child("backoffLimitPerIndex"), "when maxFailedIndexes is specified"))
	}
	mode := ptr.Deref(s.CompletionMode, batchv1.NonIndexedCompletion)
	switch mode {
	case batchv1.NonIndexedCompletion:
		if s.BackoffLimitPerIndex != nil {
			errs = append(errs, field.Invalid(p.Child("backoffLimitPerIndex"), *s.BackoffLimitPerIndex, "requires indexed completion mode"))
		}
		if s.MaxFailedIndexes != nil {
			errs = append(errs, field.Invalid(p.Child("maxFailedIndexes"), *s.MaxFailedIndexes, "requires indexed completion mode"))
		}
	case batchv1.IndexedCompletion:
		errs = append(errs, validateIndexedLimits(s, p)...)
	default:
		errs = append(errs, field.NotSupported(p.Child("completionMode"), mode,
			[]batchv1.CompletionMode{batchv1.NonIndexedCompletion, batchv1.IndexedCompletion}))
	}
	return errs
}

func validateIndexedLimits(s *batchv1.JobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	invalid := func(name string, v int32, format string, args ...any) {
		errs = append(errs, field.Invalid(p.Child(name), v, fmt.Sprintf(format, args...)))
	}
	if s.Completions == nil {
		errs = append(errs, field.Required(p.Child("completions"), fmt.Sprintf("when completion mode is %s", batchv1.IndexedCompletion)))
	}
	if s.Parallelism != nil && *s.Parallelism > maxIndexedParallelism {
		invalid("parallelism", *s.Parallelism, "must be less than or equal to %d when completion mode is %s", maxIndexedParallelism, batchv1.IndexedCompletion)
	}
	if m := s.MaxFailedIndexes; m != nil {
		if s.Completions != nil && *m > *s.Completions {
			invalid("maxFailedIndexes", *m, "must be less than or equal to completions")
		}
		if *m > maxIndexedFailedIndexes {
			invalid("maxFailedIndexes", *m, "must be less than or equal to %d", maxIndexedFailedIndexes)
		}
	}
	if s.Completions == nil || *s.Completions <= indexedCompletionsSoftLimit || s.BackoffLimitPerIndex == nil {
		return errs
	}
	if s.MaxFailedIndexes == nil {
		errs = append(errs, field.Required(p.Child("maxFailedIndexes"), fmt.Sprintf("must be specified when completions is above %d", indexedCompletionsSoftLimit)))
	}
	const high = "must be less than or equal to %d when completions are above %d and used with backoff limit per index"
	if s.Parallelism != nil && *s.Parallelism > indexedHighCompletionsLimit {
		invalid("parallelism", *s.Parallelism, high, indexedHighCompletionsLimit, indexedCompletionsSoftLimit)
	}
	if s.MaxFailedIndexes != nil && *s.MaxFailedIndexes > indexedHighCompletionsLimit {
		invalid("maxFailedIndexes", *s.MaxFailedIndexes, high, indexedHighCompletionsLimit, indexedCompletionsSoftLimit)
	}
	return errs
}

// validateJobSelector is the API server's: a selector is required (the
// server generated one unless manualSelector), and must match the
// template's labels; a generated one must match the labels the server
// generates, which the template must carry.
func validateJobSelector(job *batchv1.Job, p *field.Path) field.ErrorList {
	s := &job.Spec
	sp := p.Child("selector")
	var errs field.ErrorList
	if !ptr.Deref(s.ManualSelector, false) && s.Selector != nil {
		errs = append(errs, validateGeneratedSelector(job)...)
	}
	if s.Selector == nil && !ptr.Deref(s.ManualSelector, false) {
		return errs // generated by the server once the Job has a UID
	}
	if s.Selector == nil {
		errs = append(errs, field.Required(sp, ""))
	} else {
		errs = append(errs, metavalidation.ValidateLabelSelector(s.Selector, metavalidation.LabelSelectorValidationOptions{}, sp)...)
	}
	// A missing selector matches nothing: the template's labels are
	// refused too, as by the API server.
	sel, err := metav1.LabelSelectorAsSelector(s.Selector)
	if err == nil && !sel.Matches(labels.Set(s.Template.Labels)) {
		errs = append(errs, field.Invalid(p.Child("template", "metadata", "labels"), s.Template.Labels,
			"`selector` does not match template `labels`"))
	}
	return errs
}

func validateGeneratedSelector(job *batchv1.Job) field.ErrorList {
	var errs field.ErrorList
	if job.UID == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "uid"), ""))
	}
	tp := field.NewPath("spec", "template", "metadata", "labels")
	expected := map[string]string{
		LegacyControllerUIDLabel: string(job.UID), LegacyJobNameLabel: job.Name,
		batchv1.ControllerUidLabel: string(job.UID), batchv1.JobNameLabel: job.Name,
	}
	for _, k := range []string{LegacyControllerUIDLabel, LegacyJobNameLabel, batchv1.ControllerUidLabel, batchv1.JobNameLabel} {
		got, found := job.Spec.Template.Labels[k]
		switch {
		case !found:
			errs = append(errs, field.Required(tp.Key(k), fmt.Sprintf("must be '%s'", expected[k])))
		case got != expected[k]:
			errs = append(errs, field.Invalid(tp.Key(k), job.Spec.Template.Labels, fmt.Sprintf("must be '%s'", expected[k])))
		}
	}
	if sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector); err == nil && !sel.Matches(labels.Set(expected)) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "selector"), job.Spec.Selector, "`selector` not auto-generated"))
	}
	return errs
}

func validatePodFailurePolicy(s *batchv1.JobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	rules := s.PodFailurePolicy.Rules
	if len(rules) > maxPodFailurePolicyRules {
		errs = append(errs, field.TooMany(p.Child("rules"), len(rules), maxPodFailurePolicyRules))
	}
	names := containerNames(&s.Template.Spec)
	actions := []batchv1.PodFailurePolicyAction{batchv1.PodFailurePolicyActionCount, batchv1.PodFailurePolicyActionFailIndex,
		batchv1.PodFailurePolicyActionFailJob, batchv1.PodFailurePolicyActionIgnore}
	for i, r := range rules {
		rp := p.Child("rules").Index(i)
		switch r.Action {
		case batchv1.PodFailurePolicyActionCount, batchv1.PodFailurePolicyActionFailJob, batchv1.PodFailurePolicyActionIgnore:
		case batchv1.PodFailurePolicyActionFailIndex:
			if s.BackoffLimitPerIndex == nil {
				errs = append(errs, field.Invalid(rp.Child("action"), r.Action, "requires the backoffLimitPerIndex to be set"))
			}
		default:
			errs = append(errs, field.NotSupported(rp.Child("action"), r.Action, actions))
		}
		switch {
		case r.OnExitCodes != nil && len(r.OnPodConditions) > 0:
			errs = append(errs, field.Invalid(rp, field.OmitValueType{}, "specifying both OnExitCodes and OnPodConditions is not supported"))
		case r.OnExitCodes != nil:
			errs = append(errs, validateOnExitCodes(r.OnExitCodes, names, rp.Child("onExitCodes"))...)
		case len(r.OnPodConditions) > 0:
			for j, c := range r.OnPodConditions {
				cp := rp.Child("onPodConditions").Index(j)
				if c.Type == "" {
					errs = append(errs, field.Required(cp.Child("type"), ""))
				}
				if c.Status != corev1.ConditionTrue && c.Status != corev1.ConditionFalse && c.Status != corev1.ConditionUnknown {
					errs = append(errs, field.NotSupported(cp.Child("status"), c.Status,
						[]corev1.ConditionStatus{corev1.ConditionTrue, corev1.ConditionFalse, corev1.ConditionUnknown}))
				}
			}
		default:
			errs = append(errs, field.Invalid(rp, field.OmitValueType{}, "specifying one of OnExitCodes and OnPodConditions is required"))
		}
	}
	return errs
}

func validateOnExitCodes(r *batchv1.PodFailurePolicyOnExitCodesRequirement, names map[string]bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if r.ContainerName != nil && !names[*r.ContainerName] {
		errs = append(errs, field.Invalid(p.Child("containerName"), *r.ContainerName,
			"must be one of the container or initContainer names in the pod template"))
	}
	if r.Operator != batchv1.PodFailurePolicyOnExitCodesOpIn && r.Operator != batchv1.PodFailurePolicyOnExitCodesOpNotIn {
		errs = append(errs, field.NotSupported(p.Child("operator"), r.Operator, []batchv1.PodFailurePolicyOnExitCodesOperator{
			batchv1.PodFailurePolicyOnExitCodesOpIn, batchv1.PodFailurePolicyOnExitCodesOpNotIn}))
	}
	vp := p.Child("values")
	switch {
	case len(r.Values) == 0:
		errs = append(errs, field.Invalid(vp, r.Values, "at least one value is required"))
	case len(r.Values) > maxOnExitCodeValues:
		errs = append(errs, field.TooMany(vp, len(r.Values), maxOnExitCodeValues))
	}
	for i, v := range r.Values {
		if r.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && v == 0 {
			errs = append(errs, field.Invalid(vp.Index(i), v, "must not be 0 for the In operator"))
		}
		if i > 0 && r.Values[i-1] == v {
			errs = append(errs, field.Duplicate(vp.Index(i), v))
		} else if i > 0 && r.Values[i-1] > v {
			errs = append(errs, field.Invalid(vp.Index(i), v, "must be ordered"))
		}
	}
	return errs
}

func containerNames(spec *corev1.PodSpec) map[string]bool {
	names := map[string]bool{}
	for _, c := range spec.InitContainers {
		names[c.Name] = true
	}
	for _, c := range spec.Containers {
		names[c.Name] = true
	}
	return names
}

func validateSuccessPolicy(s *batchv1.JobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	rules := s.SuccessPolicy.Rules
	if ptr.Deref(s.CompletionMode, batchv1.NonIndexedCompletion) != batchv1.IndexedCompletion {
		// The API server judges the rules of an Indexed Job only.
		return field.ErrorList{field.Invalid(p, field.OmitValueType{}, "requires indexed completion mode")}
	}
	if len(rules) == 0 {
		errs = append(errs, field.Required(p.Child("rules"), "at least one rules must be specified when the successPolicy is specified"))
	}
	if len(rules) > maxSuccessPolicyRules {
		errs = append(errs, field.TooMany(p.Child("rules"), len(rules), maxSuccessPolicyRules))
	}
	completions := ptr.Deref(s.Completions, 0)
	for i, r := range rules {
		rp := p.Child("rules").Index(i)
		if r.SucceededIndexes == nil && r.SucceededCount == nil {
			errs = append(errs, field.Required(rp, "at least one of succeededCount or succeededIndexes must be specified"))
		}
		var total int32 // indexes in succeededIndexes, 0 when it does not parse
		if r.SucceededIndexes != nil {
			ip := rp.Child("succeededIndexes")
			if len(*r.SucceededIndexes) > maxSucceededIndexesLength {
				errs = append(errs, field.TooLong(ip, "", maxSucceededIndexesLength))
			}
			indexes, err := ParseIndexes(*r.SucceededIndexes, completions)
			if err != nil {
				errs = append(errs, field.Invalid(ip, *r.SucceededIndexes, fmt.Sprintf("error parsing succeededIndexes: %v", err)))
			}
			total = int32(len(indexes))
		}
		if c := r.SucceededCount; c != nil {
			cp := rp.Child("succeededCount")
			if *c < 0 {
				errs = append(errs, field.Invalid(cp, *c, "must be greater than or equal to 0"))
			}
			if *c > completions {
				errs = append(errs, field.Invalid(cp, *c, fmt.Sprintf("must be less than or equal to %d (the number of specified completions)", completions)))
			}
			if r.SucceededIndexes != nil && *c > total {
				errs = append(errs, field.Invalid(cp, *c, fmt.Sprintf("must be less than or equal to %d (the number of indexes in the specified succeededIndexes field)", total)))
			}
		}
	}
	return errs
}

// ParseIndexes parses a Job index set like "1,3-5,7" (as used by
// completedIndexes, failedIndexes and successPolicy) into sorted distinct
// indexes below limit.
func ParseIndexes(s string, limit int32) ([]int32, error) {
	if s == "" {
		return nil, nil
	}
	var out []int32
	last := int32(-1)
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := strconv.ParseInt(lo, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("cannot convert string to integer for index: %q", lo)
		}
		end := first
		if isRange {
			if end, err = strconv.ParseInt(hi, 10, 32); err != nil {
				return nil, fmt.Errorf("cannot convert string to integer for index: %q", hi)
			}
			if end < first {
				return nil, fmt.Errorf("range %q must be ordered", part)
			}
		}
		if int32(first) <= last {
			return nil, fmt.Errorf("non-increasing order, previous: %d, current: %d", last, first)
		}
		if end >= int64(limit) || end-first > 10*indexedCompletionsSoftLimit {
			return nil, fmt.Errorf("too large: %d", end)
		}
		for i := first; i <= end; i++ {
			out = append(out, int32(i))
		}
		last = int32(end)
	}
	return out, nil
}

// ValidateJobUpdate checks a PUT of a Job against the stored one (both
// defaulted) as the API server does, with the create checks: the
// selector, the pod template, the
// completion mode, the pod failure and success policies,
// backoffLimitPerIndex and managedBy immutable ("field is immutable");
// completions too, except in an Indexed Job, where they change in tandem
// with parallelism (elastic Indexed Jobs). manualSelector may change.
// Metadata's identity (uid, resourceVersion) is the object layer's: a PUT
// there re-applies a manifest (docs/contract.md §3).
func ValidateJobUpdate(job, old *batchv1.Job) field.ErrorList {
	errs := ValidateJob(job)
	p := field.NewPath("spec")
	s, o := &job.Spec, &old.Spec
	immutable := func(newVal, oldVal any, path *field.Path) {
		errs = append(errs, apivalidation.ValidateImmutableField(newVal, oldVal, path)...)
	}
	immutable(s.Selector, o.Selector, p.Child("selector"))
	immutable(s.Template, o.Template, p.Child("template"))
	immutable(s.CompletionMode, o.CompletionMode, p.Child("completionMode"))
	immutable(s.PodFailurePolicy, o.PodFailurePolicy, p.Child("podFailurePolicy"))
	immutable(s.BackoffLimitPerIndex, o.BackoffLimitPerIndex, p.Child("backoffLimitPerIndex"))
	immutable(s.ManagedBy, o.ManagedBy, p.Child("managedBy"))
	immutable(s.SuccessPolicy, o.SuccessPolicy, p.Child("successPolicy"))
	cp := p.Child("completions")
	switch {
	case ptr.Deref(s.CompletionMode, "") != batchv1.IndexedCompletion:
		immutable(s.Completions, o.Completions, cp)
	case s.Completions == nil || (o.Completions != nil && *s.Completions == *o.Completions):
	case s.Parallelism == nil || *s.Completions != *s.Parallelism:
		errs = append(errs, field.Invalid(cp, s.Completions, "can only be modified in tandem with spec.parallelism"))
	}
	return errs
}
