package cronjob

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podrun/podrun/integration/harness"
)

// An every-minute CronJob runs once per minute: three Jobs named for
// three consecutive minutes complete, the history limit (2 here, to
// prune within three minutes) keeps only the newest complete ones, and
// the status records the last schedule and success (R109, R111, R114).
func TestEveryMinuteKeepsHistory(t *testing.T) {
	t.Parallel()
	c := newClient(t, env.Daemon)
	c.Apply(cronJobYAML("echo tick", "  successfulJobsHistoryLimit: 2\n"))
	done := map[string]int64{} // complete Job name -> minute
	waitJobs(t, c, 4*time.Minute+30*time.Second, "three completed", func(jobs []batchv1.Job) bool {
		for i := range jobs {
			if isComplete(&jobs[i]) {
				done[jobs[i].Name] = minuteOf(t, &jobs[i])
			}
		}
		return len(done) >= 3
	})
	var minutes []int64
	for _, m := range done {
		minutes = append(minutes, m)
	}
	slices.Sort(minutes)
	for i := 1; i < len(minutes); i++ {
		if minutes[i] != minutes[i-1]+1 {
			t.Fatalf("the jobs' minutes %v are not consecutive", minutes)
		}
	}
	newest := minutes[len(minutes)-2:]
	waitJobs(t, c, 30*time.Second, "pruned to the 2 newest complete", func(jobs []batchv1.Job) bool {
		var kept []int64
		for i := range jobs {
			if isComplete(&jobs[i]) {
				kept = append(kept, minuteOf(t, &jobs[i]))
			}
		}
		return len(kept) == 2 && kept[0] >= newest[0]
	})
	cj := getCronJob(t, c)
	if cj.Status.LastScheduleTime == nil || cj.Status.LastSuccessfulTime == nil {
		t.Fatalf("status %+v", cj.Status)
	}
	out := c.MustPodctl("get", "cronjobs")
	if !strings.Contains(out, "cj     */1 * * * *   <none>     False") {
		t.Errorf("podctl get cronjobs:\n%s", out)
	}
}

// Forbid skips a schedule time while the previous Job runs
// (JobAlreadyActive); Replace deletes the running Job and starts the
// new one (R112).
func TestConcurrencyPolicies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		policy batchv1.ConcurrencyPolicy
		reason string
	}{
		{batchv1.ForbidConcurrent, "JobAlreadyActive"},
		{batchv1.ReplaceConcurrent, "SuccessfulDelete"},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			t.Parallel()
			c := newClient(t, env.Daemon)
			c.Apply(cronJobYAML("sleep 600", "  concurrencyPolicy: "+string(tc.policy)+"\n"))
			first := waitJobs(t, c, 90*time.Second, "one", func(jobs []batchv1.Job) bool { return len(jobs) == 1 })[0]
			c.WaitEvent(harness.EventFilter{Object: "cj", Reason: tc.reason}, 90*time.Second)
			jobs := listJobs(t, c)
			if len(jobs) != 1 {
				t.Fatalf("%s: jobs %s, want exactly one", tc.policy, jobNames(jobs))
			}
			replaced := jobs[0].Name != first.Name
			if want := tc.policy == batchv1.ReplaceConcurrent; replaced != want {
				t.Fatalf("%s: the job is %s, first was %s", tc.policy, jobs[0].Name, first.Name)
			}
			if replaced && minuteOf(t, &jobs[0]) <= minuteOf(t, &first) {
				t.Fatalf("the replacement %s is not for a later minute than %s", jobs[0].Name, first.Name)
			}
		})
	}
}

// After three minutes of podrund downtime the missed schedule times are
// caught up by exactly one Job, for the most recent time; the minutes in
// between never run (R110).
func TestMissedRunAfterDowntime(t *testing.T) {
	t.Parallel()
	d := env.PrivateDaemon(t)
	c := newClient(t, d)
	c.Apply(cronJobYAML("echo tick", ""))
	first := waitJobs(t, c, 90*time.Second, "one complete", func(jobs []batchv1.Job) bool {
		return len(jobs) == 1 && isComplete(&jobs[0])
	})[0]
	if err := d.Stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now().Unix() / 60
	for time.Now().Unix()/60 < stopped+3 {
		time.Sleep(time.Second)
	}
	before := time.Now().Unix() / 60
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := d.Start(ctx); err != nil {
		t.Fatalf("restart podrund: %v", err)
	}
	jobs := waitJobs(t, c, 60*time.Second, "caught up", func(jobs []batchv1.Job) bool { return len(jobs) >= 2 })
	after := time.Now().Unix() / 60
	var later []int64
	for i := range jobs {
		if m := minuteOf(t, &jobs[i]); m > minuteOf(t, &first) {
			later = append(later, m)
		}
	}
	if len(later) == 0 || int64(len(later)) > after-before+1 {
		t.Fatalf("after the downtime: jobs %s, want one per minute from %d to %d at most", jobNames(jobs), before, after)
	}
	for _, m := range later {
		if m < before {
			t.Fatalf("a missed minute ran: jobs %s, podrund was down from minute %d to %d", jobNames(jobs), stopped, before)
		}
	}
}

// podctl create job --from=cronjob/cj runs a suspended CronJob's Job now,
// as kubectl does; deleting the CronJob deletes that Job and its pod
// (R115).
func TestCreateJobFromCronJobAndCascade(t *testing.T) {
	t.Parallel()
	c := newClient(t, env.Daemon)
	c.Apply(cronJobYAML("echo by hand", "  suspend: true\n"))
	if out := c.MustPodctl("create", "job", "by-hand", "--from=cronjob/cj"); out != "job.batch/by-hand created\n" {
		t.Fatalf("create job: %q", out)
	}
	jobs := waitJobs(t, c, 60*time.Second, "complete", func(jobs []batchv1.Job) bool {
		return len(jobs) == 1 && isComplete(&jobs[0])
	})
	cj := getCronJob(t, c)
	j := jobs[0]
	if ref := metav1.GetControllerOf(&j); j.Annotations["cronjob.kubernetes.io/instantiate"] != "manual" ||
		ref == nil || ref.UID != cj.UID {
		t.Fatalf("job metadata %+v", j.ObjectMeta)
	}
	if len(c.ListPods()) != 1 {
		t.Fatalf("want the job's pod, got %d pods", len(c.ListPods()))
	}
	c.MustPodctl("delete", "cronjob", "cj")
	harness.Eventually(t, 60*time.Second, func() string {
		if n, js := len(c.ListPods()), len(listJobs(t, c)); n+js > 0 {
			return fmt.Sprintf("%d pods and %d jobs left after deleting their cronjob", n, js)
		}
		return ""
	})
}
