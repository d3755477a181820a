package jobs

import (
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podrun/podrun/integration/harness"
)

// TestParallelCompletions: completions 4, parallelism 2 — four pods succeed,
// never more than two run at once (their start/end lines in the shared
// order file overlap at most pairwise), and no fifth pod is created.
func TestParallelCompletions(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	// The first two pods wait for each other so that they surely overlap
	// however slowly containers start on a loaded machine.
	work := logLine("start") + `; until [ "$(grep -c start /shared/order.log)" -ge 2 ]; do sleep 0.1; done; sleep 1; ` + logLine("end")
	c.Apply(jobYAML(c, "par", "completions: 4\nparallelism: 2\nbackoffLimit: 0", "restartPolicy: Never", "",
		container("work", work)))
	j := waitJob(t, c, "par", "Complete", 90*time.Second, isComplete)
	if j.Status.Succeeded != 4 || j.Status.Failed != 0 || j.Status.Active != 0 {
		t.Errorf("job status %s, want succeeded 4", jobString(j))
	}
	ps := jobPods(t, c, "par")
	if len(ps) != 4 || countPhase(ps, corev1.PodSucceeded) != 4 {
		t.Errorf("want exactly 4 Succeeded pods:\n%s", podsString(ps))
	}
	lines := readOrder(c)
	running, most, started := 0, 0, map[string]bool{}
	for _, l := range lines {
		switch l.Event {
		case "start":
			running++
			started[l.Name] = true
		case "end":
			running--
		}
		most = max(most, running)
	}
	if most != 2 || len(started) != 4 {
		t.Errorf("at most %d pods ran at once (want 2, parallelism) and %d pods started (want 4):\n%s", most, len(started), lines)
	}
	if row := harness.TableRow(c.MustPodctl("get", "jobs"), "par"); len(row) < 3 || row[1] != "Complete" || row[2] != "4/4" {
		t.Errorf("get jobs row %q, want Complete 4/4", row)
	}
}

// TestIndexedCompletion: completionMode Indexed gives each pod its index as
// label, annotation and JOB_COMPLETION_INDEX (init containers included),
// and the Job records completedIndexes.
func TestIndexedCompletion(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	c.Apply(jobYAML(c, "idx", "completions: 3\nparallelism: 3\ncompletionMode: Indexed\nbackoffLimit: 0", "restartPolicy: Never",
		container("init", `echo "$JOB_COMPLETION_INDEX" > /shared/init-$POD_NAME`),
		container("work", `echo "$JOB_COMPLETION_INDEX $(hostname)" > /shared/work-$POD_NAME`)))
	j := waitJob(t, c, "idx", "Complete", 90*time.Second, isComplete)
	if j.Status.CompletedIndexes != "0-2" || j.Status.Succeeded != 3 {
		t.Errorf("job status %s, want completedIndexes 0-2, succeeded 3", jobString(j))
	}
	ps := jobPods(t, c, "idx")
	if len(ps) != 3 {
		t.Fatalf("want 3 pods:\n%s", podsString(ps))
	}
	seen := map[string]bool{}
	for _, p := range ps {
		checkOwnedBy(t, &p, j)
		i := p.Labels[batchv1.JobCompletionIndexAnnotation]
		if a := p.Annotations[batchv1.JobCompletionIndexAnnotation]; a != i || i == "" {
			t.Errorf("pod %s: index label %q, annotation %q", p.Name, i, a)
		}
		if !strings.HasPrefix(p.Name, "idx-"+i+"-") {
			t.Errorf("pod %s of index %s: want name idx-%s-xxxxx", p.Name, i, i)
		}
		seen[i] = true
		if got := strings.TrimSpace(c.ReadHostFile("work-" + p.Name)); got != i+" idx-"+i {
			t.Errorf("pod %s: JOB_COMPLETION_INDEX and hostname %q, want %q", p.Name, got, i+" idx-"+i)
		}
		if got := strings.TrimSpace(c.ReadHostFile("init-" + p.Name)); got != i {
			t.Errorf("pod %s: init container's JOB_COMPLETION_INDEX %q, want %q", p.Name, got, i)
		}
	}
	if len(seen) != 3 || !seen["0"] || !seen["1"] || !seen["2"] {
		t.Errorf("indexes %v, want 0, 1, 2", seen)
	}
}

// TestBackoffLimitFailedPods: backoffLimit 1 under restartPolicy Never —
// the first failed pod is replaced (after the controller's delay), the
// second fails the Job with BackoffLimitExceeded and failed 2.
func TestBackoffLimitFailedPods(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	c.Apply(jobYAML(c, "fail", "backoffLimit: 1", "restartPolicy: Never", "",
		container("work", logLine("start")+"; exit 1")))
	j := waitFailed(t, c, "fail", batchv1.JobReasonBackoffLimitExceeded, 90*time.Second)
	if j.Status.Failed != 2 || j.Status.Succeeded != 0 || j.Status.Active != 0 {
		t.Errorf("job status %s, want failed 2", jobString(j))
	}
	ps := jobPods(t, c, "fail")
	if len(ps) != 2 || countPhase(ps, corev1.PodFailed) != 2 {
		t.Errorf("want exactly 2 Failed pods:\n%s", podsString(ps))
	}
	// The controller waits 10 s after a failed pod before it creates the
	// next one (its pod back-off), so the second pod starts at least that
	// long after the first (a lower bound: load only makes it later).
	if lines := readOrder(c); len(lines) != 2 || lines[0].Name == lines[1].Name {
		t.Errorf("want two pods started one after the other:\n%s", lines)
	} else if gap := lines[1].At - lines[0].At; gap < 9 {
		t.Errorf("second pod started %.1fs after the first, want ≥ 9s (10s back-off from a finish time stored in whole seconds):\n%s", gap, lines)
	}
	if row := harness.TableRow(c.MustPodctl("get", "jobs"), "fail"); len(row) < 3 || row[1] != "Failed" || row[2] != "0/1" {
		t.Errorf("get jobs row %q, want Failed 0/1", row)
	}
	c.WaitEvent(harness.EventFilter{Object: "fail", Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"}, 5*time.Second)
}

// TestBackoffLimitOnFailureRestarts is R-V2: under restartPolicy OnFailure
// restarts count against backoffLimit — a crashing regular container's and
// a crashing sidecar's alike (each in its own Job, so that the sidecar's
// restarts alone must fail its Job). The pod is then deleted.
func TestBackoffLimitOnFailureRestarts(t *testing.T) {
	t.Parallel()
	t.Run("app", func(t *testing.T) {
		t.Parallel()
		c := newClient(t)
		c.Apply(jobYAML(c, "crash", "backoffLimit: 1", "restartPolicy: OnFailure", "",
			container("work", logLine("work start")+"; exit 3")))
		checkRestartLimit(t, c, "crash", "work")
	})
	// Below the limit a restart is no failure: the app fails once, is
	// restarted in place, succeeds, and the Job completes; the native
	// sidecar is stopped once the app is done (R72).
	t.Run("recovers", func(t *testing.T) {
		t.Parallel()
		c := newClient(t)
		c.Apply(jobYAML(c, "rec", "backoffLimit: 3", "restartPolicy: OnFailure",
			container("proxy", "trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done", "restartPolicy: Always"),
			container("work", logLine("work start")+"; if [ ! -f /shared/again ]; then touch /shared/again; exit 1; fi")))
		ps := completedByOnePod(t, c, "rec")
		if w := status(&ps[0], "work"); w == nil || w.RestartCount != 1 {
			t.Errorf("want work restarted once:\n%s", podsString(ps))
		}
	})
	t.Run("sidecar", func(t *testing.T) {
		t.Parallel()
		c := newClient(t)
		c.Apply(jobYAML(c, "side", "backoffLimit: 1", "restartPolicy: OnFailure",
			container("proxy", logLine("proxy start")+"; sleep 1; exit 2", "restartPolicy: Always"),
			container("work", logLine("work start")+"; trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done")))
		checkRestartLimit(t, c, "side", "proxy")
	})
}

// checkRestartLimit: the Job fails with BackoffLimitExceeded once crasher
// restarted (twice started), its single pod is deleted, nothing is counted
// as failed by phase.
func checkRestartLimit(t *testing.T, c *harness.Client, job, crasher string) {
	t.Helper()
	j := waitFailed(t, c, job, batchv1.JobReasonBackoffLimitExceeded, 90*time.Second)
	// The pod deleted because the Job failed counts as failed (as in
	// Kubernetes); its restarts are no separate failures.
	if j.Status.Active != 0 || j.Status.Succeeded != 0 || j.Status.Failed != 1 {
		t.Errorf("job status %s, want failed 1", jobString(j))
	}
	starts := 0
	pods := map[string]bool{}
	for _, l := range readOrder(c) {
		pods[l.Name] = true
		if l.Event == crasher+" start" {
			starts++
		}
	}
	if len(pods) != 1 {
		t.Errorf("want one pod (OnFailure restarts in place), got %v", pods)
	}
	if starts < 2 {
		t.Errorf("%s started %d times; the Job failed before any restart", crasher, starts)
	}
	waitPods(t, c, job, "deleted", 60*time.Second, func(ps []corev1.Pod) bool { return len(ps) == 0 })
}

// checkOwnedBy checks the labels and controller reference Kubernetes' job
// controller gives a Job's pods.
func checkOwnedBy(t *testing.T, p *corev1.Pod, j *batchv1.Job) {
	t.Helper()
	uid := string(j.UID)
	for k, v := range map[string]string{"job-name": j.Name, batchv1.JobNameLabel: j.Name,
		"controller-uid": uid, batchv1.ControllerUidLabel: uid} {
		if p.Labels[k] != v {
			t.Errorf("pod %s: label %s=%q, want %q", p.Name, k, p.Labels[k], v)
		}
	}
	ref := metav1.GetControllerOf(p)
	if ref == nil || ref.Kind != "Job" || ref.APIVersion != "batch/v1" || ref.Name != j.Name || ref.UID != j.UID ||
		ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
		t.Errorf("pod %s: controller reference %+v, want the Job %s", p.Name, ref, j.Name)
	}
}

// TestSuccessPolicy: an Indexed Job whose successPolicy names index 0
// completes as soon as index 0 succeeded; the pods of the other indexes
// are deleted.
func TestSuccessPolicy(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	work := `if [ "$JOB_COMPLETION_INDEX" = 0 ]; then until [ "$(grep -c start /shared/order.log)" -ge 3 ]; do sleep 0.1; done; exit 0; fi; ` +
		forever("idx")
	c.Apply(jobYAML(c, "sp", `completions: 3
parallelism: 3
completionMode: Indexed
backoffLimit: 0
successPolicy:
  rules:
  - succeededIndexes: "0"`, "restartPolicy: Never", "", container("main", logLine("start")+"; "+work)))
	j := waitJob(t, c, "sp", "Complete", 90*time.Second, isComplete)
	if cond := condition(j, batchv1.JobSuccessCriteriaMet); cond == nil || cond.Reason != batchv1.JobReasonSuccessPolicy {
		t.Errorf("want SuccessCriteriaMet/SuccessPolicy: %s", jobString(j))
	}
	if j.Status.CompletedIndexes != "0" || j.Status.Succeeded != 1 {
		t.Errorf("job status %s, want completedIndexes 0", jobString(j))
	}
	waitPods(t, c, "sp", "the other indexes deleted", 60*time.Second, func(ps []corev1.Pod) bool { return len(ps) == 1 })
	if lines := readOrder(c); lines.Index("", "idx term") < 0 {
		t.Errorf("the other indexes were not stopped gracefully:\n%s", lines)
	}
}

// TestIndexedRetry: in Indexed mode a failed pod is replaced by a pod of
// the same index (after the controller's back-off); the Job completes with
// every index once and counts the failure.
func TestIndexedRetry(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	work := `if [ "$JOB_COMPLETION_INDEX" = 1 ] && [ ! -f /shared/retried ]; then touch /shared/retried; exit 1; fi; ` +
		logLine("done-$JOB_COMPLETION_INDEX")
	c.Apply(jobYAML(c, "ir", "completions: 2\nparallelism: 2\ncompletionMode: Indexed\nbackoffLimit: 1", "restartPolicy: Never", "",
		container("main", work)))
	j := waitJob(t, c, "ir", "Complete", 90*time.Second, isComplete)
	if j.Status.CompletedIndexes != "0,1" || j.Status.Succeeded != 2 || j.Status.Failed != 1 {
		t.Errorf("job status %s, want completedIndexes 0,1, succeeded 2, failed 1", jobString(j))
	}
	ps := jobPods(t, c, "ir")
	byIndex := map[string][]corev1.PodPhase{}
	for _, p := range ps {
		i := p.Labels[batchv1.JobCompletionIndexAnnotation]
		byIndex[i] = append(byIndex[i], p.Status.Phase)
	}
	if len(ps) != 3 || len(byIndex["0"]) != 1 || len(byIndex["1"]) != 2 {
		t.Errorf("want one pod of index 0 and two of index 1 (failed, then succeeded): %v\n%s", byIndex, podsString(ps))
	}
	if lines := readOrder(c); len(lines) != 2 || lines.Index("", "done-0") < 0 || lines.Index("", "done-1") < 0 {
		t.Errorf("want each index done once:\n%s", lines)
	}
}
