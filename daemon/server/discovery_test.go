package server

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/podrun/podrun/daemon/kubeapi"
	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilversion "k8s.io/apimachinery/pkg/util/version"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/openapi3"
	"k8s.io/client-go/rest"
	"k8s.io/kube-openapi/pkg/spec3"
)

// restConfig reaches ts over its unix socket as client-go would.
func (ts *testServer) restConfig() *rest.Config {
	// The test client's transport dials the socket; reuse its dialer.
	tr := ts.client.Transport.(*http.Transport)
	return &rest.Config{Host: "http://podrund", Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return tr.DialContext(ctx, network, addr)
	}}
}

func (ts *testServer) discoveryClient() *discovery.DiscoveryClient {
	ts.t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(ts.restConfig())
	if err != nil {
		ts.t.Fatal(err)
	}
	return dc
}

func TestVersionIsTheAPIServersShape(t *testing.T) {
	ts := newTestServer(t, func(o *Options) { o.Version = "v0.9.1-3-gabc/dirty"; o.GitCommit = "abc" })
	info, err := ts.discoveryClient().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if info.Major != "1" || info.Minor != "37" || info.GitCommit != "abc" || info.Platform == "" || info.GoVersion == "" {
		t.Errorf("version = %+v", info)
	}
	// kubectl's version skew check parses gitVersion as semver.
	v, err := utilversion.ParseSemantic(info.GitVersion)
	if err != nil {
		t.Fatalf("gitVersion %q is not semver: %v", info.GitVersion, err)
	}
	if v.Major() != 1 || v.Minor() != 37 || v.PreRelease() != "" || !strings.Contains(info.GitVersion, "podrun") {
		t.Errorf("gitVersion %q: want release 1.37 naming podrun", info.GitVersion)
	}
	// podctl's fields are still there.
	_, data := ts.do("GET", "/version", "", nil)
	var raw map[string]any
	_ = json.Unmarshal(data, &raw)
	if raw["version"] != "v0.9.1-3-gabc/dirty" {
		t.Errorf("version field = %v", raw["version"])
	}
}

func TestDiscoveryListsWhatTheRoutesServe(t *testing.T) {
	ts := newTestServer(t, nil)
	for _, aggregated := range []bool{true, false} {
		dc := ts.discoveryClient()
		dc.UseLegacyDiscovery = !aggregated
		groups, lists, err := dc.ServerGroupsAndResources()
		if err != nil {
			t.Fatalf("aggregated=%v: %v", aggregated, err)
		}
		var names []string
		for _, g := range groups {
			names = append(names, g.Name+"/"+g.PreferredVersion.Version)
		}
		if strings.Join(names, ",") != "/v1,batch/v1" {
			t.Errorf("aggregated=%v: groups %v", aggregated, names)
		}
		got := map[string]metav1.APIResource{}
		for _, l := range lists {
			for _, r := range l.APIResources {
				got[l.GroupVersion+" "+r.Name] = r
			}
		}
		// At least these verbs, and beyond them only verbs other routes
		// may add (PATCH, DELETE on a collection, GET upgrades of exec).
		for key, want := range map[string]string{
			"v1 pods":       "create,delete,get,list,update,watch",
			"v1 pods/log":   "get",
			"v1 configmaps": "create,delete,get,list,update,watch",
			"v1 namespaces": "get,list",
			"batch/v1 jobs": "create,delete,get,list,update,watch",
			"v1 events":     "create,delete,get,list,update,watch",
			"v1 secrets":    "create,delete,get,list,update,watch",
			"v1 pods/exec":  "create",
		} {
			r, ok := got[key]
			if !ok {
				t.Errorf("aggregated=%v: %s is not listed", aggregated, key)
				continue
			}
			have := map[string]bool{}
			for _, v := range r.Verbs {
				have[v] = true
			}
			for _, v := range strings.Split(want, ",") {
				if !have[v] {
					t.Errorf("aggregated=%v: %s verbs %v lack %s", aggregated, key, r.Verbs, v)
				}
				delete(have, v)
			}
			for v := range have {
				if v != "patch" && v != "deletecollection" && v != "get" {
					t.Errorf("aggregated=%v: %s has verb %s", aggregated, key, v)
				}
			}
		}
		// podrun's own subresources are not Kubernetes': discovery leaves them out.
		for _, key := range []string{"v1 pods/blockers", "v1 pods/timeline", "v1 pods/stats"} {
			if _, ok := got[key]; ok {
				t.Errorf("aggregated=%v: %s is listed", aggregated, key)
			}
		}
		pods := got["v1 pods"]
		if pods.Kind != "Pod" || !pods.Namespaced || pods.SingularName != "pod" ||
			strings.Join(pods.ShortNames, ",") != "po" || strings.Join(pods.Categories, ",") != "all" {
			t.Errorf("aggregated=%v: pods = %+v", aggregated, pods)
		}
		if ns := got["v1 namespaces"]; ns.Namespaced || strings.Join(ns.ShortNames, ",") != "ns" {
			t.Errorf("aggregated=%v: namespaces = %+v", aggregated, ns)
		}
	}
}

func TestAggregatedDiscoveryContentType(t *testing.T) {
	ts := newTestServer(t, nil)
	for _, path := range []string{"/api", "/apis"} {
		req, _ := http.NewRequest("GET", "http://podrund"+path, nil)
		req.Header.Set("Accept", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;q=0.9")
		resp, err := ts.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var l apidiscoveryv2.APIGroupDiscoveryList
		err = json.NewDecoder(resp.Body).Decode(&l)
		resp.Body.Close()
		if err != nil || resp.Header.Get("Content-Type") != kubeapi.AggregatedContentType || len(l.Items) != 1 {
			t.Fatalf("%s: %v %q %+v", path, err, resp.Header.Get("Content-Type"), l)
		}
		// An unknown "as" falls back to the legacy document.
		req.Header.Set("Accept", "application/json;g=apidiscovery.k8s.io;v=v9;as=APIGroupDiscoveryList,application/json;q=0.9")
		resp, err = ts.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s with v9: Content-Type %q", path, resp.Header.Get("Content-Type"))
		}
	}
	if code, _ := ts.do("GET", "/apis/apps/v1", "", nil); code != 404 {
		t.Errorf("GET /apis/apps/v1 = %d, want 404", code)
	}
}

func TestNamespacesComeFromTheStoredObjects(t *testing.T) {
	ts := newTestServer(t, nil)
	if code, data := ts.do("POST", "/api/v1/namespaces/team/configmaps", "application/yaml",
		[]byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n")); code != 201 {
		t.Fatalf("create: %d %s", code, data)
	}
	code, data := ts.do("GET", "/api/v1/namespaces", "", nil)
	var l struct {
		Kind  string
		Items []struct {
			Metadata metav1.ObjectMeta
			Status   struct{ Phase string }
		}
	}
	if code != 200 || json.Unmarshal(data, &l) != nil || l.Kind != "NamespaceList" {
		t.Fatalf("list: %d %s", code, data)
	}
	var names []string
	for _, ns := range l.Items {
		names = append(names, ns.Metadata.Name+"="+ns.Status.Phase)
	}
	if strings.Join(names, ",") != "default=Active,team=Active" {
		t.Errorf("namespaces %v", names)
	}
	// Namespaces are derived, not stored: there is nothing to watch, and
	// discovery does not offer the verb.
	code, data = ts.do("GET", "/api/v1/namespaces?watch=true", "", nil)
	if st := ts.status(data); code != 405 || st.Reason != metav1.StatusReasonMethodNotAllowed {
		t.Errorf("watch namespaces: %d %s", code, data)
	}
	if code, _ := ts.do("GET", "/api/v1/namespaces/team", "", nil); code != 200 {
		t.Errorf("get team: %d", code)
	}
	code, data = ts.do("GET", "/api/v1/namespaces/nowhere", "", nil)
	if st := ts.status(data); code != 404 || st.Details == nil || st.Details.Kind != "namespaces" {
		t.Errorf("get nowhere: %d %s", code, data)
	}
}

func TestOpenAPIV2ServesSchemasAndPatchValidation(t *testing.T) {
	ts := newTestServer(t, nil)
	doc, err := ts.discoveryClient().OpenAPISchema()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range doc.GetDefinitions().GetAdditionalProperties() {
		if d.GetName() == "io.k8s.api.core.v1.Pod" {
			found = true
		}
	}
	if !found {
		t.Error("v2 has no io.k8s.api.core.v1.Pod")
	}
	var ops []string
	for _, p := range doc.GetPaths().GetPath() {
		if p.GetName() == "/api/v1/namespaces/{namespace}/pods" && p.GetValue().GetGet() != nil {
			ops = append(ops, p.GetValue().GetGet().GetOperationId())
		}
	}
	if strings.Join(ops, ",") != "listCoreV1NamespacedPod" {
		t.Errorf("pods collection operations %v", ops)
	}
}

func TestOpenAPIV3ExplainsAndAdvertisesFieldValidation(t *testing.T) {
	ts := newTestServer(t, nil)
	root := openapi3.NewRoot(ts.discoveryClient().OpenAPIV3())
	gvs, err := root.GroupVersions()
	if err != nil {
		t.Fatal(err)
	}
	if len(gvs) != 2 {
		t.Errorf("group versions %v", gvs)
	}
	doc, err := root.GVSpec(schema.GroupVersion{Version: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	pod := schemaFor(doc, "", "v1", "Pod")
	if pod == nil {
		t.Fatal("no schema tagged v1 Pod")
	}
	spec := doc.Components.Schemas["io.k8s.api.core.v1.PodSpec"]
	if spec == nil || spec.Properties["containers"].Items == nil {
		t.Fatalf("PodSpec.containers missing: %+v", spec)
	}
	if _, err := root.GVSpec(schema.GroupVersion{Group: "batch", Version: "v1"}); err != nil {
		t.Errorf("batch/v1: %v", err)
	}
	if _, err := root.GVSpec(schema.GroupVersion{Group: "apps", Version: "v1"}); err == nil {
		t.Error("apps/v1 has a document; podrund serves no apps")
	}
}

// schemaFor finds the schema tagged with a kind, as kubectl explain does.
func schemaFor(doc *spec3.OpenAPI, group, version, kind string) any {
	for _, s := range doc.Components.Schemas {
		list, _ := s.Extensions["x-kubernetes-group-version-kind"].([]any)
		for _, e := range list {
			m, _ := e.(map[string]any)
			if m["group"] == group && m["version"] == version && m["kind"] == kind {
				return s
			}
		}
	}
	return nil
}
