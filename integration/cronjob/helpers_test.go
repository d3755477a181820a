package cronjob

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// cronJobYAML is a CronJob named cj, every minute, whose pods run
// command; extra lines go under spec (two-space indent).
func cronJobYAML(command, extra string) string {
	return fmt.Sprintf(`apiVersion: batch/v1
kind: CronJob
metadata:
  name: cj
spec:
  schedule: "*/1 * * * *"
%s  jobTemplate:
    spec:
      backoffLimit: 0
      template:
        spec:
          restartPolicy: Never
          terminationGracePeriodSeconds: 1
          containers:
          - name: c
            image: busybox:1.28
            command: ["sh", "-c", %q]
`, extra, command)
}

// newClient is env.ClientOn plus a cleanup, run before the harness's own,
// that deletes the CronJob (its Jobs and their pods go with it) and waits
// until no pod of the namespace is left: otherwise the CronJob would make
// new pods while the harness deletes them.
func newClient(t *testing.T, d *harness.Podrund) *harness.Client {
	t.Helper()
	c := env.ClientOn(t, d)
	t.Cleanup(func() {
		if !c.Daemon.Running() {
			return
		}
		if code, body := c.REST(http.MethodDelete, cronJobPath(c), "", nil); code != http.StatusOK && code != http.StatusNotFound {
			t.Errorf("cleanup: delete cronjob: %d %s", code, body)
		}
		harness.Eventually(t, 90*time.Second, func() string {
			if n, j := len(c.ListPods()), len(listJobs(t, c)); n+j > 0 {
				return fmt.Sprintf("cleanup: %d pods and %d jobs left after deleting the cronjob", n, j)
			}
			return ""
		})
	})
	return c
}

func cronJobPath(c *harness.Client) string {
	return "/apis/batch/v1/namespaces/" + c.NS + "/cronjobs/cj"
}

func getCronJob(t *testing.T, c *harness.Client) *batchv1.CronJob {
	t.Helper()
	code, body := c.REST(http.MethodGet, cronJobPath(c), "", nil)
	if code != http.StatusOK {
		t.Fatalf("get cronjob: %d %s", code, body)
	}
	var cj batchv1.CronJob
	if err := json.Unmarshal(body, &cj); err != nil {
		t.Fatal(err)
	}
	return &cj
}

// listJobs lists the namespace's Jobs, sorted by name (so by schedule
// time).
func listJobs(t *testing.T, c *harness.Client) []batchv1.Job {
	t.Helper()
	code, body := c.REST(http.MethodGet, "/apis/batch/v1/namespaces/"+c.NS+"/jobs", "", nil)
	if code != http.StatusOK {
		t.Fatalf("list jobs: %d %s", code, body)
	}
	var l batchv1.JobList
	if err := json.Unmarshal(body, &l); err != nil {
		t.Fatal(err)
	}
	sort.Slice(l.Items, func(a, b int) bool { return l.Items[a].Name < l.Items[b].Name })
	return l.Items
}

// minuteOf is the schedule time (minutes since the epoch) in a Job's name.
func minuteOf(t *testing.T, j *batchv1.Job) int64 {
	t.Helper()
	m, err := strconv.ParseInt(strings.TrimPrefix(j.Name, "cj-"), 10, 64)
	if err != nil || !strings.HasPrefix(j.Name, "cj-") {
		t.Fatalf("job %q is not named cj-<minutes since epoch>", j.Name)
	}
	return m
}

func isComplete(j *batchv1.Job) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == batchv1.JobComplete && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func jobNames(jobs []batchv1.Job) string {
	var names []string
	for _, j := range jobs {
		names = append(names, fmt.Sprintf("%s(complete=%v)", j.Name, isComplete(&j)))
	}
	return strings.Join(names, " ")
}

// waitJobs waits until the namespace's Jobs satisfy cond and returns them.
func waitJobs(t *testing.T, c *harness.Client, timeout time.Duration, what string, cond func([]batchv1.Job) bool) []batchv1.Job {
	t.Helper()
	var jobs []batchv1.Job
	harness.Eventually(t, timeout, func() string {
		if jobs = listJobs(t, c); cond(jobs) {
			return ""
		}
		return fmt.Sprintf("jobs are not %s: %s", what, jobNames(jobs))
	})
	return jobs
}
