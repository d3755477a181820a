package printer

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func describedPod() *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "myapp-pod", Namespace: "default", Labels: map[string]string{"app": "myapp", "tier": "web"}},
		Spec:       spec([]string{"s:logshipper"}, "myapp-container"),
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.88.0.7",
			Conditions:            []corev1.PodCondition{cond(corev1.PodInitialized, true), cond(corev1.PodReady, true)},
			InitContainerStatuses: []corev1.ContainerStatus{restarted(running("logshipper", true), 1, time.Minute)},
			ContainerStatuses:     []corev1.ContainerStatus{running("myapp-container", true)}},
	}
	pod.Status.InitContainerStatuses[0].ContainerID = "containerd://abc"
	side := &pod.Spec.InitContainers[0]
	side.Command = []string{"sh", "-c", "tail -F /opt/logs.txt"}
	side.VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/opt"}}
	side.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"cat", "/tmp/healthy"}}},
		TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3}
	app := &pod.Spec.Containers[0]
	app.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}},
		InitialDelaySeconds: 2, TimeoutSeconds: 1, PeriodSeconds: 5, SuccessThreshold: 1, FailureThreshold: 3}
	app.Env = []corev1.EnvVar{{Name: "MODE", Value: "prod"},
		{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "token"}}}}
	pod.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	return pod
}

// squash collapses runs of spaces so tests do not depend on alignment.
func squash(s string) string { return regexp.MustCompile(` +`).ReplaceAllString(s, " ") }

func TestDescribePod(t *testing.T) {
	evs := []corev1.Event{
		{Type: "Normal", Reason: "Started", Message: "Started container myapp-container", Source: corev1.EventSource{Component: "podrund"},
			FirstTimestamp: ago(50 * time.Second), LastTimestamp: ago(50 * time.Second), Count: 1},
		{Type: "Normal", Reason: "Pulled", Message: "Container image \"busybox:1.28\" already present on machine", Source: corev1.EventSource{Component: "podrund"},
			FirstTimestamp: ago(3 * time.Minute), LastTimestamp: ago(time.Minute), Count: 2},
	}
	var buf bytes.Buffer
	if err := DescribePod(&buf, PodDescription{Pod: describedPod(), Events: evs}, now); err != nil {
		t.Fatal(err)
	}
	out := squash(buf.String())
	for _, want := range []string{
		"Name: myapp-pod\n", "Namespace: default\n", "Labels: app=myapp\n tier=web\n", "Status: Running\n", "IP: 10.88.0.7\n",
		"Init Containers:\n logshipper (sidecar):\n Container ID: containerd://abc\n Image: busybox:1.28\n",
		" Command:\n sh\n -c\n tail -F /opt/logs.txt\n",
		" State: Running\n Started: ", " Last State: Terminated\n Reason: Error\n Exit Code: 1\n",
		" Ready: True\n Restart Count: 1\n",
		" Liveness: exec [cat /tmp/healthy] delay=0s timeout=1s period=10s #success=1 #failure=3\n",
		" Mounts:\n /opt from data (rw)\n",
		"Containers:\n myapp-container:\n",
		" Readiness: http-get http://:8080/healthz delay=2s timeout=1s period=5s #success=1 #failure=3\n",
		" Environment:\n MODE: prod\n TOKEN: <set to the key 'token' in secret 'creds'> Optional: false\n",
		"Conditions:\n Type Status\n Initialized True\n Ready True\n",
		"Volumes:\n data:\n Type: EmptyDir (a temporary directory that shares a pod's lifetime)\n",
		"Events:\n Type Reason Age From Message\n ---- ------ ---- ---- -------\n" +
			" Normal Pulled 60s (x2 over 3m) podrund Container image \"busybox:1.28\" already present on machine\n" +
			" Normal Started 50s podrund Started container myapp-container\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("describe lacks %q; got:\n%s", want, buf.String())
		}
	}
	if strings.Contains(out, "Waiting for:") {
		t.Error("Waiting for section printed without blockers")
	}
	buf.Reset()
	_ = DescribePod(&buf, PodDescription{Pod: describedPod(), WaitingFor: []string{"sidecar proxy: startup probe failing (4/30)"}}, now)
	if out := squash(buf.String()); !strings.Contains(out, "Waiting for:\n sidecar proxy: startup probe failing (4/30)\nEvents: <none>\n") {
		t.Errorf("waiting-for section:\n%s", buf.String())
	}
}

// Empty sections say <none> on their heading line, as kubectl's do.
func TestDescribeEmptySections(t *testing.T) {
	pod := describedPod()
	pod.Spec.Volumes = nil
	for i := range pod.Spec.Containers {
		pod.Spec.Containers[i].Env, pod.Spec.Containers[i].VolumeMounts = nil, nil
	}
	var buf bytes.Buffer
	if err := DescribePod(&buf, PodDescription{Pod: pod}, time.Now()); err != nil {
		t.Fatal(err)
	}
	out := squash(buf.String())
	for _, want := range []string{" Environment: <none>\n", " Mounts: <none>\n", "\nVolumes: <none>\n", "\nEvents: <none>\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe lacks %q; got:\n%s", want, buf.String())
		}
	}
}

func TestDescribeTerminatingPod(t *testing.T) {
	pod := describedPod()
	del := ago(4 * time.Second)
	grace := int64(30)
	pod.DeletionTimestamp, pod.DeletionGracePeriodSeconds = &del, &grace
	var buf bytes.Buffer
	_ = DescribePod(&buf, PodDescription{Pod: pod}, now)
	if out := squash(buf.String()); !strings.Contains(out, "Status: Terminating (lasts 4s)\nTermination Grace Period: 30s\n") {
		t.Errorf("terminating:\n%s", buf.String())
	}
}

func TestDescribeJob(t *testing.T) {
	one := int32(1)
	start, end := ago(time.Minute), ago(50*time.Second)
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "default"},
		Spec: batchv1.JobSpec{Completions: &one, Parallelism: &one, BackoffLimit: &one,
			Template: corev1.PodTemplateSpec{Spec: spec([]string{"s:logshipper"}, "main")}},
		Status: batchv1.JobStatus{Succeeded: 1, StartTime: &start, CompletionTime: &end,
			Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}},
	}
	var buf bytes.Buffer
	if err := DescribeJob(&buf, JobDescription{Job: job}, now); err != nil {
		t.Fatal(err)
	}
	out := squash(buf.String())
	for _, want := range []string{"Name: pi\n", "Completions: 1\n", "Duration: 10s\n",
		"Pods Statuses: 0 Active (0 Ready) / 1 Succeeded / 0 Failed\n", "logshipper (sidecar):\n", "main:\n Image: busybox:1.28\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe job lacks %q; got:\n%s", want, buf.String())
		}
	}
}
