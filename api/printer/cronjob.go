package printer

import (
	"fmt"
	"io"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// cronJobColumns are kubectl's CronJob columns (printCronJob).
func cronJobColumns() columns {
	defs := cols([]string{"Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age",
		"Containers", "Images", "Selector"}, 7, "Active")
	return columns{defs, true, func(o any, now time.Time, _ bool) []string {
		cj := o.(*batchv1.CronJob)
		last := "<none>"
		if cj.Status.LastScheduleTime != nil {
			last = ageOf(*cj.Status.LastScheduleTime, now)
		}
		tz := "<none>"
		if cj.Spec.TimeZone != nil {
			tz = *cj.Spec.TimeZone
		}
		names, images := containerCells(cj.Spec.JobTemplate.Spec.Template.Spec.Containers)
		return []string{cj.Name, cj.Spec.Schedule, tz, boolPtr(cj.Spec.Suspend),
			fmt.Sprint(len(cj.Status.Active)), last, ageOf(cj.CreationTimestamp, now),
			names, images, selectorString(cj.Spec.JobTemplate.Spec.Selector)}
	}}
}

// boolPtr prints an optional bool as kubectl does (printBoolPtr).
func boolPtr(b *bool) string {
	switch {
	case b == nil:
		return "<unset>"
	case *b:
		return "True"
	}
	return "False"
}

// containerCells are the CONTAINERS and IMAGES cells of a wide row.
func containerCells(cs []corev1.Container) (names, images string) {
	n, i := make([]string, 0, len(cs)), make([]string, 0, len(cs))
	for _, c := range cs {
		n, i = append(n, c.Name), append(i, c.Image)
	}
	return strings.Join(n, ","), strings.Join(i, ",")
}

// CronJobDescription is what `podctl describe cronjob` shows.
type CronJobDescription struct {
	CronJob *batchv1.CronJob
	Events  []corev1.Event // the cronjob's events, any order
}

// DescribeCronJob writes the kubectl-style description of a CronJob
// (kubectl's describeCronJob).
func DescribeCronJob(out io.Writer, desc CronJobDescription, now time.Time) error {
	d := newDescriber(out, now)
	cj := desc.CronJob
	s := &cj.Spec
	d.line(0, "Name:\t%s", cj.Name)
	d.line(0, "Namespace:\t%s", cj.Namespace)
	d.keyValues(0, "Labels", cj.Labels)
	d.keyValues(0, "Annotations", cj.Annotations)
	d.line(0, "Schedule:\t%s", s.Schedule)
	if s.TimeZone != nil {
		d.line(0, "Time Zone:\t%s", *s.TimeZone)
	}
	d.line(0, "Concurrency Policy:\t%s", s.ConcurrencyPolicy)
	d.line(0, "Suspend:\t%s", boolPtr(s.Suspend))
	d.line(0, "Successful Job History Limit:\t%s", int32Ptr(s.SuccessfulJobsHistoryLimit))
	d.line(0, "Failed Job History Limit:\t%s", int32Ptr(s.FailedJobsHistoryLimit))
	if s.StartingDeadlineSeconds != nil {
		d.line(0, "Starting Deadline Seconds:\t%ds", *s.StartingDeadlineSeconds)
	} else {
		d.line(0, "Starting Deadline Seconds:\t<unset>")
	}
	js := &s.JobTemplate.Spec
	d.line(0, "Parallelism:\t%s", int32Ptr(js.Parallelism))
	d.line(0, "Completions:\t%s", int32Ptr(js.Completions))
	d.line(0, "Pod Template:")
	d.keyValues(1, "Labels", js.Template.Labels)
	d.templateContainers("Init Containers", js.Template.Spec.InitContainers)
	d.templateContainers("Containers", js.Template.Spec.Containers)
	d.volumes(js.Template.Spec.Volumes)
	if t := cj.Status.LastScheduleTime; t != nil {
		d.line(0, "Last Schedule Time:\t%s", timestamp(*t))
	} else {
		d.line(0, "Last Schedule Time:\t<unset>")
	}
	active := make([]string, 0, len(cj.Status.Active))
	for _, r := range cj.Status.Active {
		active = append(active, r.Name)
	}
	if len(active) == 0 {
		active = append(active, "<none>")
	}
	d.line(0, "Active Jobs:\t%s", strings.Join(active, ", "))
	d.events(desc.Events)
	return d.flush()
}

func int32Ptr(v *int32) string {
	if v == nil {
		return "<unset>"
	}
	return fmt.Sprint(*v)
}
