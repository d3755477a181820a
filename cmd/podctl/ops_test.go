package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/api/client"
	"github.com/podrun/podrun/api/client/fake"
)

func TestDescribePodWaitingFor(t *testing.T) {
	srv := fake.Start(t)
	srv.Set(client.Pods, pod("web", corev1.PodPending))
	// Without the path (an older podrund) the section is left out.
	r := podctl(t, srv, "describe", "pod", "web")
	if r.code != 0 || strings.Contains(r.stdout, "Waiting for:") {
		t.Fatalf("describe without blockers: %+v", r)
	}
	srv.SetOp("default", "web", "blockers", api.PodBlockers{Pod: "web", Items: []api.Blocker{
		{Container: "proxy", Reason: "StartupProbe", Message: "sidecar proxy: startup probe failing (4/30), next probe in 1s"},
		{Container: "app", Reason: "CreateContainerConfigError", Message: `container app: CreateContainerConfigError: configmap "x" not found`},
	}})
	r = podctl(t, srv, "describe", "pod", "web")
	want := "Waiting for:\n  sidecar proxy: startup probe failing (4/30), next probe in 1s\n" +
		"  container app: CreateContainerConfigError: configmap \"x\" not found\n"
	if r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Fatalf("describe: %+v", r)
	}
	if i, j := strings.Index(r.stdout, "Waiting for:"), strings.Index(r.stdout, "Events:"); i < 0 || j < i {
		t.Fatalf("Waiting for must come before Events:\n%s", r.stdout)
	}
}

func TestDescribeJobWaitingForItsPods(t *testing.T) {
	srv := fake.Start(t)
	job := &batchv1.Job{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "default", UID: "job-uid"},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "main", Image: "busybox:1.28"}}}}}}
	srv.Set(client.Jobs, job)
	uid := srv.Get(client.Jobs, "default", "pi")["metadata"].(map[string]any)["uid"].(string) // the fake assigns it
	mine := pod("pi-abc", corev1.PodPending)
	mine.OwnerReferences = []metav1.OwnerReference{{Kind: "Job", Name: "pi", UID: types.UID(uid)}}
	done := pod("pi-old", corev1.PodSucceeded)
	done.OwnerReferences = mine.OwnerReferences
	other := pod("web", corev1.PodPending)
	for _, p := range []*corev1.Pod{mine, done, other} {
		srv.Set(client.Pods, p)
		srv.SetOp("default", p.Name, "blockers", api.PodBlockers{Items: []api.Blocker{{Message: "init container migrate: CrashLoopBackOff"}}})
	}
	r := podctl(t, srv, "describe", "job", "pi")
	if r.code != 0 || !strings.Contains(r.stdout, "Waiting for:\n  pod pi-abc: init container migrate: CrashLoopBackOff\n") ||
		strings.Contains(r.stdout, "pi-old:") || strings.Contains(r.stdout, "pod web:") {
		t.Fatalf("describe job: %+v", r)
	}
}

func TestTimelineCommand(t *testing.T) {
	srv := fake.Start(t)
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.Local)
	at := func(s int) *time.Time { v := t0.Add(time.Duration(s) * time.Second); return &v }
	code := int32(1)
	tl := api.PodTimeline{Pod: "web", Namespace: "default", Now: t0.Add(time.Minute), Instances: []api.TimelineInstance{
		{Container: "app", Class: "Regular", Attempt: 0, State: "Exited", CreatedAt: at(0), StartedAt: at(1), FinishedAt: at(10), ExitCode: &code, BackoffUntil: at(20)},
		{Container: "app", Class: "Regular", Attempt: 1, State: "Running", CreatedAt: at(20), StartedAt: at(21), ReadyAt: at(22)},
	}}
	srv.SetOp("default", "web", "timeline", tl)
	r := podctl(t, srv, "timeline", "web", "--width", "60")
	lines := strings.Split(r.stdout, "\n")
	if r.code != 0 || len(lines) < 4 || !strings.HasPrefix(lines[1], "app #0 |") || !strings.HasSuffix(lines[1], "| exit 1") ||
		!strings.Contains(lines[1], "X~") || !strings.HasSuffix(lines[2], ">| running") || len(lines[1]) > 60 {
		t.Fatalf("timeline:\n%s", r.stdout)
	}
	r = podctl(t, srv, "timeline", "web", "-o", "json")
	var back api.PodTimeline
	if err := json.Unmarshal([]byte(r.stdout), &back); err != nil || len(back.Instances) != 2 || back.Instances[0].BackoffUntil == nil {
		t.Fatalf("timeline -o json: %v %+v", err, r)
	}
	if r = podctl(t, srv, "timeline", "nope"); r.code == 0 || !strings.Contains(r.stderr, "NotFound") {
		t.Fatalf("unknown pod: %+v", r)
	}
}

func TestTopPod(t *testing.T) {
	srv := fake.Start(t)
	srv.Set(client.Pods, pod("web", corev1.PodRunning))
	srv.Set(client.Pods, pod("done", corev1.PodSucceeded))
	srv.SetOp("default", "web", "stats", api.PodStats{Pod: "web", Namespace: "default", Containers: []api.ContainerStats{
		{Name: "proxy", CPUMilli: 3, MemoryBytes: 5 << 20}, {Name: "app", CPUMilli: 250, MemoryBytes: 120 << 20}}})
	for _, args := range [][]string{{"top", "pod"}, {"top", "pod", "web"}} {
		r := podctl(t, srv, args...)
		got := fields(r.stdout)
		want := []string{"POD NAME CPU(cores) MEMORY(bytes)", "web proxy 3m 5Mi", "web app 250m 120Mi"}
		if r.code != 0 || strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("%v: %+v", args, r)
		}
	}
	r := podctl(t, srv, "top", "pod", "web", "-o", "json")
	var out []api.PodStats
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out) != 1 || out[0].Containers[1].CPUMilli != 250 {
		t.Fatalf("top -o json: %v %+v", err, r)
	}
}

func TestApplyWaitShowsPullBytes(t *testing.T) {
	srv := fake.Start(t)
	done := applyWaiting(t, srv)
	srv.Set(client.Pods, withApp(pod("web", corev1.PodPending), corev1.ContainerState{
		Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating", Message: `Pulling image "busybox:1.28": 1.2 MB of 2.0 MB`}}))
	srv.Set(client.Pods, pod("web", corev1.PodRunning, readyCond(true)))
	r := done()
	if r.code != 0 || !strings.Contains(r.stderr, `pod/web: ContainerCreating, app: Pulling image "busybox:1.28": 1.2 MB of 2.0 MB`+"\n") {
		t.Fatalf("apply --wait: %+v", r)
	}
}
