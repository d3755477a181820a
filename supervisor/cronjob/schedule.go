package cronjob

import (
	"fmt"
	"strings"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// nextScheduleDelta pads every requeue so that a timer that fires a
// little early (clock skew, NTP slew) still finds its schedule time
// passed, as the controller's does.
const nextScheduleDelta = 100 * time.Millisecond

// tooManyMissed is the count of missed schedule times above which the
// controller warns (TooManyMissedTimes): more than a weekend of hourly
// runs, less than a clock that is decades off (R110).
const tooManyMissed = 100

// missed says how many schedule times were missed since the last one.
type missed int

const (
	noneMissed missed = iota
	fewMissed
	manyMissed
)

// formatSchedule is the schedule the controller parses: spec.timeZone is
// applied as a TZ= prefix (an unloadable zone leaves the schedule as is;
// syncCronJob refuses it first), a schedule that already names TZ is
// kept.
func formatSchedule(cj *batchv1.CronJob) string {
	if strings.Contains(cj.Spec.Schedule, "TZ") || cj.Spec.TimeZone == nil {
		return cj.Spec.Schedule
	}
	if _, err := time.LoadLocation(*cj.Spec.TimeZone); err != nil {
		return cj.Spec.Schedule
	}
	return fmt.Sprintf("TZ=%s %s", *cj.Spec.TimeZone, cj.Spec.Schedule)
}

func parseSchedule(cj *batchv1.CronJob) (cron.Schedule, error) {
	return api.ParseSchedule(formatSchedule(cj))
}

// mostRecentScheduleTime is the controller's function of the same name
// (R110): from the last schedule time (or the creation time), and, when
// withDeadline, no earlier than now - startingDeadlineSeconds, it returns
// that earliest time, the most recent schedule time not after now (nil
// if none), and how many were missed. The count is estimated from the
// interval between two schedule times, so a clock that jumped years
// ahead costs a few steps of the cron library, never one per missed time.
func mostRecentScheduleTime(cj *batchv1.CronJob, now time.Time, sched cron.Schedule, withDeadline bool) (time.Time, *time.Time, missed, error) {
	earliest := cj.CreationTimestamp.Time
	if cj.Status.LastScheduleTime != nil {
		earliest = cj.Status.LastScheduleTime.Time
	}
	if withDeadline && cj.Spec.StartingDeadlineSeconds != nil {
		deadline := now.Add(-time.Duration(*cj.Spec.StartingDeadlineSeconds) * time.Second)
		if deadline.After(earliest) {
			earliest = deadline
		}
	}
	t1 := sched.Next(earliest)
	t2 := sched.Next(t1)
	if now.Before(t1) {
		return earliest, nil, noneMissed, nil
	}
	if now.Before(t2) {
		return earliest, &t1, noneMissed, nil
	}
	// A schedule that can never fire (31 February) gives zero times,
	// whose interval is 0.
	interval := int64(t2.Sub(t1).Round(time.Second).Seconds())
	if interval < 1 {
		return earliest, nil, noneMissed, fmt.Errorf("time difference between two schedules is less than 1 second")
	}
	count := int64(now.Sub(t1).Seconds())/interval + 1
	// Start one interval before the estimate so that irregular schedules
	// (30 6-16/4 * * 1-5) and @every still land on their true times.
	var recent time.Time
	for t := sched.Next(t1.Add(time.Duration((count-2)*interval) * time.Second)); !t.After(now); t = sched.Next(t) {
		recent = t
	}
	m := fewMissed
	if count > tooManyMissed {
		m = manyMissed
	}
	if recent.IsZero() {
		return earliest, nil, m, nil
	}
	return earliest, &recent, m, nil
}

// nextScheduleDuration is how long until the next schedule time after
// the most recent one, plus nextScheduleDelta (nextScheduleTimeDuration).
// It is a duration on the injected clock; a wall clock that jumps while
// it runs is caught by the next sync, which reads the time again.
func nextScheduleDuration(cj *batchv1.CronJob, now time.Time, sched cron.Schedule) time.Duration {
	earliest, recent, m, err := mostRecentScheduleTime(cj, now, sched, false)
	switch {
	case err != nil:
		recent = &now
	case recent == nil && m == noneMissed:
		recent = &earliest
	case recent == nil:
		recent = &now
	}
	return sched.Next(*recent).Add(nextScheduleDelta).Sub(now)
}

// JobName is the name of the Job for a schedule time: the CronJob's name
// and the time in minutes since the epoch. It is the same on every run
// and after every restart, so a schedule time can make one Job only
// (R111).
func JobName(cronJobName string, scheduled time.Time) string {
	return fmt.Sprintf("%s-%d", cronJobName, scheduled.Unix()/60)
}

// jobFromTemplate makes the Job of one schedule time (getJobFromTemplate2):
// the template's labels, annotations and spec, the scheduled-timestamp
// annotation in the CronJob's zone, and the CronJob as controlling owner.
func jobFromTemplate(cj *batchv1.CronJob, scheduled time.Time) (*batchv1.Job, error) {
	loc, err := time.LoadLocation(ptr.Deref(cj.Spec.TimeZone, ""))
	if err != nil {
		return nil, err
	}
	t := &cj.Spec.JobTemplate
	labels := make(map[string]string, len(t.Labels))
	for k, v := range t.Labels {
		labels[k] = v
	}
	annotations := make(map[string]string, len(t.Annotations)+1)
	for k, v := range t.Annotations {
		annotations[k] = v
	}
	annotations[batchv1.CronJobScheduledTimestampAnnotation] = scheduled.In(loc).Format(time.RFC3339)
	j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{
		Name: JobName(cj.Name, scheduled), Namespace: cj.Namespace,
		Labels: labels, Annotations: annotations,
		OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cj, api.CronJobGVK)},
	}}
	t.Spec.DeepCopyInto(&j.Spec)
	return j, nil
}
