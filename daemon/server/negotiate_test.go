package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/podrun/podrun/daemon/kubeapi"
	"github.com/podrun/podrun/daemon/openapi"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
)

// kubectlTableAccept is what kubectl get sends.
const kubectlTableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"

func (ts *testServer) getAccept(path, accept string) (*http.Response, []byte) {
	ts.t.Helper()
	req, _ := http.NewRequest("GET", "http://podrund"+path, nil)
	req.Header.Set("Accept", accept)
	return ts.send(req)
}

func TestTablesForKubectlGet(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.create(goodPod)
	for _, tc := range []struct {
		path, include, rowKind string
	}{
		{podsPath, "", "PartialObjectMetadata"},
		{podsPath + "?includeObject=Object", "", "Pod"},
		{podsPath + "/myapp", "", "PartialObjectMetadata"},
		{"/api/v1/pods?includeObject=None", "", ""},
	} {
		resp, data := ts.getAccept(tc.path, kubectlTableAccept)
		var table metav1.Table
		if resp.StatusCode != 200 || json.Unmarshal(data, &table) != nil || table.Kind != "Table" {
			t.Fatalf("%s: %d %s", tc.path, resp.StatusCode, data)
		}
		var names []string
		for _, c := range table.ColumnDefinitions {
			names = append(names, c.Name)
			if c.Name == "IP" && c.Priority != 1 {
				t.Errorf("IP priority %d, want 1 (-o wide)", c.Priority)
			}
		}
		if strings.Join(names, ",") != "Name,Ready,Status,Restarts,Age,IP,Node,Nominated Node,Readiness Gates,Source" {
			t.Errorf("%s: columns %v", tc.path, names)
		}
		if len(table.Rows) != 1 || table.Rows[0].Cells[0] != "myapp" || table.ResourceVersion == "" {
			t.Fatalf("%s: rows %+v rv %q", tc.path, table.Rows, table.ResourceVersion)
		}
		var obj struct{ Kind string }
		if raw := table.Rows[0].Object.Raw; tc.rowKind == "" {
			if len(raw) != 0 && string(raw) != "null" {
				t.Errorf("%s: row object %s, want none", tc.path, raw)
			}
		} else if json.Unmarshal(raw, &obj) != nil || obj.Kind != tc.rowKind {
			t.Errorf("%s: row object %s, want a %s", tc.path, raw, tc.rowKind)
		}
	}
	// No table transform asked for, or one podrund cannot make: the objects.
	for _, accept := range []string{"", "application/json;as=Foo;v=v1;g=meta.k8s.io,application/json"} {
		resp, data := ts.getAccept(podsPath, accept)
		var l struct{ Kind string }
		if json.Unmarshal(data, &l) != nil || l.Kind != "PodList" || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("Accept %q: %s", accept, data)
		}
	}
	resp, data := ts.getAccept(podsPath+"?includeObject=Everything", kubectlTableAccept)
	if st := ts.status(data); resp.StatusCode != 400 || !strings.Contains(st.Message, "includeObject") {
		t.Errorf("bad includeObject: %d %s", resp.StatusCode, data)
	}
}

func TestTableWatchSendsColumnsOnce(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.create(goodPod)
	ts.create(strings.Replace(goodPod, "name: myapp", "name: other", 1))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://podrund"+podsPath+"?watch=true", nil)
	req.Header.Set("Accept", kubectlTableAccept)
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for i := 0; i < 2; i++ {
		var ev struct {
			Type   string
			Object metav1.Table
		}
		if err := dec.Decode(&ev); err != nil {
			t.Fatal(err)
		}
		if ev.Object.Kind != "Table" || len(ev.Object.Rows) != 1 {
			t.Fatalf("event %d: %+v", i, ev)
		}
		if hasColumns := len(ev.Object.ColumnDefinitions) > 0; hasColumns != (i == 0) {
			t.Errorf("event %d: columns %v", i, ev.Object.ColumnDefinitions)
		}
	}
}

// coreClient is client-go's REST client for core v1 over ts's socket,
// sending and asking for contentType as the typed clients do.
func (ts *testServer) coreClient(contentType string, warn rest.WarningHandler) *rest.RESTClient {
	ts.t.Helper()
	cfg := ts.restConfig()
	cfg.WarningHandler = warn
	cfg.APIPath = "/api"
	cfg.GroupVersion = &corev1.SchemeGroupVersion
	cfg.NegotiatedSerializer = serializer.NewCodecFactory(openapi.Scheme).WithoutConversion()
	cfg.ContentType = contentType
	cfg.AcceptContentTypes = contentType + ", application/json"
	c, err := rest.RESTClientFor(cfg)
	if err != nil {
		ts.t.Fatal(err)
	}
	return c
}

func TestProtobufBodiesAndAnswers(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.coreClient(kubeapi.MediaProtobuf, nil)
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "pb"}, Data: map[string]string{"k": "v"}}
	created := &corev1.ConfigMap{}
	res := c.Post().Namespace("default").Resource("configmaps").Body(cm).Do(ctx)
	var ct string
	res.ContentType(&ct)
	if err := res.Into(created); err != nil {
		t.Fatalf("create over protobuf: %v", err)
	}
	if created.UID == "" || created.Data["k"] != "v" || ct != kubeapi.MediaProtobuf {
		t.Errorf("created %+v answered in %q", created, ct)
	}
	list := &corev1.ConfigMapList{}
	if err := c.Get().Namespace("default").Resource("configmaps").Do(ctx).Into(list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != "pb" {
		t.Errorf("list %+v", list.Items)
	}
	// A watch answers JSON, which the protobuf-asking client decodes by
	// the answer's Content-Type.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := c.Get().Namespace("default").Resource("configmaps").Param("watch", "true").Watch(wctx)
	if err != nil {
		t.Fatal(err)
	}
	ev := <-w.ResultChan()
	if got, ok := ev.Object.(*corev1.ConfigMap); !ok || ev.Type != "ADDED" || got.Name != "pb" {
		t.Errorf("watch event %v %#v", ev.Type, ev.Object)
	}
	w.Stop()
	// The protobuf body goes through the same validation as JSON.
	bad := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "Not_A_Name"}}
	err = c.Post().Namespace("default").Resource("configmaps").Body(bad).Do(ctx).Error()
	if err == nil || !strings.Contains(err.Error(), "metadata.name") {
		t.Errorf("invalid name over protobuf: %v", err)
	}
	// Garbage after the protobuf magic is a 400, not a panic.
	for _, body := range []string{"k8s\x00", "k8s\x00\x0a\xff\xff\xff\xff\x0f", "k8s\x00\x12\x05hello", "not protobuf"} {
		code, data := ts.do("POST", "/api/v1/namespaces/default/configmaps", kubeapi.MediaProtobuf, []byte(body))
		if st := ts.status(data); code != 400 || st.Reason != metav1.StatusReasonBadRequest {
			t.Errorf("body %q: %d %s", body, code, data)
		}
	}
}

// warnings records the Warning headers client-go hands its handler.
type warnings []string

func (w *warnings) HandleWarningHeader(code int, agent, text string) {
	*w = append(*w, fmt.Sprintf("%d %s %s", code, agent, text))
}

// A pod podrun runs differently from the kubelet is admitted with a
// Warning header that client-go parses as the API server's, and an error
// comes back as a Status client-go's errors package understands, whatever
// encoding the request asked for.
func TestWarningsAndStatusReachClientGo(t *testing.T) {
	ts := newTestServer(t, nil)
	var got warnings
	c := ts.coreClient(kubeapi.MediaProtobuf, &got)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "stdin"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "app", Image: "busybox:1.28", Stdin: true}}}}
	if err := c.Post().Namespace("default").Resource("pods").Body(pod).Do(context.Background()).Error(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !strings.HasPrefix(got[0], "299 - spec.containers[0].stdin: without tty") {
		t.Errorf("warnings %q", got)
	}
	err := c.Get().Namespace("default").Resource("pods").Name("missing").Do(context.Background()).Error()
	var st apierrors.APIStatus
	if !apierrors.IsNotFound(err) || !errors.As(err, &st) || st.Status().Details.Name != "missing" ||
		st.Status().Details.Kind != "pods" || st.Status().Code != 404 {
		t.Errorf("not found: %#v", err)
	}
}

// client-go's metadata client (garbage collectors, metadata informers)
// reads objects as their metadata alone.
func TestMetadataClientReadsPartialObjects(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.create(goodPod)
	mc, err := metadata.NewForConfig(ts.restConfig())
	if err != nil {
		t.Fatal(err)
	}
	pods := mc.Resource(corev1.SchemeGroupVersion.WithResource("pods")).Namespace("default")
	ctx := context.Background()
	list, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != "myapp" || list.Items[0].UID == "" || list.ResourceVersion == "" {
		t.Errorf("list %+v", list)
	}
	one, err := pods.Get(ctx, "myapp", metav1.GetOptions{})
	// The metadata client refuses any answer but a PartialObjectMetadata.
	if err != nil || one.Name != "myapp" {
		t.Errorf("get %+v: %v", one, err)
	}
	w, err := pods.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ev := <-w.ResultChan()
	if p, ok := ev.Object.(*metav1.PartialObjectMetadata); !ok || p.Name != "myapp" {
		t.Errorf("watch event %#v", ev.Object)
	}
}
