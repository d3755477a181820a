package main

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/api/client"
	"github.com/podrun/podrun/api/client/fake"
)

func fields(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		out = append(out, strings.Join(strings.Fields(l), " "))
	}
	return out
}

func TestGetPods(t *testing.T) {
	srv := fake.Start(t)
	web := pod("web", corev1.PodRunning, readyCond(true))
	web.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Ready: true,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	srv.Set(client.Pods, web)
	other := pod("db", corev1.PodPending)
	other.Namespace = "data"
	srv.Set(client.Pods, other)

	r := podctl(t, srv, "get", "pods")
	got := fields(r.stdout)
	if r.code != 0 || len(got) != 2 || got[0] != "NAME READY STATUS RESTARTS AGE" || !strings.HasPrefix(got[1], "web 1/1 Running 0 ") {
		t.Errorf("get pods: %+v", r)
	}
	r = podctl(t, srv, "get", "po", "-A")
	got = fields(r.stdout)
	if r.code != 0 || len(got) != 3 || !strings.HasPrefix(got[0], "NAMESPACE NAME") || !strings.HasPrefix(got[1], "data db 0/1 Pending") {
		t.Errorf("get pods -A: %+v", r)
	}
	r = podctl(t, srv, "get", "pod", "web", "-o", "json")
	var p corev1.Pod
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil || p.Name != "web" || p.Status.Phase != corev1.PodRunning {
		t.Errorf("get pod -o json: %v %+v", err, r)
	}
	r = podctl(t, srv, "get", "pods", "-o", "json")
	var l struct {
		Kind  string       `json:"kind"`
		Items []corev1.Pod `json:"items"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil || l.Kind != "List" || len(l.Items) != 1 {
		t.Errorf("get pods -o json: %v %+v", err, r)
	}
	r = podctl(t, srv, "get", "pods", "-o", "name", "-A")
	if r.stdout != "pod/db\npod/web\n" {
		t.Errorf("get pods -o name -A: %+v", r)
	}
	r = podctl(t, srv, "get", "pod", "nope")
	if r.code != 1 || r.stderr != "Error from server (NotFound): pods \"nope\" not found\n" {
		t.Errorf("get missing pod: %+v", r)
	}
	r = podctl(t, srv, "get", "jobs")
	if r.code != 0 || r.stdout != "" || r.stderr != "No resources found in default namespace.\n" {
		t.Errorf("empty get: %+v", r)
	}
}

func TestGetOtherKinds(t *testing.T) {
	srv := fake.Start(t)
	srv.Set(client.ConfigMaps, &corev1.ConfigMap{ObjectMeta: objMeta("cfg"), Data: map[string]string{"a": "1"}})
	srv.Set(client.Secrets, &corev1.Secret{ObjectMeta: objMeta("s"), Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"k": []byte("v")}})
	srv.Set(client.Events, &corev1.Event{ObjectMeta: objMeta("web.1"), Type: "Normal", Reason: "Started",
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web"}, Message: "Started container app",
		LastTimestamp: metav1.NewTime(time.Now().Add(-5 * time.Second))})
	srv.Images = []api.Image{{Name: "docker.io/library/busybox:1.28", ID: "sha256:8c811b4aec35f259572d", Size: 1146369}}
	cases := map[string][]string{
		"cm":     {"NAME DATA AGE", "cfg 1 "},
		"secret": {"NAME TYPE DATA AGE", "s Opaque 1 "},
		"ev":     {"LAST SEEN TYPE REASON OBJECT MESSAGE", "5s Normal Started pod/web Started container app"},
		"images": {"NAME ID SIZE", "docker.io/library/busybox:1.28 8c811b4aec35 1.15MB"},
	}
	for kind, want := range cases {
		r := podctl(t, srv, "get", kind)
		got := fields(r.stdout)
		if r.code != 0 || len(got) != 2 || got[0] != want[0] || !strings.HasPrefix(got[1], want[1]) {
			t.Errorf("get %s: %+v", kind, r)
		}
	}
}

func TestGetWatch(t *testing.T) {
	srv := fake.Start(t)
	srv.Set(client.Pods, pod("web", corev1.PodPending))
	var out safeBuffer
	ctx, cancel := contextWithCancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--socket", srv.Socket, "get", "pods", "-w"}, streams{In: strings.NewReader(""), Out: &out, ErrOut: io.Discard})
	}()
	eventually(t, "the pod watch", watching(srv, client.Pods))
	srv.Set(client.Pods, pod("web", corev1.PodRunning))
	eventually(t, "the second row", func() bool { return strings.Count(out.String(), "\n") == 3 })
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("get -w ended with %d", code)
	}
	got := fields(out.String())
	if len(got) != 3 || !strings.HasPrefix(got[1], "web 0/1 Pending") || !strings.HasPrefix(got[2], "web 0/1 Running") {
		t.Errorf("watch output %q", got)
	}
}
