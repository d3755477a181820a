package jobs

import "testing"

// TestRestartRuleIsNoPodFailure is R108: a Job whose pod (restartPolicy
// Never, backoffLimit 0) has a container rule restarting exit code 42. The
// container exits 42 twice; it is restarted in place, the second time
// after the 10 s crash-loop back-off, and the pod stays Running meanwhile,
// so the Job controller counts no failure (one would fail the Job at
// backoffLimit 0); the third run exits 0 and the Job completes with its
// one pod.
func TestRestartRuleIsNoPodFailure(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	c.Apply(jobYAML(c, "rule", "backoffLimit: 0", "restartPolicy: Never", "",
		container("work", logLine("work start")+"; n=$(cat /shared/rule.runs 2>/dev/null || echo 0); echo $((n+1)) > /shared/rule.runs; [ $n -ge 2 ] || exit 42",
			"restartPolicy: Never",
			"restartPolicyRules: [{action: Restart, exitCodes: {operator: In, values: [42]}}]")))
	ps := completedByOnePod(t, c, "rule")
	w := status(&ps[0], "work")
	if w == nil || w.RestartCount != 2 || w.LastTerminationState.Terminated == nil ||
		w.LastTerminationState.Terminated.ExitCode != 42 {
		t.Errorf("want work restarted twice after exit 42:\n%s", podsString(ps))
	}
}
