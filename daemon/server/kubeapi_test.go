package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/daemon/kubeapi"
	"github.com/podrun/podrun/daemon/objects"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

const cmsPath = "/api/v1/namespaces/default/configmaps"

func (ts *testServer) createCM(name, labels string) *corev1.ConfigMap {
	ts.t.Helper()
	body := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"` + name + `","labels":{` + labels + `}},"data":{"k":"v"}}`
	code, data := ts.do("POST", cmsPath, "application/json", []byte(body))
	if code != http.StatusCreated {
		ts.t.Fatalf("create %s: %d %s", name, code, data)
	}
	var cm corev1.ConfigMap
	_ = json.Unmarshal(data, &cm)
	return &cm
}

// TestWatchListEndsInitialEventsWithABookmark is what client-go's
// watch-list (kubectl wait, kubectl delete --wait) waits for: the current
// objects as ADDED, then a BOOKMARK annotated k8s.io/initial-events-end
// at the list's resourceVersion, then only later changes.
func TestWatchListEndsInitialEventsWithABookmark(t *testing.T) {
	ts := newTestServerObjects(t, nil, func(o *objects.Options) { o.BookmarkInterval = 20 * time.Millisecond })
	ts.createCM("a", "")
	last := ts.createCM("b", "")
	next, stop := ts.watch(cmsPath + "?timeoutSeconds=10&watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true")
	defer stop()
	for _, want := range []string{"a", "b"} {
		if typ, obj := next(); typ != "ADDED" || obj.Name != want {
			t.Fatalf("initial event %s %s, want ADDED %s", typ, obj.Name, want)
		}
	}
	typ, obj := next()
	if typ != "BOOKMARK" || obj.Annotations[metav1.InitialEventsAnnotationKey] != "true" ||
		obj.ResourceVersion != last.ResourceVersion || obj.Kind != "ConfigMap" || obj.Name != "" {
		t.Fatalf("after the initial events: %s %+v, want the initial-events-end BOOKMARK at %s", typ, obj.ObjectMeta, last.ResourceVersion)
	}
	c := ts.createCM("c", "")
	typ, obj = next()
	for typ == "BOOKMARK" && obj.ResourceVersion == last.ResourceVersion {
		typ, obj = next()
	}
	if typ != "ADDED" || obj.Name != "c" {
		t.Fatalf("live event %s %s, want ADDED c", typ, obj.Name)
	}
	// Periodic bookmarks carry the newest version and nothing else.
	if typ, obj := next(); typ != "BOOKMARK" || obj.ResourceVersion != c.ResourceVersion || len(obj.Annotations) != 0 {
		t.Fatalf("then %s %+v, want a BOOKMARK at %s", typ, obj.ObjectMeta, c.ResourceVersion)
	}
}

func TestWatchFromVersionOverHTTP(t *testing.T) {
	ts := newTestServerObjects(t, nil, func(o *objects.Options) { o.WatchHistory = 2 })
	first := ts.createCM("a", "")
	second := ts.createCM("b", "")
	next, stop := ts.watch(cmsPath + "?timeoutSeconds=10&watch=true&resourceVersion=" + first.ResourceVersion)
	if typ, obj := next(); typ != "ADDED" || obj.Name != "b" || obj.ResourceVersion != second.ResourceVersion {
		t.Fatalf("watch from %s: %s %s, want only the later ADDED b", first.ResourceVersion, typ, obj.Name)
	}
	stop()
	ts.createCM("c", "")
	ts.createCM("d", "")
	// a's version is older than the history: one ERROR event, 410 Expired.
	next, stop = ts.watch(cmsPath + "?timeoutSeconds=10&watch=true&resourceVersion=" + first.ResourceVersion)
	defer stop()
	typ, obj := next()
	if typ != "ERROR" || obj.Kind != "Status" {
		t.Fatalf("too old: %s %s, want an ERROR Status", typ, obj.Kind)
	}
}

func TestPatchTypesOnConfigMaps(t *testing.T) {
	ts := newTestServer(t, nil)
	cm := ts.createCM("p", `"app":"web"`)
	for _, tc := range []struct {
		ctype, body string
		code        int
		want        string // in the answer
	}{
		{"application/merge-patch+json", `{"data":{"m":"1"}}`, 200, `"m":"1"`},
		{"application/strategic-merge-patch+json", `{"metadata":{"labels":{"tier":"x"}}}`, 200, `"tier":"x"`},
		{"application/json-patch+json", `[{"op":"add","path":"/data/j","value":"2"}]`, 200, `"j":"2"`},
		{"application/json-patch+json", `[{"op":"test","path":"/data/k","value":"nope"}]`, 422, "testing value /data/k failed"},
		{"application/json-patch+json", `{"op":"add"}`, 400, "BadRequest"},
		{"application/json-patch+json", `[{"op":"replace","path":"/metadata/name","value":"q"}]`, 400, "does not match the name on the URL"},
		{"application/json-patch+json", `[{"op":"replace","path":"/metadata/uid","value":"x"}]`, 422, "metadata.uid"},
		{"application/merge-patch+json", `{"metadata":{"resourceVersion":"1"}}`, 409, "the object has been modified"},
		{"application/merge-patch+json", `{"data":{"k":5}}`, 400, "BadRequest"},
		{"text/plain", `{}`, 415, "unknown format"},
	} {
		code, data := ts.do("PATCH", cmsPath+"/p", tc.ctype, []byte(tc.body))
		if code != tc.code || !strings.Contains(string(data), tc.want) {
			t.Errorf("%s %s: %d %s, want %d with %q", tc.ctype, tc.body, code, data, tc.code, tc.want)
		}
	}
	var got corev1.ConfigMap
	ts.getJSON(cmsPath+"/p", &got)
	if got.Data["m"] != "1" || got.Data["j"] != "2" || got.Labels["tier"] != "x" || got.Labels["app"] != "web" || got.UID != cm.UID {
		t.Fatalf("after the patches: %+v", got.ObjectMeta)
	}
}

func TestDryRunStoresNothing(t *testing.T) {
	ts := newTestServer(t, nil)
	cm := ts.createCM("d", "")
	body := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"new"},"data":{"k":"v"}}`
	if code, data := ts.do("POST", cmsPath+"?dryRun=All", "application/json", []byte(body)); code != 201 || !strings.Contains(string(data), `"uid"`) {
		t.Fatalf("dry-run create: %d %s", code, data)
	}
	if code, _ := ts.do("GET", cmsPath+"/new", "", nil); code != 404 {
		t.Fatalf("a dry-run create stored the object: GET %d", code)
	}
	if code, data := ts.do("PATCH", cmsPath+"/d?dryRun=All", "application/merge-patch+json", []byte(`{"data":{"k":"changed"}}`)); code != 200 ||
		!strings.Contains(string(data), "changed") {
		t.Fatalf("dry-run patch: %d %s", code, data)
	}
	if code, _ := ts.do("DELETE", cmsPath+"/d?dryRun=All", "", nil); code != 200 {
		t.Fatalf("dry-run delete: %d", code)
	}
	var got corev1.ConfigMap
	ts.getJSON(cmsPath+"/d", &got)
	if got.Data["k"] != "v" || got.ResourceVersion != cm.ResourceVersion {
		t.Fatalf("a dry run changed the object: %+v", got)
	}
	code, data := ts.do("POST", cmsPath+"?dryRun=Maybe", "application/json", []byte(body))
	if st := ts.status(data); code != 422 || !strings.Contains(st.Message, `Unsupported value: ["Maybe"]`) {
		t.Fatalf("bad dryRun: %d %s", code, data)
	}
}

func TestDeleteOptionsAndCollections(t *testing.T) {
	ts := newTestServer(t, nil)
	cm := ts.createCM("x", `"t":"1"`)
	ts.createCM("y", `"t":"1"`)
	ts.createCM("z", `"t":"2"`)
	for body, want := range map[string]string{
		`{"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"uid":"wrong"}}`:           "Precondition failed: UID in precondition: wrong",
		`{"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"resourceVersion":"999"}}`: "Precondition failed: ResourceVersion in precondition: 999",
	} {
		if code, data := ts.do("DELETE", cmsPath+"/x", "application/json", []byte(body)); code != 409 || !strings.Contains(string(data), want) {
			t.Errorf("delete with %s: %d %s", body, code, data)
		}
	}
	// client-go's typed clients send the options in protobuf.
	wrong := types.UID("wrong")
	pb, err := kubeapi.EncodeProtobuf(&metav1.DeleteOptions{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "DeleteOptions"},
		Preconditions: &metav1.Preconditions{UID: &wrong}})
	if err != nil {
		t.Fatal(err)
	}
	if code, data := ts.do("DELETE", cmsPath+"/x", "application/vnd.kubernetes.protobuf", pb); code != 409 ||
		!strings.Contains(string(data), "UID in precondition: wrong") {
		t.Errorf("delete with protobuf options: %d %s", code, data)
	}
	ok := `{"preconditions":{"uid":"` + string(cm.UID) + `"}}`
	if code, data := ts.do("DELETE", cmsPath+"/x", "application/json", []byte(ok)); code != 200 {
		t.Fatalf("delete with the right uid: %d %s", code, data)
	}
	code, data := ts.do("DELETE", cmsPath+"?labelSelector=t%3D1", "", nil)
	var gone corev1.ConfigMapList
	_ = json.Unmarshal(data, &gone)
	if code != 200 || len(gone.Items) != 1 || gone.Items[0].Name != "y" {
		t.Fatalf("delete collection t=1: %d %s", code, data)
	}
	var left corev1.ConfigMapList
	ts.getJSON(cmsPath, &left)
	if len(left.Items) != 1 || left.Items[0].Name != "z" {
		t.Fatalf("left %+v", left.Items)
	}
}

func TestStatusSubresource(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.create(goodPod)
	ts.createCM("s", "")
	for path, want := range map[string]int{podsPath + "/myapp/status": 200, cmsPath + "/s/status": 404} {
		if code, data := ts.do("GET", path, "", nil); code != want {
			t.Errorf("GET %s: %d %s, want %d", path, code, data, want)
		}
	}
}
