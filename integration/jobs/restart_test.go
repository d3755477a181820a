package jobs

import (
	"context"
	"syscall"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// TestPodrundKilledMidJob: podrund is SIGKILLed twice in the middle of a
// Job (completions 3, parallelism 2), each time while two of its pods run;
// every pod waits for a gate file of its own, so the test decides which
// pods finish while podrund is down. No completion is lost or counted
// twice, and the controller creates exactly the three pods it needs (R94,
// R-V1).
func TestPodrundKilledMidJob(t *testing.T) {
	t.Parallel()
	d := env.PrivateDaemon(t)
	c := clientOn(t, d)
	work := logLine("start") + "; while [ ! -f /shared/go-$POD_NAME ]; do sleep 0.2; done; " + logLine("end")
	c.Apply(jobYAML(c, "rs", "completions: 3\nparallelism: 2\nbackoffLimit: 0", "restartPolicy: Never", "",
		container("main", work)))
	waitCount(c, "start", 2)
	first := jobPods(t, c, "rs")
	if len(first) != 2 {
		t.Fatalf("want 2 pods before the kill:\n%s", podsString(first))
	}

	// Kill 1: pod A finishes while podrund is down, B keeps running.
	kill(t, d)
	touch(t, c, "go-"+first[0].Name)
	waitCount(c, "end", 1)
	restart(t, d)
	j := waitJob(t, c, "rs", "counting A", 60*time.Second, func(j *batchv1.Job) bool { return j.Status.Succeeded == 1 })
	waitCount(c, "start", 3)
	ps := jobPods(t, c, "rs")
	if len(ps) != 3 || j.Status.Failed != 0 {
		t.Fatalf("after the first restart want 3 pods (A done, B, and one new):\n%s\n%s", podsString(ps), jobString(j))
	}

	// Kill 2: B and the new pod C run; both finish while podrund is down.
	kill(t, d)
	for _, p := range ps {
		touch(t, c, "go-"+p.Name)
	}
	waitCount(c, "end", 3)
	restart(t, d)

	j = waitJob(t, c, "rs", "Complete", 90*time.Second, isComplete)
	if j.Status.Succeeded != 3 || j.Status.Failed != 0 || j.Status.Active != 0 {
		t.Errorf("job status %s, want succeeded 3, failed 0", jobString(j))
	}
	checkThreePods(t, c, ps)
}

func kill(t *testing.T, d *harness.Podrund) {
	t.Helper()
	if err := d.Stop(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
}

func restart(t *testing.T, d *harness.Podrund) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := d.Start(ctx); err != nil {
		t.Fatalf("restart podrund: %v", err)
	}
}

// checkThreePods: the Job has exactly the three pods seen before, all
// Succeeded, and every pod started and ended once.
func checkThreePods(t *testing.T, c *harness.Client, before []corev1.Pod) {
	t.Helper()
	ps := jobPods(t, c, "rs")
	if len(ps) != 3 || countPhase(ps, corev1.PodSucceeded) != 3 {
		t.Errorf("want exactly 3 Succeeded pods:\n%s", podsString(ps))
	}
	uids := map[string]bool{}
	for _, p := range ps {
		uids[string(p.UID)] = true
	}
	for _, p := range before {
		if !uids[string(p.UID)] {
			t.Errorf("pod %s from before the kill is gone or was replaced", p.Name)
		}
	}
	lines := readOrder(c)
	per := map[string]int{}
	for _, l := range lines {
		per[l.Name+" "+l.Event]++
	}
	for _, p := range ps {
		if per[p.Name+" start"] != 1 || per[p.Name+" end"] != 1 {
			t.Errorf("pod %s did not start and end exactly once:\n%s", p.Name, lines)
		}
	}
	if len(lines) != 6 {
		t.Errorf("want 6 order lines (3 pods × start, end):\n%s", lines)
	}
}

// TestPodrundKilledBeforeTimers: the Job controller's timers (a Job's
// activeDeadlineSeconds, ttlSecondsAfterFinished) are derived from the
// stored Job, so a podrund killed before they fire still enforces them
// after its restart.
func TestPodrundKilledBeforeTimers(t *testing.T) {
	t.Parallel()
	d := env.PrivateDaemon(t)
	c := clientOn(t, d)
	c.Apply(jobYAML(c, "dl", "activeDeadlineSeconds: 8\nbackoffLimit: 0", "restartPolicy: Never", "",
		container("main", logLine("dl start")+"; while true; do sleep 1 & wait $!; done")))
	c.Apply(jobYAML(c, "ttl", "ttlSecondsAfterFinished: 4", "restartPolicy: Never", "",
		container("main", logLine("ttl done"))))
	waitCount(c, "dl start", 1)
	waitJob(t, c, "ttl", "Complete", 60*time.Second, isComplete)
	if j := getJob(t, c, "dl"); j == nil || isFinished(j) {
		t.Fatalf("dl finished before the kill (machine too slow for this test's 8 s deadline): %s", jobString(j))
	}
	kill(t, d)
	restart(t, d)
	waitFailed(t, c, "dl", batchv1.JobReasonDeadlineExceeded, 60*time.Second)
	waitJobGone(t, c, "ttl")
	waitPods(t, c, "ttl", "deleted with the job", 60*time.Second, func(ps []corev1.Pod) bool { return len(ps) == 0 })
}
