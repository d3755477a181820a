package kubeapi

import (
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
	utilversion "k8s.io/apimachinery/pkg/util/version"
)

func TestServedFromRoutes(t *testing.T) {
	served := ServedFromRoutes([][2]string{
		{"GET", "/api/v1/namespaces/{ns}/pods/"},
		{"POST", "/api/v1/namespaces/{ns}/pods/"},
		{"DELETE", "/api/v1/namespaces/{ns}/pods/"},
		{"GET", "/api/v1/pods"},
		{"GET", "/api/v1/namespaces/{ns}/pods/{name}"},
		{"PATCH", "/api/v1/namespaces/{namespace}/pods/{name}"},
		{"GET", "/api/v1/namespaces/{ns}/pods/{name}/log"},
		{"GET", "/api/v1/namespaces/{ns}/pods/{name}/exec"},
		{"POST", "/api/v1/namespaces/{ns}/pods/{name}/exec"},
		{"GET", "/api/v1/namespaces/{ns}/pods/{name}/timeline"}, // podrun's own
		{"GET", "/api/v1/namespaces"},
		{"GET", "/api/v1/namespaces/{ns}"},
		{"PUT", "/apis/batch/v1/namespaces/{ns}/jobs/{name}/status"},
		{"GET", "/apis/apps/v1/namespaces/{ns}/deployments"}, // not a Kind
		{"GET", "/images"},
	})
	for key, want := range map[string]string{
		"/v1/pods":             "create,deletecollection,list,watch,get,patch",
		"/v1/pods/log":         "get",
		"/v1/pods/exec":        "create,get",
		"/v1/pods/timeline":    "",
		"/v1/namespaces":       "get,list",
		"batch/v1/jobs":        "",
		"batch/v1/jobs/status": "update",
		"apps/v1/deployments":  "",
	} {
		wantSorted := strings.Split(want, ",")
		if want == "" {
			wantSorted = nil
		}
		got := served[key]
		if strings.Join(got, ",") != strings.Join(sortedCopy(wantSorted), ",") {
			t.Errorf("%s: %v, want %v", key, got, sortedCopy(wantSorted))
		}
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func TestNegotiate(t *testing.T) {
	table := func(t Target) bool { return t.IsTable() }
	for _, tc := range []struct {
		accept string
		want   Target
	}{
		{"", Target{Media: MediaJSON}},
		{"*/*", Target{Media: MediaJSON}},
		{"application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json",
			Target{Media: MediaJSON, As: "Table", Group: "meta.k8s.io", Version: "v1"}},
		{"application/json;as=Foo;v=v1;g=meta.k8s.io,application/json", Target{Media: MediaJSON}},
		{"application/vnd.kubernetes.protobuf, application/json", Target{Media: MediaProtobuf}},
		{"application/vnd.kubernetes.protobuf;q=0.5, application/json", Target{Media: MediaJSON}},
		{"text/html, application/yaml", Target{Media: MediaYAML}},
		{"application/json;q=0", Target{Media: MediaJSON}},
	} {
		if got := Negotiate(tc.accept, table); got != tc.want {
			t.Errorf("Negotiate(%q) = %+v, want %+v", tc.accept, got, tc.want)
		}
	}
}

func TestVersionInfoIsSemverRelease(t *testing.T) {
	for _, v := range []string{"", "dev", "v0.4.1", "v0.4.1-5-gabcdef", "weird version/with..dots+plus"} {
		info := VersionInfo(v, "c0ffee")
		sv, err := utilversion.ParseSemantic(info.GitVersion)
		if err != nil {
			t.Errorf("%q: gitVersion %q: %v", v, info.GitVersion, err)
			continue
		}
		if sv.String() != strings.TrimPrefix(info.GitVersion, "v") || sv.Major() != 1 || sv.Minor() != 37 ||
			sv.PreRelease() != "" || info.Major != "1" || info.Minor != "37" {
			t.Errorf("%q: %+v parsed as %v", v, info, sv)
		}
	}
}

func TestDiscoveryOfServedKinds(t *testing.T) {
	d := NewDiscovery(Served{
		"/v1/pods":             {"get", "list"},
		"/v1/pods/log":         {"get"},
		"batch/v1/jobs":        {"create", "get"},
		"batch/v1/jobs/status": {"get"},
	})
	if v := d.APIVersions(); strings.Join(v.Versions, ",") != "v1" {
		t.Errorf("versions %v", v.Versions)
	}
	g := d.APIGroupList()
	if len(g.Groups) != 1 || g.Groups[0].Name != "batch" || g.Groups[0].PreferredVersion.GroupVersion != "batch/v1" {
		t.Errorf("groups %+v", g.Groups)
	}
	if d.APIResourceList(schema.GroupVersion{Group: "apps", Version: "v1"}) != nil {
		t.Error("apps/v1 listed")
	}
	l := d.APIResourceList(schema.GroupVersion{Version: "v1"})
	if len(l.APIResources) != 2 || l.APIResources[1].Name != "pods/log" || l.APIResources[1].Kind != "Pod" {
		t.Errorf("v1 resources %+v", l.APIResources)
	}
	agg := d.Aggregated(false)
	if len(agg.Items) != 1 || agg.Items[0].Name != "batch" {
		t.Fatalf("aggregated %+v", agg.Items)
	}
	jobs := agg.Items[0].Versions[0].Resources[0]
	if jobs.Resource != "jobs" || jobs.ResponseKind.Kind != "Job" || len(jobs.Subresources) != 1 ||
		jobs.Subresources[0].Subresource != "status" || string(jobs.Scope) != "Namespaced" {
		t.Errorf("aggregated jobs %+v", jobs)
	}
	res := d.OpenAPIResources()
	if len(res) != 2 || res[0].GVK.Kind != "Pod" || len(res[0].Subresources) != 1 {
		t.Errorf("openapi resources %+v", res)
	}
}
