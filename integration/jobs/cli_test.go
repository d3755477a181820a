package jobs

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestApplyWait: `podctl apply --wait` returns once the Job finished, with
// exit 0 when it completed and 1 when it failed, so a Job can be a step of
// a shell script.
func TestApplyWait(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, script string
		exit         int
	}{
		{"complete", "sleep 1; exit 0", 0},
		{"failed", "sleep 1; exit 1", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t)
			manifest := jobYAML(c, "w", "backoffLimit: 0", "restartPolicy: Never", "", container("main", tc.script))
			out, errOut, code := c.PodctlStdin(strings.NewReader(manifest), "apply", "-f", "-", "--wait", "--timeout", "90s")
			if code != tc.exit {
				t.Fatalf("apply --wait exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.exit, out, errOut)
			}
			if !strings.Contains(out, "job.batch/w created") {
				t.Errorf("stdout %q lacks the apply line", out)
			}
			// The Job had finished when podctl returned: no polling here.
			j := getJob(t, c, "w")
			if tc.exit == 0 {
				if !isComplete(j) || !strings.Contains(out, "job.batch/w complete") {
					t.Errorf("returned 0 but job not Complete or not reported: %q\n%s", out, jobString(j))
				}
				return
			}
			if !isFailed(j) || !strings.Contains(errOut, "BackoffLimitExceeded") {
				t.Errorf("returned 1 but job not Failed or reason not reported: %q\n%s", errOut, jobString(j))
			}
		})
	}
}

// TestDescribeJob: `podctl describe job` shows the spec, the pod counts, the
// final condition and the controller's events.
func TestDescribeJob(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	c.Apply(jobYAML(c, "desc", "completions: 2\nparallelism: 2\nbackoffLimit: 1", "restartPolicy: Never",
		container("proxy", "trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done", "restartPolicy: Always"),
		container("main", "sleep 1")))
	j := waitJob(t, c, "desc", "Complete", 90*time.Second, isComplete)
	out := c.MustPodctl("describe", "job", "desc")
	for _, want := range []string{
		`(?m)^Name:\s+desc$`,
		`(?m)^Namespace:\s+` + c.NS + `$`,
		`(?m)^Parallelism:\s+2$`,
		`(?m)^Completions:\s+2$`,
		`(?m)^Backoff Limit:\s+1$`,
		`(?m)^Pods Statuses:\s+0 Active \(0 Ready\) / 2 Succeeded / 0 Failed$`,
		`(?m)^Condition Complete:\s+CompletionsReached`,
		`(?m)^\s+proxy \(sidecar\):$`,
		`(?m)^\s+main:$`,
		`SuccessfulCreate\s+.*Created pod: desc-`,
		`Completed\s+.*Job completed`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("describe job lacks %s:\n%s", want, out)
		}
	}
	if j.Status.Succeeded != 2 {
		t.Errorf("job status %s", jobString(j))
	}
	if n := strings.Count(out, "SuccessfulCreate"); n != 2 {
		t.Errorf("describe job: %d SuccessfulCreate events, want 2 (one per pod):\n%s", n, out)
	}
}
