package cronjob

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var t0 = time.Date(2026, 6, 1, 10, 0, 30, 0, time.UTC)

func minute(m int) time.Time { return time.Date(2026, 6, 1, 10, m, 0, 0, time.UTC) }

// An every-minute CronJob makes one Job per minute, named for the minute,
// and asks to be synced again just after the next one (R109, R111).
func TestEveryMinute(t *testing.T) {
	w := newWorld(t, t0)
	w.addCronJob("*/1 * * * *")
	c := w.controller()
	if d := w.sync(c); d == nil || *d != 30*time.Second+nextScheduleDelta {
		t.Fatalf("requeue before the first time = %v, want 30.1s", d)
	}
	if len(w.created) != 0 {
		t.Fatalf("created %v before the first schedule time", w.created)
	}
	for m := 1; m <= 3; m++ {
		w.clk.SetTime(minute(m).Add(nextScheduleDelta))
		if d := w.sync(c); d == nil || *d != time.Minute {
			t.Fatalf("minute %d: requeue = %v, want 1m", m, d)
		}
		w.sync(c) // a second sync in the same minute makes nothing
	}
	want := []string{minuteJob(minute(1)), minuteJob(minute(2)), minuteJob(minute(3))}
	if !slices.Equal(w.created, want) {
		t.Fatalf("created %v, want %v", w.created, want)
	}
	cj := w.cronJob()
	if len(cj.Status.Active) != 3 || !cj.Status.LastScheduleTime.Time.Equal(minute(3)) {
		t.Fatalf("status = %+v", cj.Status)
	}
	j, _ := w.GetJob(t.Context(), "default", want[0])
	if ref := metav1.GetControllerOf(j); ref == nil || ref.UID != cj.UID || ref.Kind != "CronJob" {
		t.Fatalf("owner = %+v", j.OwnerReferences)
	}
	if got := j.Annotations[batchv1.CronJobScheduledTimestampAnnotation]; got != "2026-06-01T10:01:00Z" {
		t.Fatalf("scheduled-timestamp = %q", got)
	}
	if want[0] != "cj-"+strconv.FormatInt(minute(1).Unix()/60, 10) {
		t.Fatalf("job name %q is not minutes since the epoch", want[0])
	}
}

// The concurrency policies at the next schedule time while the Job of the
// previous one still runs (R112).
func TestConcurrencyPolicy(t *testing.T) {
	for _, tc := range []struct {
		policy      batchv1.ConcurrencyPolicy
		wantJobs    []string
		wantActive  int
		wantEvent   string
		wantDeleted []string
	}{
		{batchv1.AllowConcurrent, []string{minuteJob(minute(1)), minuteJob(minute(2))}, 2, "SuccessfulCreate", nil},
		{batchv1.ForbidConcurrent, []string{minuteJob(minute(1))}, 1, "JobAlreadyActive", nil},
		{batchv1.ReplaceConcurrent, []string{minuteJob(minute(2))}, 1, "SuccessfulDelete", []string{minuteJob(minute(1))}},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			w := newWorld(t, t0)
			w.addCronJob("* * * * *", func(cj *batchv1.CronJob) { cj.Spec.ConcurrencyPolicy = tc.policy })
			c := w.controller()
			w.syncAt(c, minute(1).Add(time.Second), minute(2).Add(time.Second))
			if got := w.jobNames(); !slices.Equal(got, tc.wantJobs) {
				t.Fatalf("jobs = %v, want %v", got, tc.wantJobs)
			}
			if got := len(w.cronJob().Status.Active); got != tc.wantActive {
				t.Fatalf("active = %d, want %d", got, tc.wantActive)
			}
			if !w.hasEvent(tc.wantEvent) {
				t.Fatalf("no %s event in %v", tc.wantEvent, w.events)
			}
			if !slices.Equal(w.deleted, tc.wantDeleted) {
				t.Fatalf("deleted %v, want %v", w.deleted, tc.wantDeleted)
			}
		})
	}
}

// Forbid starts the next run once the running Job has finished.
func TestForbidRunsAfterFinish(t *testing.T) {
	w := newWorld(t, t0)
	w.addCronJob("* * * * *", func(cj *batchv1.CronJob) { cj.Spec.ConcurrencyPolicy = batchv1.ForbidConcurrent })
	c := w.controller()
	w.syncAt(c, minute(1).Add(time.Second), minute(2).Add(time.Second))
	w.finish(minuteJob(minute(1)), batchv1.JobComplete, minute(1), minute(2).Add(10*time.Second))
	w.syncAt(c, minute(2).Add(20*time.Second))
	cj := w.cronJob()
	if len(w.created) != 2 || w.created[1] != minuteJob(minute(2)) {
		t.Fatalf("created %v, want the 10:02 job once the 10:01 one finished", w.created)
	}
	if cj.Status.LastSuccessfulTime == nil || !cj.Status.LastSuccessfulTime.Time.Equal(minute(2).Add(10*time.Second)) {
		t.Fatalf("lastSuccessfulTime = %v", cj.Status.LastSuccessfulTime)
	}
	if len(cj.Status.Active) != 1 || cj.Status.Active[0].Name != minuteJob(minute(2)) {
		t.Fatalf("active = %+v", cj.Status.Active)
	}
}

// Suspended, nothing runs and no requeue is asked (R109).
func TestSuspend(t *testing.T) {
	w := newWorld(t, t0)
	w.addCronJob("* * * * *", func(cj *batchv1.CronJob) { cj.Spec.Suspend = ptr.To(true) })
	c := w.controller()
	w.clk.SetTime(minute(5))
	if d := w.sync(c); d != nil {
		t.Fatalf("requeue %v for a suspended cronjob", *d)
	}
	if len(w.created) != 0 {
		t.Fatalf("created %v while suspended", w.created)
	}
}

// Missed schedule times (downtime, a wall clock that jumped) are caught
// up by one Job, for the most recent time, within startingDeadlineSeconds
// (R110).
func TestMissedRuns(t *testing.T) {
	for _, tc := range []struct {
		name      string
		deadline  *int64
		now       time.Time
		wantJob   string // "" = none
		wantEvent string
	}{
		{"three minutes down, no deadline", nil, minute(4).Add(30 * time.Second), minuteJob(minute(4)), ""},
		{"within the deadline", ptr.To[int64](60), minute(4).Add(30 * time.Second), minuteJob(minute(4)), ""},
		{"deadline exceeded", ptr.To[int64](10), minute(4).Add(30 * time.Second), "", ""},
		{"over 100 missed", nil, minute(0).Add(3 * time.Hour).Add(30 * time.Second), minuteJob(minute(0).Add(3 * time.Hour)), "TooManyMissedTimes"},
		{"clock jumped 5 years ahead", nil, minute(0).AddDate(5, 0, 0).Add(7 * time.Second), minuteJob(minute(0).AddDate(5, 0, 0)), "TooManyMissedTimes"},
		{"5 years ahead with a deadline", ptr.To[int64](100), minute(0).AddDate(5, 0, 0).Add(7 * time.Second), minuteJob(minute(0).AddDate(5, 0, 0)), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, t0)
			w.addCronJob("* * * * *", func(cj *batchv1.CronJob) { cj.Spec.StartingDeadlineSeconds = tc.deadline })
			c := w.controller()
			w.syncAt(c, minute(1).Add(time.Second))
			w.finish(minuteJob(minute(1)), batchv1.JobComplete, minute(1), minute(1).Add(2*time.Second))
			w.created = nil
			w.clk.SetTime(tc.now)
			d := w.sync(c)
			w.sync(c) // the next sync in the same minute catches up nothing more
			var want []string
			if tc.wantJob != "" {
				want = []string{tc.wantJob}
			}
			if !slices.Equal(w.created, want) {
				t.Fatalf("created %v, want %v", w.created, want)
			}
			if tc.wantEvent != "" && !w.hasEvent(tc.wantEvent) {
				t.Fatalf("no %s event in %v", tc.wantEvent, w.events)
			}
			if tc.wantEvent == "" && w.hasEvent("TooManyMissedTimes") {
				t.Fatalf("unexpected TooManyMissedTimes: %v", w.events)
			}
			if d == nil || *d <= 0 || *d > time.Minute+nextScheduleDelta {
				t.Fatalf("requeue = %v, want within the next minute", d)
			}
		})
	}
}

// A wall clock set back never runs a schedule time again: nothing runs
// until the clock passes the last schedule time, and a Job that exists
// under a time's name is never made twice, even when the status lost its
// record of it (R111).
func TestBackwardClockJump(t *testing.T) {
	w := newWorld(t, t0)
	w.addCronJob("* * * * *")
	c := w.controller()
	for m := 1; m <= 5; m++ {
		w.syncAt(c, minute(m).Add(time.Second))
	}
	w.created = nil
	w.clk.SetTime(minute(2).Add(30 * time.Second)) // set back three minutes
	d := w.sync(c)
	if len(w.created) != 0 {
		t.Fatalf("created %v after the clock went back", w.created)
	}
	if d == nil || *d != 3*time.Minute+30*time.Second+nextScheduleDelta {
		t.Fatalf("requeue = %v, want until just after 10:06", d)
	}
	for s := 0; s < 4*60; s += 15 {
		w.syncAt(c, minute(2).Add(30*time.Second+time.Duration(s)*time.Second))
	}
	if len(w.created) != 1 || w.created[0] != minuteJob(minute(6)) {
		t.Fatalf("created %v, want only the 10:06 job", w.created)
	}
	// The status forgets 10:04 (written by an older podrund, restored
	// store): the Job of 10:04 exists and is not made again.
	w.created = nil
	w.mu.Lock()
	w.cjs["default/cj"].Status.LastScheduleTime = &metav1.Time{Time: minute(3)}
	w.mu.Unlock()
	w.syncAt(c, minute(4).Add(time.Second))
	if len(w.created) != 0 {
		t.Fatalf("created %v for a time whose job exists", w.created)
	}
}

// spec.timeZone: a daily 09:00 in Europe/Berlin runs at 08:00 UTC in
// winter and 07:00 UTC after the spring DST change, and the Job's
// scheduled-timestamp annotation is in the zone (R113).
func TestTimeZoneAcrossDST(t *testing.T) {
	winter := time.Date(2026, 3, 28, 8, 0, 0, 0, time.UTC) // 09:00 CET
	summer := time.Date(2026, 3, 29, 7, 0, 0, 0, time.UTC) // 09:00 CEST
	winterUTC := winter.Add(time.Hour)                     // 09:00 UTC
	for _, tc := range []struct {
		tz   string
		last time.Time
		now  time.Time
		want string
		ann  string
	}{
		{"Europe/Berlin", winter, summer.Add(30 * time.Second), minuteJob(summer), "2026-03-29T09:00:00+02:00"},
		{"UTC", winterUTC, summer.Add(30 * time.Second), "", ""},
		{"UTC", winterUTC, summer.Add(2*time.Hour + 30*time.Second), minuteJob(summer.Add(2 * time.Hour)), "2026-03-29T09:00:00Z"},
	} {
		t.Run(tc.tz+" "+tc.now.Format(time.Kitchen), func(t *testing.T) {
			w := newWorld(t, winter.Add(-time.Hour))
			w.addCronJob("0 9 * * *", func(cj *batchv1.CronJob) {
				cj.Spec.TimeZone = ptr.To(tc.tz)
				cj.Status.LastScheduleTime = &metav1.Time{Time: tc.last}
			})
			c := w.controller()
			w.syncAt(c, tc.now)
			var want []string
			if tc.want != "" {
				want = []string{tc.want}
			}
			if !slices.Equal(w.created, want) {
				t.Fatalf("created %v, want %v", w.created, want)
			}
			if tc.want == "" {
				return
			}
			j, _ := w.GetJob(t.Context(), "default", tc.want)
			if got := j.Annotations[batchv1.CronJobScheduledTimestampAnnotation]; got != tc.ann {
				t.Fatalf("scheduled-timestamp = %q, want %q", got, tc.ann)
			}
		})
	}
}

// History limits keep the newest finished Jobs of each outcome and
// delete the rest, oldest first (R114).
func TestHistoryLimits(t *testing.T) {
	w := newWorld(t, t0)
	w.addCronJob("* * * * *", func(cj *batchv1.CronJob) { cj.Spec.Suspend = ptr.To(true) })
	c := w.controller()
	cj := w.cronJob()
	outcome := []batchv1.JobConditionType{batchv1.JobComplete, batchv1.JobFailed, batchv1.JobComplete, batchv1.JobComplete,
		batchv1.JobFailed, batchv1.JobComplete, batchv1.JobComplete, batchv1.JobFailed}
	for i, cond := range outcome {
		j, err := jobFromTemplate(cj, minute(i+1))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.CreateJob(t.Context(), j); err != nil {
			t.Fatal(err)
		}
		w.finish(j.Name, cond, minute(i+1), minute(i+1).Add(time.Second))
	}
	w.sync(c)
	want := []string{minuteJob(minute(4)), minuteJob(minute(6)), minuteJob(minute(7)), minuteJob(minute(8))}
	if got := w.jobNames(); !slices.Equal(got, want) {
		t.Fatalf("kept %v, want the 3 newest complete and the newest failed %v", got, want)
	}
}

// A Job that went missing leaves status.active, so it cannot hold a
// Forbid CronJob for ever.
func TestMissingActiveJob(t *testing.T) {
	w := newWorld(t, t0)
	w.addCronJob("* * * * *", func(cj *batchv1.CronJob) { cj.Spec.ConcurrencyPolicy = batchv1.ForbidConcurrent })
	c := w.controller()
	w.syncAt(c, minute(1).Add(time.Second))
	if err := w.DeleteJob(t.Context(), "default", minuteJob(minute(1))); err != nil {
		t.Fatal(err)
	}
	w.syncAt(c, minute(2).Add(time.Second))
	if !w.hasEvent("MissingJob") || len(w.created) != 2 {
		t.Fatalf("created %v, events %v", w.created, w.events)
	}
}

// A schedule that parses but never fires (31 February) is reported and
// not requeued, rather than spinning.
func TestScheduleThatNeverFires(t *testing.T) {
	w := newWorld(t, t0)
	w.addCronJob("0 0 31 2 *")
	c := w.controller()
	w.clk.SetTime(t0.AddDate(1, 0, 0))
	if d := w.sync(c); d != nil {
		t.Fatalf("requeue %v", *d)
	}
	if !w.hasEvent("InvalidSchedule") || len(w.created) != 0 {
		t.Fatalf("events %v, created %v", w.events, w.created)
	}
}

// A running Job the CronJob controls but did not start (podctl create job
// --from) is reported, not adopted into status.active; once complete it
// counts for lastSuccessfulTime like any other (R114, R115).
func TestManualJobIsUnexpected(t *testing.T) {
	w := newWorld(t, t0)
	cj := w.addCronJob("* * * * *", func(cj *batchv1.CronJob) { cj.Spec.Suspend = ptr.To(true) })
	c := w.controller()
	if _, err := w.CreateJob(t.Context(), api.ManualJob(cj, "by-hand")); err != nil {
		t.Fatal(err)
	}
	w.sync(c)
	if !w.hasEvent("UnexpectedJob") || len(w.cronJob().Status.Active) != 0 {
		t.Fatalf("events %v, status %+v", w.events, w.cronJob().Status)
	}
	w.finish("by-hand", batchv1.JobComplete, minute(1), minute(2))
	w.sync(c)
	if got := w.cronJob().Status.LastSuccessfulTime; got == nil || !got.Time.Equal(minute(2)) {
		t.Fatalf("lastSuccessfulTime = %v", got)
	}
}
