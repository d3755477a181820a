package server

import (
	"strings"
	"testing"
)

const kyamlConfigMap = `# flow-style YAML (KYAML): no JSON, though it starts with "{"
{
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "kyaml", },
  data: { k: "v", },
}
`

// The body is decoded in the format its Content-Type names (docs/contract.md §3);
// a Content-Type podrund does not decode is a 415 in Status shape and
// creates nothing.
func TestBodyContentType(t *testing.T) {
	ts := newTestServer(t, nil)
	path := "/api/v1/namespaces/default/configmaps"
	cm := func(name string) string { return strings.Replace(kyamlConfigMap, `"kyaml"`, `"`+name+`"`, 1) }
	for _, tc := range []struct {
		contentType, body string
		code              int
		reason            string
	}{
		{"application/yaml", cm("as-yaml"), 201, ""},
		{"application/x-yaml", cm("as-x-yaml"), 201, ""},
		{"", cm("sniffed"), 201, ""},
		{"application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"as-json"}}`, 201, ""},
		{"application/json; charset=utf-8", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"as-json2"}}`, 201, ""},
		{"application/json", cm("yaml-said-json"), 400, "BadRequest"},
		{"text/plain", cm("text"), 415, "UnsupportedMediaType"},
		{"application/x-www-form-urlencoded", cm("form"), 415, "UnsupportedMediaType"},
		// Protobuf is decoded as such (client-go's typed clients send it):
		// YAML said to be protobuf is a malformed body.
		{"application/vnd.kubernetes.protobuf", cm("proto"), 400, "BadRequest"},
	} {
		code, body := ts.do("POST", path, tc.contentType, []byte(tc.body))
		if code != tc.code {
			t.Errorf("Content-Type %q: %d %s, want %d", tc.contentType, code, body, tc.code)
			continue
		}
		if tc.reason != "" {
			if st := ts.status(body); string(st.Reason) != tc.reason || st.Kind != "Status" {
				t.Errorf("Content-Type %q: status %+v, want reason %s", tc.contentType, st, tc.reason)
			}
		}
	}
	for _, name := range []string{"yaml-said-json", "text", "form", "proto"} {
		if code, _ := ts.do("GET", path+"/"+name, "", nil); code != 404 {
			t.Errorf("refused configmap %s exists: GET %d", name, code)
		}
	}
}
