package jobs

import (
	"net/http"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// forever is a container script that logs "<name> start", runs until
// TERM, then logs "<name> term" and exits 0.
func forever(name string) string {
	onTerm := strings.ReplaceAll(logLine(name+" term"), "'", `'"'"'`)
	return logLine(name+" start") + "; trap '" + onTerm + "; exit 0' TERM; while true; do sleep 1 & wait $!; done"
}

// TestJobActiveDeadline is R-V4: past the Job's activeDeadlineSeconds the
// Job fails with DeadlineExceeded and its running pod is deleted through
// normal termination — the app gets TERM before its sidecar (R63).
func TestJobActiveDeadline(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	c.Apply(jobYAML(c, "late", "activeDeadlineSeconds: 6\nbackoffLimit: 0", "restartPolicy: Never",
		container("proxy", forever("proxy"), "restartPolicy: Always"),
		container("main", forever("main"))))
	waitCount(c, "main start", 1)
	j := waitFailed(t, c, "late", batchv1.JobReasonDeadlineExceeded, 60*time.Second)
	// As in Kubernetes, the pods deleted because the Job failed count as
	// failed (trackJobStatusAndRemoveFinalizers).
	if j.Status.Active != 0 || j.Status.Succeeded != 0 || j.Status.Failed != 1 {
		t.Errorf("job status %s, want failed 1", jobString(j))
	}
	waitPods(t, c, "late", "deleted", 60*time.Second, func(ps []corev1.Pod) bool { return len(ps) == 0 })
	lines := readOrder(c)
	mainTerm, proxyTerm := lines.Index("", "main term"), lines.Index("", "proxy term")
	if mainTerm < 0 || proxyTerm < 0 || proxyTerm < mainTerm {
		t.Errorf("want main, then proxy to get TERM (graceful deletion, sidecar last):\n%s", lines)
	}
	c.WaitEvent(harness.EventFilter{Object: "late", Reason: "DeadlineExceeded", Message: "Job was active longer than specified deadline"}, 5*time.Second)
}

// TestPodActiveDeadline: the pod template's activeDeadlineSeconds is
// enforced by podrund as by the kubelet (R70): the pod fails with reason
// DeadlineExceeded, which the Job counts as a failed pod.
func TestPodActiveDeadline(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	c.Apply(jobYAML(c, "podlate", "backoffLimit: 0", "restartPolicy: Never\nactiveDeadlineSeconds: 4", "",
		container("main", forever("main"))))
	j := waitFailed(t, c, "podlate", batchv1.JobReasonBackoffLimitExceeded, 60*time.Second)
	if j.Status.Failed != 1 {
		t.Errorf("job status %s, want failed 1", jobString(j))
	}
	ps := jobPods(t, c, "podlate")
	if len(ps) != 1 || ps[0].Status.Phase != corev1.PodFailed || ps[0].Status.Reason != "DeadlineExceeded" {
		t.Errorf("want one pod Failed with reason DeadlineExceeded:\n%s", podsString(ps))
	}
	if lines := readOrder(c); lines.Index("", "main term") < 0 {
		t.Errorf("main was not stopped with TERM:\n%s", lines)
	}
}

// TestTTLAfterFinished: ttlSecondsAfterFinished removes the finished Job
// and its pods.
func TestTTLAfterFinished(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	c.Apply(jobYAML(c, "ttl", "ttlSecondsAfterFinished: 1", "restartPolicy: Never", "",
		container("main", logLine("main done"))))
	// The finish time has the API's one-second resolution, as in Kubernetes,
	// so a 1 s TTL may expire within milliseconds of the completion: a watch
	// for the Complete condition can miss it. The Job's events outlive it.
	waitJobGone(t, c, "ttl")
	completed, ok := c.FindEvent(harness.EventFilter{Object: "ttl", Reason: "Completed"}, 10*time.Second)
	if !ok {
		t.Fatalf("the job was removed without a Completed event:\n%s", harness.DescribeEvents(c.EventsMatching(harness.EventFilter{Object: "ttl"})))
	}
	expired, ok := c.FindEvent(harness.EventFilter{Object: "ttl", Reason: "TTLExpired"}, 10*time.Second)
	if !ok {
		t.Fatalf("the job was removed without a TTLExpired event:\n%s", harness.DescribeEvents(c.EventsMatching(harness.EventFilter{Object: "ttl"})))
	}
	if expired.FirstTimestamp.Before(&completed.FirstTimestamp) {
		t.Errorf("TTL expired at %s, before the job completed at %s", expired.FirstTimestamp, completed.FirstTimestamp)
	}
	waitPods(t, c, "ttl", "deleted with the job", 60*time.Second, func(ps []corev1.Pod) bool { return len(ps) == 0 })
	if readOrder(c).Index("", "main done") < 0 {
		t.Errorf("the job's pod never ran")
	}
}

// TestSuspendResume: a Job created suspended starts no pod; resuming it
// starts one; suspending it again deletes that pod without counting a
// failure; resuming it once more runs it to completion.
func TestSuspendResume(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	manifest := func(suspend bool) string {
		spec := "backoffLimit: 0\nsuspend: false"
		if suspend {
			spec = "backoffLimit: 0\nsuspend: true"
		}
		return jobYAML(c, "sus", spec, "restartPolicy: Never", "",
			container("main", logLine("main start")+"; trap 'exit 143' TERM; while [ ! -f /shared/go ]; do sleep 0.2; done"))
	}
	suspended := func(j *batchv1.Job) bool {
		return condition(j, batchv1.JobSuspended) != nil && j.Status.Active == 0 && ptrDeref(j.Status.Terminating) == 0
	}
	c.Apply(manifest(true))
	j := waitJob(t, c, "sus", "Suspended", 30*time.Second, suspended)
	if j.Status.StartTime != nil || len(jobPods(t, c, "sus")) != 0 {
		t.Errorf("a suspended Job has a startTime or pods: %s", jobString(j))
	}
	if row := harness.TableRow(c.MustPodctl("get", "jobs"), "sus"); len(row) < 2 || row[1] != "Suspended" {
		t.Errorf("get jobs row %q, want STATUS Suspended", row)
	}

	c.Apply(manifest(false))
	waitCount(c, "main start", 1)
	first := jobPods(t, c, "sus")
	if len(first) != 1 {
		t.Fatalf("want one pod after resume:\n%s", podsString(first))
	}

	c.Apply(manifest(true))
	j = waitJob(t, c, "sus", "Suspended again", 30*time.Second, suspended)
	waitPods(t, c, "sus", "deleted on suspend", 60*time.Second, func(ps []corev1.Pod) bool { return len(ps) == 0 })
	if j.Status.Failed != 0 {
		t.Errorf("suspending counted a failure: %s", jobString(j))
	}

	touch(t, c, "go")
	c.Apply(manifest(false))
	j = waitJob(t, c, "sus", "Complete", 60*time.Second, isComplete)
	if j.Status.Succeeded != 1 || j.Status.Failed != 0 {
		t.Errorf("job status %s, want succeeded 1, failed 0", jobString(j))
	}
	if ps := jobPods(t, c, "sus"); len(ps) != 1 || ps[0].UID == first[0].UID {
		t.Errorf("want one new pod after the second resume:\n%s", podsString(ps))
	}
}

func ptrDeref(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

// TestDeletePropagation: deleting a Job deletes its pods (podctl's default,
// Background) unless propagationPolicy is Orphan; with Foreground the Job
// stays, marked for deletion, until its pods are gone.
func TestDeletePropagation(t *testing.T) {
	t.Parallel()
	for _, policy := range []string{"Background", "Foreground", "Orphan"} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			c := newClient(t)
			// sh as PID 1 ignores TERM: the pod takes its whole grace
			// period (2 s) to stop, long enough to see a Foreground
			// deletion wait for it.
			c.Apply(jobYAML(c, "del", "backoffLimit: 0", "restartPolicy: Never", "",
				container("main", logLine("main start")+"; while true; do sleep 1; done")))
			waitCount(c, "main start", 1)
			pod := jobPods(t, c, "del")[0]
			if policy == "Background" {
				c.MustPodctl("delete", "job", "del")
			} else if code, body := c.REST(http.MethodDelete, jobPath(c, "del")+"?propagationPolicy="+policy, "", nil); code != http.StatusOK {
				t.Fatalf("DELETE job: %d %s", code, body)
			}
			if policy == "Foreground" {
				// The controller deletes the pod (asynchronously); the Job
				// stays, marked, while the pod takes its grace period.
				waitPods(t, c, "del", "being deleted", 30*time.Second, func(ps []corev1.Pod) bool {
					return len(ps) == 1 && ps[0].DeletionTimestamp != nil
				})
				if j := getJob(t, c, "del"); j == nil || j.DeletionTimestamp == nil {
					t.Errorf("Foreground: the job went before its pod (or is not marked): %v", j)
				}
			}
			waitJobGone(t, c, "del")
			if policy != "Orphan" {
				waitPods(t, c, "del", "deleted", 60*time.Second, func(ps []corev1.Pod) bool { return len(ps) == 0 })
				return
			}
			p := c.GetPod(pod.Name)
			if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
				t.Errorf("orphaned pod is being deleted or not running: %s", podsString([]corev1.Pod{*p}))
			}
			c.MustPodctl("delete", "pod", pod.Name, "--wait=true")
		})
	}
}

// waitJobGone waits until GET of the Job answers 404.
func waitJobGone(t *testing.T, c *harness.Client, name string) {
	t.Helper()
	harness.Eventually(t, 60*time.Second, func() string {
		if j := getJob(t, c, name); j != nil {
			return "job " + name + " still there: " + jobString(j)
		}
		return ""
	})
}
