package server

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/podrun/podrun/supervisor"
	"github.com/podrun/podrun/supervisor/job"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
)

const jobsPath = "/apis/batch/v1/namespaces/default/jobs"

// createJobWithRunner runs the real Job controller on ts until the test
// ends, creates jobYAML's Job through the API and returns the pod the
// controller made for it.
func createJobWithRunner(t *testing.T, ts *testServer) *corev1.Pod {
	t.Helper()
	c := job.NewController(job.Options{Pods: ts.obj, Jobs: ts.obj, Events: ts.obj})
	runner := job.NewRunner(c, ts.obj, clock.RealClock{}, nil)
	ts.wire.setJobs(runner, runner)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = runner.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	if code, data := ts.do("POST", jobsPath, "application/yaml", []byte(jobYAML)); code != 201 {
		t.Fatalf("create job: %d %s", code, data)
	}
	var pod *corev1.Pod
	eventually(t, "the job's pod", func() bool {
		pods, _ := ts.obj.ListPods(context.Background(), "default", nil)
		if len(pods) == 1 {
			pod = pods[0]
		}
		return pod != nil
	})
	return pod
}

// The real Job controller driven through the server: a Job creates its
// pod, the pod succeeding completes the Job, and re-applying the manifest
// keeps the status (the controller's state is not lost to a PUT).
func TestJobControllerThroughServer(t *testing.T) {
	ts := newTestServer(t, nil)
	pod := createJobWithRunner(t, ts)
	done2 := pod.DeepCopy()
	done2.Status.Phase = corev1.PodSucceeded
	if err := ts.obj.SavePod(context.Background(), &supervisor.PodRecord{Pod: done2}); err != nil {
		t.Fatal(err)
	}
	var j batchv1.Job
	eventually(t, "job complete", func() bool {
		_, data := ts.do("GET", jobsPath+"/once", "", nil)
		_ = json.Unmarshal(data, &j)
		return j.Status.Succeeded == 1 && j.Status.CompletionTime != nil
	})
	_, evs := ts.do("GET", "/api/v1/namespaces/default/events", "", nil)
	if !strings.Contains(string(evs), `"kind":"Job"`) {
		t.Fatalf("no job events recorded: %s", evs)
	}
	code, data := ts.do("PUT", jobsPath+"/once", "application/yaml", []byte(jobYAML))
	var again batchv1.Job
	_ = json.Unmarshal(data, &again)
	if code != 200 || again.Status.Succeeded != 1 || again.ResourceVersion != j.ResourceVersion {
		t.Fatalf("re-apply of a finished job: %d succeeded=%d rv %s→%s", code, again.Status.Succeeded,
			j.ResourceVersion, again.ResourceVersion)
	}
}

// DELETE with propagationPolicy=Foreground keeps the Job, marked with a
// deletion timestamp and the foregroundDeletion finalizer, until its pods
// are gone; then the controller removes it (as the API server and the
// garbage collector do). Background removes the Job at once. The policy
// comes in the query or, as kubectl sends it, in a DeleteOptions body.
func TestJobForegroundDeletion(t *testing.T) {
	for _, form := range []struct{ name, query, body string }{
		{"query", "?propagationPolicy=Foreground", ""},
		{"body", "", `{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Foreground"}`},
	} {
		t.Run(form.name, func(t *testing.T) { testJobForegroundDeletion(t, form.query, form.body) })
	}
}

func testJobForegroundDeletion(t *testing.T, query, body string) {
	ts := newTestServer(t, nil)
	ts.engine.holdStop = true
	pod := createJobWithRunner(t, ts)
	code, data := ts.do("DELETE", jobsPath+"/once"+query, "application/json", []byte(body))
	var marked batchv1.Job
	_ = json.Unmarshal(data, &marked)
	if code != 200 || marked.DeletionTimestamp == nil || !slices.Contains(marked.Finalizers, "foregroundDeletion") {
		t.Fatalf("foreground delete: %d %s", code, data)
	}
	eventually(t, "the pod deleted", func() bool {
		pods, _ := ts.obj.ListPods(context.Background(), "default", nil)
		return len(pods) == 1 && pods[0].DeletionTimestamp != nil
	})
	if code, data := ts.do("GET", jobsPath+"/once", "", nil); code != 200 {
		t.Fatalf("the job went while its pod still runs: %d %s", code, data)
	}
	// Re-applying the manifest does not revive the Job.
	code, data = ts.do("PUT", jobsPath+"/once", "application/yaml", []byte(jobYAML))
	var again batchv1.Job
	_ = json.Unmarshal(data, &again)
	if code != 200 || again.DeletionTimestamp == nil || !slices.Contains(again.Finalizers, "foregroundDeletion") {
		t.Fatalf("PUT of a job being deleted: %d %s", code, data)
	}
	if err := ts.engine.finish(pod.UID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the job removed", func() bool {
		code, _ := ts.do("GET", jobsPath+"/once", "", nil)
		return code == 404
	})
}
