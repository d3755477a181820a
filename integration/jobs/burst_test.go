package jobs

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestPodCreationBurstCapped: on a podrund whose Job syncs create at most
// 3 pods (limits.maxJobPodCreatesPerSync), a Job of 9 parallel pods still
// gets all nine and completes: each capped Sync is followed by the next,
// started by the pods the one before created. podrund's log shows the
// syncs that were capped.
func TestPodCreationBurstCapped(t *testing.T) {
	t.Parallel()
	d := env.PrivateDaemonWith(t, env.Containerd, "limits:\n  maxJobPodCreatesPerSync: 3\n")
	c := clientOn(t, d)
	c.Apply(jobYAML(c, "burst", "completions: 9\nparallelism: 9\nbackoffLimit: 0", "restartPolicy: Never", "",
		container("work", "sleep 1")))
	j := waitJob(t, c, "burst", "Complete", 3*time.Minute, isComplete)
	if j.Status.Succeeded != 9 || j.Status.Failed != 0 {
		t.Errorf("job status %s, want succeeded 9", jobString(j))
	}
	if ps := jobPods(t, c, "burst"); len(ps) != 9 || countPhase(ps, corev1.PodSucceeded) != 9 {
		t.Errorf("want exactly 9 Succeeded pods:\n%s", podsString(ps))
	}
	capped := d.LogGrep("pod creations capped for this sync", 100)
	if n := strings.Count(capped, c.NS+"/burst"); n < 2 {
		t.Errorf("%d capped syncs in podrund's log, want at least 2 (9 pods, 3 per sync):\n%s", n, capped)
	}
}
