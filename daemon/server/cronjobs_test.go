package server

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/supervisor/cronjob"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
)

const cronJobsPath = "/apis/batch/v1/namespaces/default/cronjobs"

const cronJobYAML = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: tick
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: c
            image: busybox
`

// runCronJobs runs the real CronJob controller on ts's objects, with its
// change feed, on a fake clock, until the test ends.
func runCronJobs(t *testing.T, ts *testServer, clk *clocktesting.FakeClock) *cronjob.Runner {
	t.Helper()
	cc := ts.obj.CronJobControl()
	r := cronjob.NewRunner(cronjob.NewController(cronjob.Options{Jobs: cc, CronJobs: cc, Events: cc, Clock: clk}), clk, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { ts.obj.FeedCronJobs(ctx, r) })
	wg.Go(func() { r.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return r
}

func (ts *testServer) jobNames() []string {
	jobs, _, _ := ts.st.Jobs().List(context.Background(), "default")
	var names []string
	for _, j := range jobs {
		names = append(names, j.Name)
	}
	return names
}

// A CronJob posted to the API makes its Job through the controller; a
// PUT keeps the controller's status; a DELETE takes its Jobs along, or
// leaves them released with propagationPolicy=Orphan (R115).
func TestCronJobThroughServer(t *testing.T) {
	for _, policy := range []string{"", "Orphan"} {
		t.Run("propagation="+policy, func(t *testing.T) {
			ts := newTestServer(t, nil)
			clk := clocktesting.NewFakeClock(time.Now().Add(2 * time.Minute))
			runCronJobs(t, ts, clk)
			if code, data := ts.do("POST", cronJobsPath, "application/yaml", []byte(cronJobYAML)); code != 201 {
				t.Fatalf("create: %d %s", code, data)
			}
			eventually(t, "the cronjob's job", func() bool { return len(ts.jobNames()) == 1 })
			var cj batchv1.CronJob
			eventually(t, "status.active", func() bool {
				_, data := ts.do("GET", cronJobsPath+"/tick", "", nil)
				_ = json.Unmarshal(data, &cj)
				return len(cj.Status.Active) == 1
			})
			put := strings.Replace(cronJobYAML, `"* * * * *"`, `"*/2 * * * *"`, 1)
			if code, data := ts.do("PUT", cronJobsPath+"/tick", "application/yaml", []byte(put)); code != 200 {
				t.Fatalf("put: %d %s", code, data)
			}
			_, data := ts.do("GET", cronJobsPath+"/tick", "", nil)
			_ = json.Unmarshal(data, &cj)
			if cj.Spec.Schedule != "*/2 * * * *" || len(cj.Status.Active) != 1 || cj.Status.LastScheduleTime == nil {
				t.Fatalf("after PUT: schedule %q status %+v", cj.Spec.Schedule, cj.Status)
			}
			q := ""
			if policy != "" {
				q = "?propagationPolicy=" + policy
			}
			if code, data := ts.do("DELETE", cronJobsPath+"/tick"+q, "", nil); code != 200 {
				t.Fatalf("delete: %d %s", code, data)
			}
			if policy == "" {
				eventually(t, "the job deleted with its cronjob", func() bool { return len(ts.jobNames()) == 0 })
				return
			}
			eventually(t, "the job released", func() bool {
				j, err := ts.st.Jobs().Get(context.Background(), "default", cj.Status.Active[0].Name)
				return err == nil && metav1.GetControllerOf(j) == nil
			})
		})
	}
}

// Refusals name the field, in the API server's words, as a 422.
func TestCronJobRefusals(t *testing.T) {
	ts := newTestServer(t, nil)
	for _, tc := range []struct{ from, to, field string }{
		{`"* * * * *"`, `"TZ=UTC * * * * *"`, "spec.schedule"},
		{`"* * * * *"`, `"TZ="`, "spec.schedule"},
		{`"* * * * *"`, `"* * * * *"` + "\n  timeZone: Nowhere/Land", "spec.timeZone"},
		{"name: tick", "name: " + strings.Repeat("a", 53), "metadata.name"},
		{"restartPolicy: Never", "restartPolicy: Always", "spec.jobTemplate.spec.template.spec.restartPolicy"},
	} {
		body := strings.Replace(cronJobYAML, tc.from, tc.to, 1)
		code, data := ts.do("POST", cronJobsPath, "application/yaml", []byte(body))
		st := ts.status(data)
		if code != 422 || st.Details == nil || len(st.Details.Causes) == 0 || st.Details.Causes[0].Field != tc.field {
			t.Errorf("%s: %d %s", tc.to, code, data)
		}
	}
	// Strict decoding (what kubectl asks for): a misspelt field is named,
	// never ignored.
	body := strings.Replace(cronJobYAML, "schedule:", "scheduel:", 1)
	if code, data := ts.do("POST", cronJobsPath+"?fieldValidation=Strict", "application/yaml", []byte(body)); code != 400 ||
		!strings.Contains(string(data), `unknown field \"spec.scheduel\"`) {
		t.Errorf("misspelt field: %d %s", code, data)
	}
	if code, data := ts.do("GET", cronJobsPath, "", nil); code != 200 || !strings.Contains(string(data), `"items":[]`) {
		t.Errorf("nothing refused was stored: %d %s", code, data)
	}
}
