package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/api/client"
	"github.com/podrun/podrun/api/client/fake"
)

func upload() *batchv1.CronJob {
	return &batchv1.CronJob{ObjectMeta: objMeta("upload"), Spec: batchv1.CronJobSpec{
		Schedule: "*/5 * * * *", TimeZone: ptr.To("Europe/Berlin"), Suspend: ptr.To(false),
		ConcurrencyPolicy: batchv1.ForbidConcurrent,
		JobTemplate: batchv1.JobTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "upload"}},
			Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{Name: "up", Image: "busybox"}}}}}},
	}, Status: batchv1.CronJobStatus{
		Active:           []corev1.ObjectReference{{Name: "upload-29000000"}},
		LastScheduleTime: ptr.To(metav1.NewTime(time.Now().Add(-90 * time.Second))),
	}}
}

// get cronjobs prints kubectl's columns (and -o wide's), describe and
// delete find it by its aliases.
func TestGetDescribeDeleteCronJob(t *testing.T) {
	srv := fake.Start(t)
	srv.Set(client.CronJobs, upload())
	r := podctl(t, srv, "get", "cj")
	got := fields(r.stdout)
	if r.code != 0 || len(got) != 2 || got[0] != "NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE" ||
		!strings.HasPrefix(got[1], "upload */5 * * * * Europe/Berlin False 1 90s") {
		t.Errorf("get cj: %+v %q", r, got)
	}
	r = podctl(t, srv, "get", "cronjobs", "-o", "wide")
	if got := fields(r.stdout); len(got) != 2 || !strings.HasSuffix(got[0], "CONTAINERS IMAGES SELECTOR") ||
		!strings.HasSuffix(got[1], "up busybox <none>") {
		t.Errorf("get -o wide: %q", got)
	}
	r = podctl(t, srv, "describe", "cronjob", "upload")
	out := squash(r.stdout)
	for _, want := range []string{"Schedule: */5 * * * *\n", "Time Zone: Europe/Berlin\n", "Concurrency Policy: Forbid\n", "Active Jobs: upload-29000000\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe lacks %q:\n%s", want, out)
		}
	}
	r = podctl(t, srv, "delete", "cronjob.batch", "upload")
	if r.code != 0 || r.stdout != "cronjob.batch \"upload\" deleted\n" || srv.Get(client.CronJobs, "default", "upload") != nil {
		t.Errorf("delete: %+v", r)
	}
}

// create job --from=cronjob/NAME makes kubectl's manual Job: the
// template, the instantiate annotation, the CronJob as controller.
func TestCreateJobFromCronJob(t *testing.T) {
	srv := fake.Start(t)
	srv.Set(client.CronJobs, upload())
	r := podctl(t, srv, "create", "job", "now", "--from=cronjob/upload")
	if r.code != 0 || r.stdout != "job.batch/now created\n" {
		t.Fatalf("create: %+v", r)
	}
	raw, _ := json.Marshal(srv.Get(client.Jobs, "default", "now"))
	var j batchv1.Job
	if err := json.Unmarshal(raw, &j); err != nil {
		t.Fatal(err)
	}
	ref := metav1.GetControllerOf(&j)
	if j.Annotations[api.InstantiateAnnotation] != "manual" || ref == nil || ref.Kind != "CronJob" || ref.Name != "upload" ||
		j.Labels["app"] != "upload" || j.Spec.Template.Spec.Containers[0].Name != "up" {
		t.Fatalf("job = %s", raw)
	}
	for _, bad := range [][]string{{"--from=pod/upload"}, {"--from=cronjob/"}, {"--from=cronjob/missing"}, {}} {
		if r := podctl(t, srv, append([]string{"create", "job", "x"}, bad...)...); r.code == 0 {
			t.Errorf("%v: accepted: %+v", bad, r)
		}
	}
}
