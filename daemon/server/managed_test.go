package server

import (
	"net/http"
	"strings"
	"testing"
)

// A pod a manifest file owns is changed by its file: a PUT or DELETE
// through the API is 409 naming the file, and goes through with
// ?force=true.
func TestManagedPodRefusesUnforcedWrites(t *testing.T) {
	ts := newTestServer(t, nil)
	owned := strings.Replace(goodPod, "  name: myapp\n",
		"  name: myapp\n  annotations: {podrun.io/manifest-file: /etc/podrun/manifests/app.yaml}\n", 1)
	ts.create(owned)
	changed := strings.Replace(owned, `"3600"`, `"60"`, 1)
	for _, tc := range []struct {
		method, query string
		body          string
		want          int
	}{
		{"PUT", "", changed, http.StatusConflict},
		{"DELETE", "", "", http.StatusConflict},
		{"PUT", "?force=false", changed, http.StatusConflict},
		{"PUT", "?force=true", changed, http.StatusOK},
		{"DELETE", "?force=true", "", http.StatusOK},
	} {
		code, data := ts.do(tc.method, podsPath+"/myapp"+tc.query, "application/yaml", []byte(tc.body))
		if code != tc.want {
			t.Fatalf("%s%s: %d %s, want %d", tc.method, tc.query, code, data, tc.want)
		}
		if code == http.StatusConflict {
			want := `pod "myapp" is managed by /etc/podrun/manifests/app.yaml; edit that file, or use --force`
			if st := ts.status(data); st.Message != want || st.Reason != "Conflict" {
				t.Fatalf("%s%s: status %q %s, want %q", tc.method, tc.query, st.Message, st.Reason, want)
			}
		}
	}
}
