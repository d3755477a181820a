package main

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/api/client"
	"github.com/podrun/podrun/api/client/fake"
)

const jobManifest = `apiVersion: batch/v1
kind: Job
metadata:
  name: pi
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox:1.28
        command: ["sh", "-c", "echo 3.14"]
`

func jobWith(cond batchv1.JobConditionType, reason string) *batchv1.Job {
	return &batchv1.Job{ObjectMeta: objMeta("pi"), Status: batchv1.JobStatus{
		Conditions: []batchv1.JobCondition{{Type: cond, Status: corev1.ConditionTrue, Reason: reason}}}}
}

func TestApplyWaitJob(t *testing.T) {
	for _, tc := range []struct {
		cond   batchv1.JobConditionType
		reason string
		code   int
		out    string
	}{
		{batchv1.JobComplete, "", 0, "job.batch/pi created\njob.batch/pi complete\n"},
		{batchv1.JobFailed, "BackoffLimitExceeded", 1, "job.batch/pi created\n"},
	} {
		srv := fake.Start(t)
		file := writeFile(t, "job.yaml", jobManifest)
		done := podctlWatching(t, srv, client.Jobs, "apply", "-f", file, "--wait", "--timeout", "10s")
		j := jobWith(tc.cond, tc.reason)
		j.Spec = batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "main", Image: "busybox:1.28", Command: []string{"sh", "-c", "echo 3.14"}}}}}}
		srv.Set(client.Jobs, j)
		r := done()
		if r.code != tc.code || r.stdout != tc.out {
			t.Errorf("%s: %+v", tc.cond, r)
		}
		if tc.code != 0 && !strings.Contains(r.stderr, "job.batch/pi: failed (BackoffLimitExceeded") {
			t.Errorf("%s: stderr %q", tc.cond, r.stderr)
		}
	}
}

func TestDeleteJobWaitsAndDescribeJob(t *testing.T) {
	srv := fake.Start(t)
	srv.Set(client.Jobs, jobWith(batchv1.JobComplete, ""))
	r := podctl(t, srv, "describe", "job", "pi")
	if r.code != 0 || !strings.Contains(squash(r.stdout), "Name: pi\n") {
		t.Errorf("describe job: %+v", r)
	}
	r = podctl(t, srv, "get", "jobs")
	if got := fields(r.stdout); len(got) != 2 || !strings.HasPrefix(got[1], "pi Complete 0/1") {
		t.Errorf("get jobs: %+v", r)
	}
	r = podctl(t, srv, "delete", "job", "pi", "--wait=true")
	if r.code != 0 || r.stdout != "job.batch \"pi\" deleted\n" || srv.Get(client.Jobs, "default", "pi") != nil {
		t.Errorf("delete job: %+v", r)
	}
}
