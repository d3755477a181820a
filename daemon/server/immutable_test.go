package server

import (
	"strings"
	"testing"
)

// A PUT that changes an immutable ConfigMap's data or a Secret's type is
// refused naming the field, as by the API server, and the stored object
// stays.
func TestImmutableConfigUpdateRefused(t *testing.T) {
	ts := newTestServer(t, nil)
	for _, tc := range []struct{ path, create, update, field string }{
		{"/api/v1/namespaces/default/configmaps",
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nimmutable: true\ndata: {k: v}\n",
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nimmutable: true\ndata: {k: changed}\n", "data"},
		{"/api/v1/namespaces/default/secrets",
			"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: Opaque\nstringData: {k: v}\n",
			"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: example.com/other\nstringData: {k: v}\n", "type"},
	} {
		if code, body := ts.do("POST", tc.path, "application/yaml", []byte(tc.create)); code != 201 {
			t.Fatalf("create: %d %s", code, body)
		}
		name := map[bool]string{true: "/c", false: "/s"}[strings.HasSuffix(tc.path, "configmaps")]
		code, body := ts.do("PUT", tc.path+name, "application/yaml", []byte(tc.update))
		st := ts.status(body)
		if code != 422 || st.Details == nil || len(st.Details.Causes) != 1 || st.Details.Causes[0].Field != tc.field {
			t.Fatalf("PUT: %d %s, want 422 naming %s", code, body, tc.field)
		}
		if code, body := ts.do("GET", tc.path+name, "", nil); code != 200 || strings.Contains(string(body), "changed") ||
			strings.Contains(string(body), "example.com/other") {
			t.Fatalf("after the refused PUT: %d %s", code, body)
		}
	}
}
