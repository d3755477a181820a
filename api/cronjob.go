package api

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	// Devices often have no /usr/share/zoneinfo: the embedded IANA
	// database lets spec.timeZone be checked and used on them as on any
	// API server. It costs about 400 KiB of each stripped binary.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// CronJobGVK is batch/v1 CronJob.
var CronJobGVK = batchv1.SchemeGroupVersion.WithKind("CronJob")

// Limits of CronJob validation.
const (
	// maxCronJobNameLength leaves room for the "-<minutes since epoch>"
	// suffix (11 characters) of the Jobs it makes within a label value's
	// 63, as the API server's ValidateCronJobCreate does.
	maxCronJobNameLength = 63 - 11
	// InstantiateAnnotation marks a Job made by hand from a CronJob
	// (kubectl create job --from=cronjob/NAME).
	InstantiateAnnotation = "cronjob.kubernetes.io/instantiate"
)

// DefaultCronJob defaults a CronJob as batch/v1 SetObjectDefaults_CronJob
// does: the policy, suspend and the history limits, then the template's
// pod spec. The template's Job spec itself is not defaulted (the Jobs
// made from it are, when they are created).
func DefaultCronJob(cj *batchv1.CronJob) {
	cj.Kind, cj.APIVersion = CronJobGVK.Kind, CronJobGVK.GroupVersion().String()
	s := &cj.Spec
	if s.ConcurrencyPolicy == "" {
		s.ConcurrencyPolicy = batchv1.AllowConcurrent
	}
	if s.Suspend == nil {
		s.Suspend = ptr.To(false)
	}
	if s.SuccessfulJobsHistoryLimit == nil {
		s.SuccessfulJobsHistoryLimit = ptr.To[int32](3)
	}
	if s.FailedJobsHistoryLimit == nil {
		s.FailedJobsHistoryLimit = ptr.To[int32](1)
	}
	if p := s.JobTemplate.Spec.PodFailurePolicy; p != nil {
		for i := range p.Rules {
			for j := range p.Rules[i].OnPodConditions {
				if c := &p.Rules[i].OnPodConditions[j]; c.Status == "" {
					c.Status = "True"
				}
			}
		}
	}
	DefaultPodSpec(&s.JobTemplate.Spec.Template.Spec)
}

// ValidateCronJob validates a new, defaulted CronJob as the API server's
// ValidateCronJobCreate does.
func ValidateCronJob(cj *batchv1.CronJob) field.ErrorList {
	meta := field.NewPath("metadata")
	errs := validateObjectMeta(&cj.ObjectMeta, apivalidation.NameIsDNSSubdomain, meta)
	errs = append(errs, validateCronJobSpec(&cj.Spec, nil, field.NewPath("spec"))...)
	if len(cj.Name) > maxCronJobNameLength {
		errs = append(errs, field.Invalid(meta.Child("name"), cj.Name,
			fmt.Sprintf("must be no more than %d characters", maxCronJobNameLength)))
	}
	return errs
}

// ValidateCronJobUpdate validates a replacing CronJob against the stored
// one (ValidateCronJobUpdate; the object layer keeps identity and
// resourceVersion): the name limit is not applied, a TZ= that
// was already in the schedule may stay, and an unchanged timeZone is not
// looked up again.
func ValidateCronJobUpdate(cj, old *batchv1.CronJob) field.ErrorList {
	errs := validateObjectMeta(&cj.ObjectMeta, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	return append(errs, validateCronJobSpec(&cj.Spec, &old.Spec, field.NewPath("spec"))...)
}

func validateCronJobSpec(s, old *batchv1.CronJobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.Schedule == "" {
		errs = append(errs, field.Required(p.Child("schedule"), ""))
	} else {
		allowTZ := old != nil && strings.Contains(old.Schedule, "TZ")
		errs = append(errs, validateSchedule(s.Schedule, allowTZ, s.TimeZone, p.Child("schedule"))...)
	}
	if s.StartingDeadlineSeconds != nil {
		errs = append(errs, validateNonnegative(*s.StartingDeadlineSeconds, p.Child("startingDeadlineSeconds"))...)
	}
	if old == nil || !ptr.Equal(old.TimeZone, s.TimeZone) {
		errs = append(errs, validateTimeZone(s.TimeZone, p.Child("timeZone"))...)
	}
	switch cp := s.ConcurrencyPolicy; cp {
	case batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent:
	case "":
		errs = append(errs, field.Required(p.Child("concurrencyPolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(p.Child("concurrencyPolicy"), cp,
			[]batchv1.ConcurrencyPolicy{batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent}))
	}
	errs = append(errs, validateJobTemplate(&s.JobTemplate, p.Child("jobTemplate"))...)
	if v := s.SuccessfulJobsHistoryLimit; v != nil {
		errs = append(errs, validateNonnegative(int64(*v), p.Child("successfulJobsHistoryLimit"))...)
	}
	if v := s.FailedJobsHistoryLimit; v != nil {
		errs = append(errs, validateNonnegative(int64(*v), p.Child("failedJobsHistoryLimit"))...)
	}
	return errs
}

// ParseSchedule parses a CronJob schedule as the API server and the
// CronJob controller do (cron.ParseStandard: five fields, descriptors
// such as @hourly, @every D, and a leading TZ=/CRON_TZ=), turning the
// library's panics on some malformed input into errors.
func ParseSchedule(schedule string) (sched cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("invalid schedule %q: %v", schedule, r)
		}
	}()
	return cron.ParseStandard(schedule)
}

// validateSchedule is the API server's validateScheduleFormat.
func validateSchedule(schedule string, allowTZ bool, timeZone *string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if _, err := ParseSchedule(schedule); err != nil {
		errs = append(errs, field.Invalid(p, schedule, err.Error()))
	}
	hasTZ := strings.Contains(schedule, "TZ")
	switch {
	case allowTZ && hasTZ && timeZone != nil:
		errs = append(errs, field.Invalid(p, schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule"))
	case !allowTZ && hasTZ:
		errs = append(errs, field.Invalid(p, schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
	}
	return errs
}

// validTimeZonePart is one component of an IANA name, with the API
// server's tolerance of digits and '+' for legacy names.
var validTimeZonePart = regexp.MustCompile(`^[A-Za-z\.\-_0-9+]{1,14}$`)

// validateTimeZone is the API server's validateTimeZone.
func validateTimeZone(tz *string, p *field.Path) field.ErrorList {
	if tz == nil {
		return nil
	}
	if *tz == "" {
		return field.ErrorList{field.Invalid(p, *tz, "timeZone must be nil or non-empty string")}
	}
	for _, part := range strings.Split(*tz, "/") {
		if part == "." || part == ".." || strings.HasPrefix(part, "-") || !validTimeZonePart.MatchString(part) {
			return field.ErrorList{field.Invalid(p, *tz, fmt.Sprintf("unknown time zone %s", *tz))}
		}
	}
	var errs field.ErrorList
	if strings.EqualFold(*tz, "Local") {
		errs = append(errs, field.Invalid(p, *tz, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"))
	}
	if _, err := time.LoadLocation(*tz); err != nil {
		errs = append(errs, field.Invalid(p, *tz, err.Error()))
	}
	return errs
}

// validateJobTemplate is ValidateJobTemplateSpec: the Job spec as a Job's,
// but the selector is always generated when a Job is made from it.
func validateJobTemplate(t *batchv1.JobTemplateSpec, p *field.Path) field.ErrorList {
	sp := p.Child("spec")
	errs := validateJobSpec(&batchv1.Job{Spec: t.Spec}, sp)
	if t.Spec.Selector != nil {
		errs = append(errs, field.Invalid(sp.Child("selector"), t.Spec.Selector, "`selector` will be auto-generated"))
	}
	if ptr.Deref(t.Spec.ManualSelector, false) {
		errs = append(errs, field.NotSupported(sp.Child("manualSelector"), t.Spec.ManualSelector, []string{"nil", "false"}))
	}
	return errs
}

// ManualJob makes the Job that `kubectl create job NAME
// --from=cronjob/CJ` makes: the template's labels, annotations and spec,
// the instantiate=manual annotation, and the CronJob as its controlling
// owner, so that deleting the CronJob deletes it too.
func ManualJob(cj *batchv1.CronJob, name string) *batchv1.Job {
	annotations := map[string]string{InstantiateAnnotation: "manual"}
	for k, v := range cj.Spec.JobTemplate.Annotations {
		annotations[k] = v
	}
	j := &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: JobGVK.GroupVersion().String(), Kind: JobGVK.Kind},
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   cj.Namespace,
			Labels:      cj.Spec.JobTemplate.Labels,
			Annotations: annotations,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: CronJobGVK.GroupVersion().String(), Kind: CronJobGVK.Kind,
				Name: cj.Name, UID: cj.UID, Controller: ptr.To(true),
			}},
		},
	}
	cj.Spec.JobTemplate.Spec.DeepCopyInto(&j.Spec)
	return j
}
