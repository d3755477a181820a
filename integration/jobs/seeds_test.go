package jobs

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// TestSeed02LegacySidecarBlocksJob: a sidecar declared as a regular
// container keeps the Job's pod Running after the work is done (R73 needs
// every regular container finished): READY 1/2, STATUS NotReady, job
// COMPLETIONS 0/1.
func TestSeed02LegacySidecarBlocksJob(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	if out := c.ApplyFile(filepath.Join(env.Seeds, "02-job-legacy-sidecar.yaml")); out != "job.batch/pi created\n" {
		t.Errorf("apply printed %q", out)
	}
	ps := waitPods(t, c, "pi", "pi exited 0 with the sidecar running", 60*time.Second, func(ps []corev1.Pod) bool {
		if len(ps) != 1 {
			return false
		}
		pi, side := status(&ps[0], "pi"), status(&ps[0], "sidecar")
		return pi != nil && pi.State.Terminated != nil && pi.State.Terminated.ExitCode == 0 &&
			side != nil && side.State.Running != nil
	})
	pod := ps[0]
	if pod.Status.Phase != corev1.PodRunning {
		t.Errorf("pod phase %s, want Running", pod.Status.Phase)
	}
	if row := harness.TableRow(c.MustPodctl("get", "pods"), pod.Name); len(row) < 3 || row[1] != "1/2" || row[2] != "NotReady" {
		t.Errorf("get pods row %q, want READY 1/2 STATUS NotReady (R92)", row)
	}
	j := waitJob(t, c, "pi", "counting the pod as active", 10*time.Second, func(j *batchv1.Job) bool { return j.Status.Active == 1 })
	if j.Status.Succeeded != 0 || isFinished(j) {
		t.Errorf("job status %s, want incomplete", jobString(j))
	}
	table := c.MustPodctl("get", "jobs")
	if header := strings.Fields(strings.SplitN(table, "\n", 2)[0]); strings.Join(header, " ") != "NAME STATUS COMPLETIONS DURATION AGE" {
		t.Errorf("get jobs header %q", header)
	}
	if row := harness.TableRow(table, "pi"); len(row) != 5 || row[1] != "Running" || row[2] != "0/1" {
		t.Errorf("get jobs row %q, want STATUS Running COMPLETIONS 0/1", row)
	}
}

// TestSeed03NativeSidecarCompletesJob: with the sidecar in initContainers
// (restartPolicy Always) podrund stops it once pi exits (R72), the pod
// Succeeds (R73) and the Job completes 1/1 (R-V1).
func TestSeed03NativeSidecarCompletesJob(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	c.ApplyFile(filepath.Join(env.Seeds, "03-job-native-sidecar.yaml"))
	j := waitJob(t, c, "pi-sidecar", "Complete", 90*time.Second, isComplete)
	if j.Status.Succeeded != 1 || j.Status.Failed != 0 || j.Status.Active != 0 || j.Status.CompletionTime == nil {
		t.Errorf("job status %s, want succeeded 1, failed 0, active 0, completionTime set", jobString(j))
	}
	ps := jobPods(t, c, "pi-sidecar")
	if len(ps) != 1 {
		t.Fatalf("job has %d pods, want 1:\n%s", len(ps), podsString(ps))
	}
	pod := ps[0]
	if pod.Status.Phase != corev1.PodSucceeded {
		t.Errorf("pod phase %s, want Succeeded", pod.Status.Phase)
	}
	pi, proxy := status(&pod, "pi"), status(&pod, "network-proxy")
	if pi == nil || pi.State.Terminated == nil || pi.State.Terminated.ExitCode != 0 || proxy == nil || proxy.State.Terminated == nil {
		t.Fatalf("container states: %s", podsString(ps))
	}
	if proxy.State.Terminated.FinishedAt.Before(&pi.State.Terminated.FinishedAt) {
		t.Errorf("network-proxy stopped before pi finished")
	}
	if proxy.State.Terminated.StartedAt.After(pi.State.Terminated.StartedAt.Time) {
		t.Errorf("network-proxy started after pi (sidecars start first)")
	}
	c.WaitEvent(harness.EventFilter{Object: pod.Name, Reason: "Killing", Message: "Stopping container network-proxy"}, 10*time.Second)
	if row := harness.TableRow(c.MustPodctl("get", "pods"), pod.Name); len(row) < 3 || row[1] != "0/2" || row[2] != "Completed" {
		t.Errorf("get pods row %q, want READY 0/2 STATUS Completed", row)
	}
	if row := harness.TableRow(c.MustPodctl("get", "jobs"), "pi-sidecar"); len(row) < 3 || row[1] != "Complete" || row[2] != "1/1" {
		t.Errorf("get jobs row %q, want STATUS Complete COMPLETIONS 1/1", row)
	}
}
