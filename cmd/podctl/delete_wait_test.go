package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/api/client"
	"github.com/podrun/podrun/api/client/fake"
)

// finalizeSucceeded is what the engine reports when a pod's containers
// stopped on TERM with exit 0.
func finalizeSucceeded(p fake.Object) {
	p["status"] = map[string]any{
		"phase": "Succeeded",
		"containerStatuses": []any{map[string]any{"name": "app", "restartCount": 0, "ready": false, "image": "busybox:1.28", "imageID": "",
			"state": map[string]any{"terminated": map[string]any{"exitCode": 0, "reason": "Completed"}}}},
	}
}

func TestDeleteWaitPrintsFinalObject(t *testing.T) {
	srv := fake.Start(t)
	srv.DeleteDelay = 100 * time.Millisecond
	srv.FinalizePod = finalizeSucceeded
	srv.Set(client.Pods, pod("web", corev1.PodRunning, readyCond(true)))

	r := podctl(t, srv, "delete", "pod", "web", "--grace-period", "5", "-o", "json")
	if r.code != 0 {
		t.Fatalf("delete: %+v", r)
	}
	var final corev1.Pod
	if err := json.Unmarshal([]byte(r.stdout), &final); err != nil {
		t.Fatalf("stdout is not one pod: %v\n%s", err, r.stdout)
	}
	if final.Status.Phase != corev1.PodSucceeded || final.DeletionTimestamp == nil ||
		final.Status.ContainerStatuses[0].State.Terminated == nil || final.Kind != "Pod" {
		t.Errorf("final object: %s", r.stdout)
	}
	if srv.Get(client.Pods, "default", "web") != nil {
		t.Error("delete returned before the pod was gone")
	}
	found := false
	for _, req := range srv.Requests() {
		found = found || req == "DELETE /api/v1/namespaces/default/pods/web?gracePeriodSeconds=5"
	}
	if !found {
		t.Errorf("no DELETE with the grace period among %v", srv.Requests())
	}
}

func TestDeleteWaitsByDefault(t *testing.T) {
	srv := fake.Start(t)
	srv.DeleteDelay = 100 * time.Millisecond
	srv.Set(client.Pods, pod("web", corev1.PodRunning))
	srv.Set(client.ConfigMaps, &corev1.ConfigMap{TypeMeta: metaCM(), ObjectMeta: objMeta("cfg")})
	r := podctl(t, srv, "delete", "pod", "web")
	if r.code != 0 || r.stdout != "pod \"web\" deleted\n" || srv.Get(client.Pods, "default", "web") != nil {
		t.Errorf("delete pod: %+v", r)
	}
	r = podctl(t, srv, "delete", "cm", "cfg", "-o", "name")
	if r.code != 0 || r.stdout != "configmap/cfg\n" {
		t.Errorf("delete configmap: %+v", r)
	}
}

func TestDeleteNoWait(t *testing.T) {
	srv := fake.Start(t)
	srv.DeleteDelay = time.Hour
	srv.Set(client.Pods, pod("web", corev1.PodRunning))
	r := podctl(t, srv, "delete", "pod", "web", "--wait=false")
	if r.code != 0 || r.stdout != "pod \"web\" deleted\n" {
		t.Errorf("delete --wait=false: %+v", r)
	}
	if p := srv.Get(client.Pods, "default", "web"); p == nil {
		t.Error("pod vanished at once though it terminates for an hour")
	}
}

func TestDeleteFromFile(t *testing.T) {
	srv := fake.Start(t)
	file := appFile(t)
	if r := podctl(t, srv, "apply", "-f", file); r.code != 0 {
		t.Fatal(r)
	}
	r := podctl(t, srv, "delete", "-f", file)
	if r.code != 0 || r.stdout != "configmap \"cfg\" deleted\npod \"web\" deleted\n" {
		t.Errorf("delete -f: %+v", r)
	}
}

func TestDeleteNotFound(t *testing.T) {
	srv := fake.Start(t)
	r := podctl(t, srv, "delete", "pod", "nope")
	if r.code != 1 || r.stderr != "Error from server (NotFound): pods \"nope\" not found\n" {
		t.Errorf("got %+v", r)
	}
}

func TestWaitConditionReady(t *testing.T) {
	srv := fake.Start(t)
	srv.Set(client.Pods, pod("web", corev1.PodPending))
	done := podctlWatching(t, srv, client.Pods, "wait", "pod", "web", "--for=condition=Ready", "--timeout", "10s")
	srv.Set(client.Pods, pod("web", corev1.PodRunning, readyCond(false)))
	srv.Set(client.Pods, pod("web", corev1.PodRunning, readyCond(true)))
	if r := done(); r.code != 0 || r.stdout != "pod/web condition met\n" {
		t.Errorf("wait Ready: %+v", r)
	}
	// Already met: returns at once.
	if r := podctl(t, srv, "wait", "pod", "web", "--for", "condition=ready=true"); r.code != 0 {
		t.Errorf("wait on a met condition: %+v", r)
	}
}

func TestWaitJSONPath(t *testing.T) {
	srv := fake.Start(t)
	srv.Set(client.Pods, pod("job-pod", corev1.PodRunning))
	done := podctlWatching(t, srv, client.Pods, "wait", "pod", "job-pod", "--for=jsonpath={.status.phase}=Succeeded", "--timeout", "10s")
	srv.Set(client.Pods, pod("job-pod", corev1.PodSucceeded))
	if r := done(); r.code != 0 || r.stdout != "pod/job-pod condition met\n" {
		t.Errorf("wait jsonpath: %+v", r)
	}
}

func TestWaitDelete(t *testing.T) {
	srv := fake.Start(t)
	srv.Set(client.Pods, pod("web", corev1.PodRunning))
	done := podctlWatching(t, srv, client.Pods, "wait", "pod", "web", "--for=delete", "--timeout", "10s")
	srv.Remove(client.Pods, "default", "web")
	if r := done(); r.code != 0 || r.stdout != "pod/web condition met\n" {
		t.Errorf("wait delete: %+v", r)
	}
	// A pod that does not exist is deleted already.
	if r := podctl(t, srv, "wait", "pod", "never", "--for=delete"); r.code != 0 {
		t.Errorf("wait delete of a missing pod: %+v", r)
	}
}

func TestWaitTimeoutAndErrors(t *testing.T) {
	srv := fake.Start(t)
	srv.Set(client.Pods, pod("web", corev1.PodPending))
	r := podctl(t, srv, "wait", "pod", "web", "--for=condition=Ready", "--timeout", "200ms")
	if r.code != 1 || r.stderr != "error: timed out waiting for the condition on pods/web\n" {
		t.Errorf("timeout: %+v", r)
	}
	r = podctl(t, srv, "wait", "pod", "missing", "--for=condition=Ready")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "Error from server (NotFound)") {
		t.Errorf("missing pod: %+v", r)
	}
	r = podctl(t, srv, "wait", "pod", "web", "--for=sunshine")
	if r.code != 1 || !strings.Contains(r.stderr, "unrecognized condition") {
		t.Errorf("bad --for: %+v", r)
	}
	// Deleted while waiting for a condition: an error, not a hang.
	const get = "GET /api/v1/namespaces/default/pods/web"
	gets := requestCount(srv, get)
	done := podctlAsync(t, srv, "wait", "pod", "web", "--for=condition=Ready", "--timeout", "10s")
	// The watch is open and the pod read: the deletion can only arrive as an event.
	eventually(t, "the pod read after the watch", func() bool { return requestCount(srv, get) > gets })
	srv.Remove(client.Pods, "default", "web")
	if r := done(); r.code != 1 || !strings.Contains(r.stderr, "was deleted") {
		t.Errorf("deleted during wait: %+v", r)
	}
}

func TestParseJSONPath(t *testing.T) {
	obj := map[string]any{"status": map[string]any{"containerStatuses": []any{map[string]any{"ready": true}}}}
	c, err := parseFor("jsonpath={.status.containerStatuses[0].ready}=true")
	if err != nil || !c.met(obj) {
		t.Errorf("index path: %v", err)
	}
	c, _ = parseFor("jsonpath={.status.containerStatuses[1].ready}=true")
	if c.met(obj) {
		t.Error("out-of-range index matched")
	}
	for _, bad := range []string{"jsonpath=.status.phase", "jsonpath={}", "condition=", "jsonpath={.a}x"} {
		if _, err := parseFor(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestWaitSurvivesAnEndedWatch: podrund ends the stream and the pod goes
// away before the watch is re-opened; no DELETED will ever come, so the
// re-opened watch must look for itself.
func TestWaitSurvivesAnEndedWatch(t *testing.T) {
	srv := fake.Start(t)
	srv.Set(client.Pods, pod("web", corev1.PodRunning))
	const get = "GET /api/v1/namespaces/default/pods/web"
	done := podctlAsync(t, srv, "wait", "pod", "web", "--for=delete", "--timeout", "10s")
	eventually(t, "the pod read after the watch", func() bool { return requestCount(srv, get) == 1 })
	srv.EndWatches()
	srv.Remove(client.Pods, "default", "web")
	if r := done(); r.code != 0 || r.stdout != "pod/web condition met\n" {
		t.Errorf("wait after an ended watch: %+v", r)
	}
	if n := watchCount(srv, client.Pods); n != 2 {
		t.Errorf("%d watches, want the first and one re-opened", n)
	}
}

func TestDeleteNow(t *testing.T) {
	srv := fake.Start(t)
	srv.Set(client.Pods, pod("web", corev1.PodRunning))
	if r := podctl(t, srv, "delete", "pod", "web", "--now"); r.code != 0 {
		t.Fatal(r)
	}
	if requestCount(srv, "DELETE /api/v1/namespaces/default/pods/web?gracePeriodSeconds=1") != 1 {
		t.Errorf("--now did not ask for a 1s grace period: %v", srv.Requests())
	}
	if r := podctl(t, srv, "delete", "pod", "web", "--now", "--grace-period", "3"); r.code != 1 {
		t.Errorf("--now with --grace-period: %+v", r)
	}
}
