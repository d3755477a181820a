package jobs

import (
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/podrun/podrun/integration/harness"
)

// TestPodFailurePolicy is R-V3: onExitCodes rules evaluated on Failed pods,
// regular containers first, then init containers including sidecars.
func TestPodFailurePolicy(t *testing.T) {
	t.Parallel()
	// A regular container's exit code matches FailJob: the Job fails at
	// once with reason PodFailurePolicy, although backoffLimit allows more.
	t.Run("FailJob", func(t *testing.T) {
		t.Parallel()
		c := newClient(t)
		c.Apply(policyJob(c, "pfp", 6, "FailJob", "containerName: main, operator: In, values: [42]", "",
			container("main", "exit 42")))
		j := waitFailed(t, c, "pfp", batchv1.JobReasonPodFailurePolicy, 60*time.Second)
		msg := condition(j, batchv1.JobFailed).Message
		if !strings.HasPrefix(msg, "Container main for pod "+c.NS+"/pfp-") ||
			!strings.HasSuffix(msg, "failed with exit code 42 matching FailJob rule at index 0") {
			t.Errorf("Failed condition message %q", msg)
		}
		if j.Status.Failed != 1 || len(jobPods(t, c, "pfp")) != 1 {
			t.Errorf("want one failed pod and no replacement: %s", jobString(j))
		}
	})
	// An Ignore rule: the failure is not counted (backoffLimit 0 would fail
	// the Job otherwise) and the pod is replaced; the second pod succeeds.
	t.Run("Ignore", func(t *testing.T) {
		t.Parallel()
		c := newClient(t)
		c.Apply(policyJob(c, "ign", 0, "Ignore", "operator: In, values: [3]", "",
			container("main", "if [ -f /shared/again ]; then exit 0; fi; touch /shared/again; exit 3")))
		j := waitJob(t, c, "ign", "finished", 90*time.Second, isFinished)
		if !isComplete(j) || j.Status.Failed != 0 || j.Status.Succeeded != 1 {
			t.Errorf("want Complete with failed 0, succeeded 1: %s", jobString(j))
		}
		if ps := jobPods(t, c, "ign"); len(ps) != 2 {
			t.Errorf("want the ignored pod and its replacement:\n%s", podsString(ps))
		}
	})
	// A sidecar killed with 137 when the pod completes (it ignores TERM; sh
	// as PID 1 has no default TERM action). A rule naming the app does not
	// match the sidecar's 137, so the failure counts (BackoffLimitExceeded);
	// the same rule without containerName matches the sidecar (R-V3).
	for _, tc := range []struct {
		name, rule, reason, container string
	}{
		{"sidecar137-named", "containerName: main, operator: In, values: [137]", batchv1.JobReasonBackoffLimitExceeded, ""},
		{"sidecar137-any", "operator: In, values: [137]", batchv1.JobReasonPodFailurePolicy, "proxy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t)
			c.Apply(policyJob(c, "sc", 0, "FailJob", tc.rule,
				container("proxy", "while true; do sleep 1; done", "restartPolicy: Always"),
				container("main", "sleep 1; exit 1")))
			j := waitFailed(t, c, "sc", tc.reason, 60*time.Second)
			ps := jobPods(t, c, "sc")
			if len(ps) != 1 {
				t.Fatalf("want one pod:\n%s", podsString(ps))
			}
			proxy := status(&ps[0], "proxy")
			if proxy == nil || proxy.State.Terminated == nil || proxy.State.Terminated.ExitCode != 137 {
				t.Fatalf("want the sidecar killed with 137:\n%s", podsString(ps))
			}
			msg := condition(j, batchv1.JobFailed).Message
			if tc.container != "" && !strings.HasPrefix(msg, "Container proxy for pod ") {
				t.Errorf("Failed condition message %q, want the sidecar's 137 to match", msg)
			}
		})
	}
}

// policyJob is a Job of restartPolicy Never pods with backoffLimit and a
// podFailurePolicy of one rule: action on the exit codes that onExitCodes
// (the inside of a flow mapping) selects.
func policyJob(c *harness.Client, name string, backoffLimit int, action, onExitCodes, inits, containers string) string {
	spec := fmt.Sprintf("backoffLimit: %d\npodFailurePolicy:\n  rules:\n  - action: %s\n    onExitCodes: {%s}",
		backoffLimit, action, onExitCodes)
	return jobYAML(c, name, spec, "restartPolicy: Never", inits, containers)
}
