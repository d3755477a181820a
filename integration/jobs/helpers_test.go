package jobs

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podrun/podrun/integration/harness"
)

// newClient is env.Client plus a cleanup that deletes the namespace's Jobs
// (Background) and waits for their pods to go before the harness's own
// cleanup deletes the remaining pods and checks for leaked containers:
// without it a live Job would re-create the pods the harness deletes.
func newClient(t *testing.T) *harness.Client {
	t.Helper()
	return clientOn(t, env.Daemon)
}

func clientOn(t *testing.T, d *harness.Podrund) *harness.Client {
	t.Helper()
	c := env.ClientOn(t, d)
	t.Cleanup(func() { deleteAllJobs(t, c) })
	return c
}

func deleteAllJobs(t *testing.T, c *harness.Client) {
	if !c.Daemon.Running() {
		return
	}
	jobs := listJobsOrNil(c)
	for _, j := range jobs {
		if code, body := c.REST(http.MethodDelete, jobPath(c, j.Name), "", nil); code != http.StatusOK && code != http.StatusNotFound {
			t.Errorf("cleanup: delete job %s: %d %s", j.Name, code, body)
		}
	}
	if len(jobs) == 0 {
		return
	}
	uids := map[types.UID]bool{}
	for _, j := range jobs {
		uids[j.UID] = true
	}
	// The runner deletes the pods asynchronously (Background); wait until
	// they are gone so that the harness's cleanup does not race it.
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		left := 0
		for _, p := range listPods(t, c) {
			if ref := metav1.GetControllerOf(&p); ref != nil && uids[ref.UID] {
				left++
			}
		}
		if left == 0 && len(listJobsOrNil(c)) == 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("cleanup: jobs of %s or their pods still there 60s after delete", c.NS)
}

// listJobsOrNil lists the Jobs of c's namespace; nil when that fails (it
// serves cleanup, where a failed list must not end the test).
func listJobsOrNil(c *harness.Client) []batchv1.Job {
	var l batchv1.JobList
	if code, body := c.REST(http.MethodGet, jobPath(c, ""), "", nil); code == http.StatusOK {
		_ = json.Unmarshal(body, &l)
	}
	return l.Items
}

// jobPath is the REST path of a Job (or of the Jobs) of c's namespace.
func jobPath(c *harness.Client, name string) string {
	p := "/apis/batch/v1/namespaces/" + c.NS + "/jobs"
	if name != "" {
		p += "/" + name
	}
	return p
}

// getJob reads a Job through REST; nil when it does not exist.
func getJob(t *testing.T, c *harness.Client, name string) *batchv1.Job {
	t.Helper()
	code, body := c.REST(http.MethodGet, jobPath(c, name), "", nil)
	if code == http.StatusNotFound {
		return nil
	}
	if code != http.StatusOK {
		t.Fatalf("get job %s: %d %s", name, code, body)
	}
	var j batchv1.Job
	if err := json.Unmarshal(body, &j); err != nil {
		t.Fatalf("decode job %s: %v\n%s", name, err, body)
	}
	return &j
}

// waitJob polls the Job until cond holds.
func waitJob(t *testing.T, c *harness.Client, name, what string, timeout time.Duration, cond func(j *batchv1.Job) bool) *batchv1.Job {
	t.Helper()
	var j *batchv1.Job
	harness.Eventually(t, timeout, func() string {
		if j = getJob(t, c, name); j != nil && cond(j) {
			return ""
		}
		return fmt.Sprintf("job %s: not %s; job:\n%s\npods:\n%s", name, what, jobString(j), podsString(listPods(t, c)))
	})
	return j
}

// condition returns the Job's condition of type ct with status True, or nil.
func condition(j *batchv1.Job, ct batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range j.Status.Conditions {
		if c := &j.Status.Conditions[i]; c.Type == ct && c.Status == corev1.ConditionTrue {
			return c
		}
	}
	return nil
}

func isComplete(j *batchv1.Job) bool { return condition(j, batchv1.JobComplete) != nil }
func isFailed(j *batchv1.Job) bool   { return condition(j, batchv1.JobFailed) != nil }
func isFinished(j *batchv1.Job) bool { return isComplete(j) || isFailed(j) }

// waitFailed waits for the Failed condition and checks its reason.
func waitFailed(t *testing.T, c *harness.Client, name, reason string, timeout time.Duration) *batchv1.Job {
	t.Helper()
	j := waitJob(t, c, name, "finished", timeout, isFinished)
	cond := condition(j, batchv1.JobFailed)
	if cond == nil || cond.Reason != reason {
		t.Fatalf("job %s: want Failed/%s, got:\n%s", name, reason, jobString(j))
	}
	return j
}

func jobString(j *batchv1.Job) string {
	if j == nil {
		return "<none>"
	}
	b, _ := json.MarshalIndent(j.Status, "", "  ")
	return string(b)
}

// listPods lists the pods of c's namespace (REST).
func listPods(t *testing.T, c *harness.Client) []corev1.Pod {
	t.Helper()
	return c.ListPods()
}

// completedByOnePod waits for Job name to finish and wants it Complete
// with one success and no failure, from its one pod, which Succeeded; it
// returns the Job's pods.
func completedByOnePod(t *testing.T, c *harness.Client, name string) []corev1.Pod {
	t.Helper()
	j := waitJob(t, c, name, "finished", 90*time.Second, isFinished)
	if !isComplete(j) || j.Status.Succeeded != 1 || j.Status.Failed != 0 {
		t.Errorf("job status %s, want Complete, succeeded 1, failed 0", jobString(j))
	}
	ps := jobPods(t, c, name)
	if len(ps) != 1 || ps[0].Status.Phase != corev1.PodSucceeded {
		t.Fatalf("want one Succeeded pod:\n%s", podsString(ps))
	}
	return ps
}

// jobPods lists the pods the Job controller created for job.
func jobPods(t *testing.T, c *harness.Client, job string) []corev1.Pod {
	t.Helper()
	var out []corev1.Pod
	for _, p := range listPods(t, c) {
		if p.Labels[batchv1.JobNameLabel] == job {
			out = append(out, p)
		}
	}
	return out
}

// waitPods polls the Job's pods until cond holds.
func waitPods(t *testing.T, c *harness.Client, job, what string, timeout time.Duration, cond func(ps []corev1.Pod) bool) []corev1.Pod {
	t.Helper()
	var ps []corev1.Pod
	harness.Eventually(t, timeout, func() string {
		if ps = jobPods(t, c, job); cond(ps) {
			return ""
		}
		return fmt.Sprintf("pods of job %s: not %s:\n%s\njob:\n%s", job, what, podsString(ps), jobString(getJob(t, c, job)))
	})
	return ps
}

func podsString(ps []corev1.Pod) string {
	var b strings.Builder
	for i := range ps {
		b.WriteString(harness.Describe(&ps[i]))
		b.WriteString("\n")
	}
	return b.String()
}

func countPhase(ps []corev1.Pod, phase corev1.PodPhase) int {
	n := 0
	for _, p := range ps {
		if p.Status.Phase == phase {
			n++
		}
	}
	return n
}

var status = harness.ContainerStatus

// touch creates a file in the test's host dir (seen by pods as /shared/NAME).
func touch(t *testing.T, c *harness.Client, name string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(c.HostDir, name), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// logLine is a shell command appending "<uptime> <pod> <what>" to the
// order file that every pod of a test shares; POD_NAME comes from the
// downward API.
func logLine(what string) string { return harness.OrderMark("$POD_NAME", what) }

// container renders one container (6 spaces of indent below "containers:")
// that mounts the shared host dir and knows its pod's name.
func container(name, script string, extra ...string) string {
	cmd, _ := json.Marshal([]string{"sh", "-c", script})
	s := fmt.Sprintf(`      - name: %s
        image: %s
        command: %s
        env:
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        volumeMounts:
        - {name: shared, mountPath: /shared}
`, name, harness.Busybox, cmd)
	for _, e := range extra {
		s += "        " + e + "\n"
	}
	return s
}

// jobYAML renders a Job: specLines go below spec (2 spaces), podLines below
// template.spec (6 spaces), then the containers.
func jobYAML(c *harness.Client, name, specLines, podLines, inits, containers string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: %s\nspec:\n", name)
	b.WriteString(indent(specLines, "  "))
	b.WriteString("  template:\n    spec:\n")
	b.WriteString(indent(podLines, "      "))
	fmt.Fprintf(&b, "      terminationGracePeriodSeconds: 2\n      volumes:\n      - name: shared\n        hostPath: {path: %s, type: Directory}\n", c.HostDir)
	if inits != "" {
		b.WriteString("      initContainers:\n" + inits)
	}
	b.WriteString("      containers:\n" + containers)
	return b.String()
}

func indent(lines, prefix string) string {
	var b strings.Builder
	for _, l := range strings.Split(lines, "\n") {
		if strings.TrimSpace(l) != "" {
			b.WriteString(prefix + strings.TrimRight(l, " \t") + "\n")
		}
	}
	return b.String()
}

// readOrder reads the order file shared by the test's pods, in time order
// (their appends interleave).
func readOrder(c *harness.Client) harness.Order { return c.ReadOrder("").ByTime() }

// waitCount waits until the order file has n lines (of any pods) with event.
func waitCount(c *harness.Client, event string, n int) {
	c.T.Helper()
	c.WaitOrderUntil("", fmt.Sprintf("%d %q lines", n, event), 60*time.Second, func(o harness.Order) bool {
		return o.Count("", event) >= n
	})
}
