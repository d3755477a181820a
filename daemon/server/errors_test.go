package server

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

const goodPod = `apiVersion: v1
kind: Pod
metadata:
  name: myapp
spec:
  containers:
  - name: app
    image: busybox:1.28
    command: ["sleep", "3600"]
`

// Every kind of bad input gets the right Status code,
// reason and field causes, and changes nothing.
func TestBadInputStatuses(t *testing.T) {
	ts := newTestServer(t, nil)
	podsPath := "/api/v1/namespaces/default/pods"
	cases := []struct {
		name       string
		method     string
		path       string
		body       []byte
		code       int
		reason     string
		causeField string
	}{
		{"unknown field", "POST", podsPath + "?fieldValidation=Strict", []byte(strings.Replace(goodPod, "    command:", "    comand:", 1)),
			400, "BadRequest", ""},
		{"missing image", "POST", podsPath, []byte(strings.Replace(goodPod, "    image: busybox:1.28\n", "", 1)),
			422, "Invalid", "spec.containers[0].image"},
		{"duplicate container names", "POST", podsPath, []byte(goodPod + "  - name: app\n    image: busybox:1.28\n"),
			422, "Invalid", "spec.containers[1].name"},
		{"invalid name", "POST", podsPath, []byte(strings.Replace(goodPod, "name: myapp", "name: My_App", 1)),
			422, "Invalid", "metadata.name"},
		{"probe on plain init container", "POST", podsPath, []byte(goodPod[:strings.Index(goodPod, "  containers:")] +
			"  initContainers:\n  - name: init\n    image: busybox:1.28\n    livenessProbe:\n      exec:\n        command: [\"true\"]\n" +
			goodPod[strings.Index(goodPod, "  containers:"):]),
			422, "Invalid", "spec.initContainers[0].livenessProbe"},
		{"body over 3 MiB", "POST", podsPath, append([]byte(goodPod+"# "), bytes.Repeat([]byte("x"), MaxBodyBytes)...),
			413, "RequestEntityTooLarge", ""},
		{"not YAML", "POST", podsPath, []byte("\x00\x01\x02 {{{ :: ]]"), 400, "BadRequest", ""},
		{"unknown path", "GET", "/api/v1/namespaces/default/widgets", nil, 404, "NotFound", ""},
		{"method not allowed", "POST", podsPath + "/myapp", []byte("{}"), 405, "MethodNotAllowed", ""},
		{"patch of an unknown type", "PATCH", podsPath + "/myapp", []byte("{}"), 415, "UnsupportedMediaType", ""},
		{"get missing pod", "GET", podsPath + "/nope", nil, 404, "NotFound", ""},
		{"wrong kind", "POST", podsPath, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"), 400, "BadRequest", ""},
		{"namespace mismatch", "POST", podsPath, []byte(strings.Replace(goodPod, "  name: myapp", "  name: myapp\n  namespace: other", 1)),
			400, "BadRequest", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := ts.do(tc.method, tc.path, "application/yaml", tc.body)
			if code != tc.code {
				t.Fatalf("code %d, want %d: %s", code, tc.code, body)
			}
			st := ts.status(body)
			if string(st.Reason) != tc.reason || int(st.Code) != tc.code || st.Message == "" {
				t.Fatalf("status %+v, want reason %s", st, tc.reason)
			}
			if tc.causeField != "" {
				found := false
				for _, c := range st.Details.Causes {
					found = found || c.Field == tc.causeField
				}
				if !found {
					t.Fatalf("causes %+v lack field %s", st.Details.Causes, tc.causeField)
				}
			}
		})
	}
	// Nothing was stored or started.
	if code, body := ts.do("GET", podsPath, "", nil); code != 200 || strings.Contains(string(body), "myapp") {
		t.Fatalf("a bad request left a pod behind: %d %s", code, body)
	}
	if calls := ts.engine.Calls(); len(calls) != 0 {
		t.Fatalf("engine was called: %v", calls)
	}
}

func TestAlreadyExists(t *testing.T) {
	ts := newTestServer(t, nil)
	path := "/api/v1/namespaces/default/pods"
	if code, body := ts.do("POST", path, "application/yaml", []byte(goodPod)); code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	code, body := ts.do("POST", path, "application/yaml", []byte(goodPod))
	if code != 409 || ts.status(body).Reason != "AlreadyExists" {
		t.Fatalf("second create: %d %s", code, body)
	}
}

func TestReadyz(t *testing.T) {
	note := "oom_score_adj: clamped to at least 0, podrund's own (no CAP_SYS_RESOURCE)"
	ts := newTestServer(t, func(o *Options) { o.ReadyzNotes = []string{note} })
	if code, body := ts.do("GET", "/readyz", "", nil); code != 200 || string(body) != "ok\n" {
		t.Fatalf("readyz = %d %q", code, body)
	}
	if code, body := ts.do("GET", "/readyz?verbose", "", nil); code != 200 || !strings.Contains(string(body), "[i]"+note+"\n") ||
		!strings.HasSuffix(string(body), "readyz check passed\n") {
		t.Fatalf("readyz?verbose = %d %q", code, body)
	}
	ts.images.mu.Lock()
	ts.images.readyErr = errString("connection refused")
	ts.images.mu.Unlock()
	code, body := ts.do("GET", "/readyz", "", nil)
	if code != 503 || !strings.Contains(ts.status(body).Message, "containerd is unreachable") {
		t.Fatalf("readyz with containerd down: %d %s", code, body)
	}
	ts.srv.SetReady(false)
	ts.images.mu.Lock()
	ts.images.readyErr = nil
	ts.images.mu.Unlock()
	if code, body := ts.do("GET", "/readyz", "", nil); code != 503 || !strings.Contains(string(body), "re-adopting") {
		t.Fatalf("readyz before adoption: %d %s", code, body)
	}
	if code, _ := ts.do("GET", "/healthz", "", nil); code != 200 {
		t.Fatalf("healthz = %d", code)
	}
}

type errString string

func (e errString) Error() string { return string(e) }
