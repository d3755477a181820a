package api

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

const cronJobYAML = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: upload
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: c
            image: busybox
`

func decodeCronJob(t *testing.T) *batchv1.CronJob {
	t.Helper()
	obj, err := DecodeObject([]byte(cronJobYAML))
	if err != nil {
		t.Fatal(err)
	}
	cj, ok := obj.(*batchv1.CronJob)
	if !ok {
		t.Fatalf("decoded %T", obj)
	}
	return cj
}

func TestCronJobDefaults(t *testing.T) {
	cj := decodeCronJob(t)
	DefaultCronJob(cj)
	s := cj.Spec
	if s.ConcurrencyPolicy != batchv1.AllowConcurrent || !ptr.Equal(s.Suspend, ptr.To(false)) ||
		*s.SuccessfulJobsHistoryLimit != 3 || *s.FailedJobsHistoryLimit != 1 {
		t.Fatalf("defaults: %+v", s)
	}
	if s.JobTemplate.Spec.Template.Spec.TerminationGracePeriodSeconds == nil {
		t.Fatal("the template's pod spec is not defaulted")
	}
	if s.JobTemplate.Spec.BackoffLimit != nil || s.JobTemplate.Spec.Completions != nil {
		t.Fatal("the template's Job spec is defaulted; the API server leaves it for the Jobs")
	}
	if err := Validate(cj); err != nil {
		t.Fatal(err)
	}
}

// Each refusal names the field and the API server's reason.
func TestCronJobValidation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mod   func(*batchv1.CronJob)
		field string
		msg   string
	}{
		{"no schedule", func(cj *batchv1.CronJob) { cj.Spec.Schedule = "" }, "spec.schedule", "Required value"},
		{"bad schedule", func(cj *batchv1.CronJob) { cj.Spec.Schedule = "61 * * * *" }, "spec.schedule", "end of range (61) above maximum (59)"},
		{"six fields", func(cj *batchv1.CronJob) { cj.Spec.Schedule = "0 * * * * *" }, "spec.schedule", "expected exactly 5 fields"},
		{"TZ= alone (panics the cron library)", func(cj *batchv1.CronJob) { cj.Spec.Schedule = "TZ=" }, "spec.schedule", "invalid schedule"},
		{"CRON_TZ= with no zone", func(cj *batchv1.CronJob) { cj.Spec.Schedule = "CRON_TZ=Europe/Berlin" }, "spec.schedule", "invalid schedule"},
		{"huge schedule", func(cj *batchv1.CronJob) { cj.Spec.Schedule = strings.Repeat("* ", 1<<19) }, "spec.schedule", "expected exactly 5 fields"},
		{"TZ in schedule", func(cj *batchv1.CronJob) { cj.Spec.Schedule = "TZ=UTC * * * * *" }, "spec.schedule", "cannot use TZ or CRON_TZ in schedule"},
		{"CRON_TZ in schedule", func(cj *batchv1.CronJob) { cj.Spec.Schedule = "CRON_TZ=Europe/Berlin 0 9 * * *" }, "spec.schedule", "use timeZone field instead"},
		{"unknown zone", func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr.To("Mars/Olympus") }, "spec.timeZone", "unknown time zone Mars/Olympus"},
		{"empty zone", func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr.To("") }, "spec.timeZone", "must be nil or non-empty"},
		{"Local zone", func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr.To("Local") }, "spec.timeZone", "must be an explicit time zone"},
		{"path in zone", func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr.To("../../etc/passwd") }, "spec.timeZone", "unknown time zone"},
		{"policy", func(cj *batchv1.CronJob) { cj.Spec.ConcurrencyPolicy = "Sometimes" }, "spec.concurrencyPolicy", `Unsupported value: "Sometimes"`},
		{"deadline", func(cj *batchv1.CronJob) { cj.Spec.StartingDeadlineSeconds = ptr.To[int64](-1) }, "spec.startingDeadlineSeconds", "must be greater than or equal to 0"},
		{"history", func(cj *batchv1.CronJob) { cj.Spec.FailedJobsHistoryLimit = ptr.To[int32](-1) }, "spec.failedJobsHistoryLimit", "must be greater than or equal to 0"},
		{"long name", func(cj *batchv1.CronJob) { cj.Name = strings.Repeat("a", 53) }, "metadata.name", "must be no more than 52 characters"},
		{"selector", func(cj *batchv1.CronJob) {
			cj.Spec.JobTemplate.Spec.ManualSelector = ptr.To(true)
		}, "spec.jobTemplate.spec.manualSelector", "Unsupported value"},
		{"template restartPolicy", func(cj *batchv1.CronJob) {
			cj.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
		}, "spec.jobTemplate.spec.template.spec.restartPolicy", "Unsupported value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cj := decodeCronJob(t)
			DefaultCronJob(cj)
			tc.mod(cj)
			err := Validate(cj)
			if err == nil || !strings.Contains(err.Error(), tc.field) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error = %v, want %s: %s", err, tc.field, tc.msg)
			}
		})
	}
}

// What the API server allows: descriptors, @every, an IANA zone.
func TestCronJobSchedulesAccepted(t *testing.T) {
	for _, sched := range []string{"@hourly", "@every 90s", "0 9 * * 1-5", "30 6-16/4 * * 1-5"} {
		cj := decodeCronJob(t)
		DefaultCronJob(cj)
		cj.Spec.Schedule, cj.Spec.TimeZone = sched, ptr.To("America/New_York")
		if err := Validate(cj); err != nil {
			t.Errorf("%q: %v", sched, err)
		}
	}
}

// An update may keep a TZ= the stored schedule already had (objects from
// before the timeZone field), but not add the field next to it.
func TestCronJobUpdateTZ(t *testing.T) {
	old := decodeCronJob(t)
	DefaultCronJob(old)
	old.Spec.Schedule = "TZ=UTC 0 * * * *"
	next := old.DeepCopy()
	if errs := ValidateCronJobUpdate(next, old); len(errs) != 0 {
		t.Fatalf("keeping TZ: %v", errs)
	}
	next.Spec.TimeZone = ptr.To("UTC")
	if errs := ValidateCronJobUpdate(next, old); len(errs) == 0 || !strings.Contains(errs.ToAggregate().Error(), "cannot use both") {
		t.Fatalf("TZ and timeZone: %v", errs)
	}
}

func TestManualJob(t *testing.T) {
	cj := decodeCronJob(t)
	cj.Namespace, cj.UID = "ns", "u1"
	cj.Spec.JobTemplate.Annotations = map[string]string{"a": "b"}
	j := ManualJob(cj, "by-hand")
	if j.Annotations[InstantiateAnnotation] != "manual" || j.Annotations["a"] != "b" || j.Namespace != "ns" {
		t.Fatalf("meta = %+v", j.ObjectMeta)
	}
	ref := j.OwnerReferences
	if len(ref) != 1 || ref[0].Kind != "CronJob" || ref[0].UID != "u1" || !ptr.Deref(ref[0].Controller, false) {
		t.Fatalf("owner = %+v", ref)
	}
}
