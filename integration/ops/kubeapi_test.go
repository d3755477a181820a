package ops

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/integration/harness"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The Kubernetes API semantics real clients rely on, sent over the socket
// as client-go sends them, against a real podrund running real pods.

// kubeWatch reads a watch stream's events.
type kubeWatch struct {
	t      *testing.T
	sc     *bufio.Scanner
	cancel func()
}

func openWatch(t *testing.T, c *harness.Client, path string) *kubeWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://podrund"+path, nil)
	resp, err := harness.UnixClient(c.Daemon.Socket).Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("watch %s: %v %v", path, err, resp)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	w := &kubeWatch{t: t, sc: sc, cancel: func() { cancel(); resp.Body.Close() }}
	t.Cleanup(w.cancel)
	return w
}

// next is the next event's type and object; a stream that stays silent
// for a minute fails the test.
func (w *kubeWatch) next() (string, *corev1.Pod) {
	w.t.Helper()
	got := make(chan bool, 1)
	go func() { got <- w.sc.Scan() }()
	select {
	case ok := <-got:
		if !ok {
			w.t.Fatalf("watch ended: %v", w.sc.Err())
		}
	case <-time.After(time.Minute):
		w.t.Fatal("no watch event for a minute")
	}
	var ev struct {
		Type   string          `json:"type"`
		Object json.RawMessage `json:"object"`
	}
	if err := json.Unmarshal(w.sc.Bytes(), &ev); err != nil {
		w.t.Fatalf("watch line %q: %v", w.sc.Text(), err)
	}
	var p corev1.Pod
	_ = json.Unmarshal(ev.Object, &p)
	return ev.Type, &p
}

func kubePod(name string) string {
	return harness.Pod{Name: name, NoSharedDir: true, Grace: 1,
		Containers: []harness.Container{{Name: "app", Command: []string{"sleep", "3600"}}}}.YAML("")
}

func TestKubeAPIConcurrencyPatchAndDeleteOptions(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	c.Apply(kubePod("kube"))
	pod := c.WaitFor("kube", "Running", time.Minute, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	path := c.PodPath("kube")

	// A strategic merge patch without a resourceVersion (kubectl label,
	// client-side apply) lands; a PUT of the version read before it is a
	// 409 and changes nothing.
	code, body := c.REST("PATCH", path, "application/strategic-merge-patch+json",
		strings.NewReader(`{"metadata":{"labels":{"tier":"web"}}}`))
	if code != 200 || !strings.Contains(string(body), `"tier":"web"`) {
		t.Fatalf("strategic merge patch: %d %s", code, body)
	}
	stale := pod.DeepCopy()
	stale.Labels = map[string]string{"tier": "lost"}
	data, _ := json.Marshal(stale)
	code, body = c.REST("PUT", path, "application/json", bytes.NewReader(data))
	var st metav1.Status
	_ = json.Unmarshal(body, &st)
	want := `Operation cannot be fulfilled on pods "kube": the object has been modified; please apply your changes to the latest version and try again`
	if code != 409 || st.Reason != metav1.StatusReasonConflict || st.Message != want || st.Details == nil || st.Details.Name != "kube" {
		t.Fatalf("stale PUT: %d %s", code, body)
	}
	if got := c.GetPod("kube"); got.Labels["tier"] != "web" || got.UID != pod.UID {
		t.Fatalf("after the stale PUT: labels %v uid %s", got.Labels, got.UID)
	}

	// Hostile patches: identity, an unknown type, a huge body.
	for _, tc := range []struct {
		ctype, body string
		code        int
	}{
		{"application/json-patch+json", `[{"op":"replace","path":"/metadata/uid","value":"stolen"}]`, 422},
		{"application/json-patch+json", `[{"op":"replace","path":"/metadata/name","value":"other"}]`, 400},
		{"application/json-patch+json", `[{"op":"replace","path":"/metadata/namespace","value":"kube-system"}]`, 400},
		{"application/json-patch+json", `[{"op":"remove","path":"/spec/containers"}]`, 422},
		{"application/merge-patch+json", `{"spec":{"containers":[{"name":"app","image":""}]}}`, 422},
		{"application/merge-patch+json", `{"metadata":` + strings.Repeat(`{"a":`, 200) + `1` + strings.Repeat(`}`, 201), 400},
		{"application/xml", `<x/>`, 415},
	} {
		code, body := c.REST("PATCH", path, tc.ctype, strings.NewReader(tc.body))
		if code != tc.code || !json.Valid(body) {
			short := tc.body
			if len(short) > 80 {
				short = short[:80]
			}
			t.Errorf("PATCH %s %s: %d %s, want %d", tc.ctype, short, code, body, tc.code)
		}
	}
	// A body over the limit is a 413, or the connection is closed under a
	// client still writing it; either way nothing is applied.
	huge := `{"metadata":{"annotations":{"big":"` + strings.Repeat("x", 4<<20) + `"}}}`
	req, _ := http.NewRequest("PATCH", "http://podrund"+path, strings.NewReader(huge))
	req.Header.Set("Content-Type", "application/merge-patch+json")
	if resp, err := harness.UnixClient(c.Daemon.Socket).Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("huge patch: %s, want 413", resp.Status)
		}
	}
	if got := c.GetPod("kube"); got.UID != pod.UID || got.Status.Phase != corev1.PodRunning || got.Annotations["big"] != "" {
		t.Fatalf("the hostile patches changed the pod: uid %s phase %s", got.UID, got.Status.Phase)
	}

	// A malformed continue token is a 400, not a panic or a full list.
	if code, body := c.REST("GET", c.PodPath("")+"?limit=1&continue=not-a-token", "", nil); code != 400 ||
		!strings.Contains(string(body), "invalid continue token") {
		t.Fatalf("bad continue: %d %s", code, body)
	}
	// Dry-run DELETE leaves the pod running; a failed precondition too.
	if code, _ := c.REST("DELETE", path+"?dryRun=All", "", nil); code != 200 {
		t.Fatalf("dry-run delete: %d", code)
	}
	if code, body := c.REST("DELETE", path, "application/json",
		strings.NewReader(`{"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"uid":"someone-else"}}`)); code != 409 {
		t.Fatalf("delete with a wrong uid precondition: %d %s", code, body)
	}
	if got := c.GetPod("kube"); got.DeletionTimestamp != nil {
		t.Fatal("a dry-run or refused delete began the pod's deletion")
	}
	// kubectl delete --grace-period=0 sends DeleteOptions in the body.
	code, body = c.REST("DELETE", path, "application/json", strings.NewReader(
		`{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":0,"preconditions":{"uid":"`+string(pod.UID)+`"}}`))
	if code != 200 {
		t.Fatalf("delete: %d %s", code, body)
	}
	var deleted corev1.Pod
	_ = json.Unmarshal(body, &deleted)
	if deleted.DeletionGracePeriodSeconds == nil || *deleted.DeletionGracePeriodSeconds != 0 {
		t.Fatalf("the body's gracePeriodSeconds was ignored: %v", deleted.DeletionGracePeriodSeconds)
	}
	harness.Eventually(t, time.Minute, func() string {
		if code, _ := c.REST("GET", path, "", nil); code != 404 {
			return "pod still there"
		}
		return ""
	})
}

func TestKubeAPIWatchListAndSelectors(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	c.Apply(kubePod("first"))
	c.WaitFor("first", "Running", time.Minute, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })

	// client-go's watch-list (kubectl wait / delete --wait): the current
	// pods, then the initial-events-end bookmark.
	w := openWatch(t, c, c.PodPath("")+"?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true")
	if typ, p := w.next(); typ != "ADDED" || p.Name != "first" {
		t.Fatalf("initial event %s %s, want ADDED first", typ, p.Name)
	}
	typ, bm := w.next()
	if typ != "BOOKMARK" || bm.Annotations[metav1.InitialEventsAnnotationKey] != "true" || bm.ResourceVersion == "" {
		t.Fatalf("after the initial events: %s %+v", typ, bm.ObjectMeta)
	}
	w.cancel()

	// A watch from a list's resourceVersion sends only what came after:
	// no ADDED for "first", which is older.
	code, body := c.REST("GET", c.PodPath("")+"?labelSelector=app%3Dsecond", "", nil)
	var list corev1.PodList
	_ = json.Unmarshal(body, &list)
	if code != 200 || len(list.Items) != 0 || list.ResourceVersion == "" {
		t.Fatalf("list by label: %d %s", code, body)
	}
	w = openWatch(t, c, c.PodPath("")+"?watch=true&labelSelector=app%3Dsecond&resourceVersion="+list.ResourceVersion)
	second := strings.Replace(kubePod("second"), "metadata:\n", "metadata:\n  labels: {app: second}\n", 1)
	c.Apply(second)
	if typ, p := w.next(); typ != "ADDED" || p.Name != "second" {
		t.Fatalf("watch from %s: %s %s, want ADDED second first", list.ResourceVersion, typ, p.Name)
	}
	// Relabelling it away is a DELETED for this selector.
	code, body = c.REST("PATCH", c.PodPath("second"), "application/merge-patch+json",
		strings.NewReader(`{"metadata":{"labels":{"app":"moved"}}}`))
	if code != 200 {
		t.Fatalf("relabel: %d %s", code, body)
	}
	for {
		typ, p := w.next()
		if typ == "MODIFIED" {
			continue // status changes while it starts
		}
		if typ != "DELETED" || p.Name != "second" || p.Labels["app"] != "second" {
			t.Fatalf("after relabelling: %s %s %v, want DELETED second as it last matched", typ, p.Name, p.Labels)
		}
		break
	}
	// DELETE on the collection takes what the selector picks.
	code, body = c.REST("DELETE", c.PodPath("")+"?labelSelector=app%3Dmoved", "", nil)
	_ = json.Unmarshal(body, &list)
	if code != 200 || len(list.Items) != 1 || list.Items[0].Name != "second" || list.Items[0].DeletionTimestamp == nil {
		t.Fatalf("delete collection: %d %s", code, body)
	}
	if p := c.GetPod("first"); p.DeletionTimestamp != nil {
		t.Fatal("delete collection took a pod its selector did not pick")
	}
}

// kubectl apply --server-side: the first apply creates, another manager's
// different value is a conflict until forced, and managedFields say who
// owns what.
func TestKubeAPIServerSideApply(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	path := "/api/v1/namespaces/" + c.NS + "/configmaps/ssa"
	cfg := func(v string) *strings.Reader {
		return strings.NewReader("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  k: " + v + "\n")
	}
	if code, body := c.REST("PATCH", path+"?fieldManager=kubectl&fieldValidation=Strict", "application/apply-patch+yaml", cfg("one")); code != 201 {
		t.Fatalf("apply-create: %d %s", code, body)
	}
	code, body := c.REST("PATCH", path+"?fieldManager=other", "application/apply-patch+yaml", cfg("two"))
	if code != 409 || !strings.Contains(string(body), `Apply failed with 1 conflict: conflict with \"kubectl\": .data.k`) {
		t.Fatalf("conflicting apply: %d %s", code, body)
	}
	if code, body := c.REST("PATCH", path+"?fieldManager=kubectl", "application/apply-patch+yaml",
		strings.NewReader("{not yaml")); code != 400 {
		t.Fatalf("malformed apply: %d %s", code, body)
	}
	code, body = c.REST("PATCH", path+"?fieldManager=other&force=true", "application/apply-patch+yaml", cfg("two"))
	var cm corev1.ConfigMap
	_ = json.Unmarshal(body, &cm)
	if code != 200 || cm.Data["k"] != "two" || len(cm.ManagedFields) != 1 || cm.ManagedFields[0].Manager != "other" {
		t.Fatalf("forced apply: %d %s", code, body)
	}
}
