package integration

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podrun/podrun/integration/harness"
)

// TestBadInput: each bad request gets the right Status (code, reason, field
// causes) over REST, podctl prints the message and exits 1, and nothing is
// stored (docs/semantics.md §A).
func TestBadInput(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	big := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  k: \"" + strings.Repeat("x", 3<<20+10) + "\"\n"
	cases := []struct {
		name, method, path, ctype, body string
		code                            int
		reason                          metav1.StatusReason
		causes                          []string // field paths that must be among details.causes
		msg                             string   // substring of message (and of podctl's stderr)
		podctl                          bool     // also run `podctl apply -f` with body
	}{
		// Strict as kubectl sends it (the API server's default, Warn, creates the pod
		// with a Warning); podctl decodes strictly itself.
		{name: "unknown field", path: c.PodPath("") + "?fieldValidation=Strict", body: strings.Replace(goodPod, "command:", "comand:", 1),
			code: 400, reason: metav1.StatusReasonBadRequest, msg: `strict decoding error: unknown field "spec.containers[0].comand"`, podctl: true},
		{name: "missing image", body: strings.Replace(goodPod, "    image: busybox:1.28\n", "", 1),
			code: 422, reason: metav1.StatusReasonInvalid, causes: []string{"spec.containers[0].image"}, msg: "image", podctl: true},
		{name: "duplicate container names", body: goodPod + "  - name: app\n    image: busybox:1.28\n",
			code: 422, reason: metav1.StatusReasonInvalid, causes: []string{"spec.containers[1].name"}, msg: "Duplicate", podctl: true},
		{name: "duplicate across init and regular", body: goodPod + "  initContainers:\n  - name: app\n    image: busybox:1.28\n",
			code: 422, reason: metav1.StatusReasonInvalid, causes: []string{"spec.containers[0].name"}, msg: "Duplicate", podctl: true},
		{name: "invalid name", body: strings.Replace(goodPod, "name: good", "name: Bad_Name", 1),
			code: 422, reason: metav1.StatusReasonInvalid, causes: []string{"metadata.name"}, msg: "Bad_Name", podctl: true},
		{name: "probe on plain init container (R3)", body: goodPod + "  initContainers:\n  - name: init\n    image: busybox:1.28\n    livenessProbe:\n      exec:\n        command: [\"true\"]\n",
			code: 422, reason: metav1.StatusReasonInvalid, causes: []string{"spec.initContainers[0].livenessProbe"}, msg: "livenessProbe", podctl: true},
		{name: "every violation reported", body: strings.Replace(strings.Replace(goodPod, "    image: busybox:1.28\n", "", 1), "name: good", "name: Bad_Name", 1),
			code: 422, reason: metav1.StatusReasonInvalid, causes: []string{"metadata.name", "spec.containers[0].image"}, podctl: true},
		{name: "body over 3 MiB", path: "/api/v1/namespaces/" + c.NS + "/configmaps", body: big,
			code: 413, reason: metav1.StatusReasonRequestEntityTooLarge},
		{name: "not YAML", body: "\x00\x01\x02 {{{ :: not yaml [",
			code: 400, reason: metav1.StatusReasonBadRequest, podctl: true},
		{name: "path that does not exist", method: "GET", path: "/api/v1/namespaces/" + c.NS + "/nonsense",
			code: 404, reason: metav1.StatusReasonNotFound},
		{name: "pod that does not exist", method: "GET", path: c.PodPath("nope"),
			code: 404, reason: metav1.StatusReasonNotFound, msg: "nope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method, path, ctype := tc.method, tc.path, tc.ctype
			if method == "" {
				method = "POST"
			}
			if path == "" {
				path = c.PodPath("")
			}
			if ctype == "" && method == "POST" {
				ctype = "application/yaml"
			}
			code, body := c.REST(method, path, ctype, bytes.NewReader([]byte(tc.body)))
			var st metav1.Status
			if err := json.Unmarshal(body, &st); err != nil {
				t.Fatalf("%s %s: HTTP %d, body is not a Status: %v\n%.500s", method, path, code, err, body)
			}
			if code != tc.code || int(st.Code) != tc.code || st.Reason != tc.reason || st.Kind != "Status" || st.Status != "Failure" {
				t.Errorf("HTTP %d, Status{kind %q status %q code %d reason %q message %q}; want %d %s",
					code, st.Kind, st.Status, st.Code, st.Reason, st.Message, tc.code, tc.reason)
			}
			if tc.msg != "" && !strings.Contains(st.Message, tc.msg) {
				t.Errorf("message %q does not mention %q", st.Message, tc.msg)
			}
			for _, want := range tc.causes {
				found := false
				if st.Details != nil {
					for _, cause := range st.Details.Causes {
						found = found || cause.Field == want
					}
				}
				if !found {
					t.Errorf("details.causes %+v lack field %s", st.Details, want)
				}
			}
			if !tc.podctl {
				return
			}
			f := filepath.Join(t.TempDir(), "bad.yaml")
			if err := os.WriteFile(f, []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			out, errOut, exit := c.Podctl("apply", "-f", f)
			if exit != 1 || strings.TrimSpace(errOut) == "" {
				t.Errorf("podctl apply: exit %d, stdout %q, stderr %q; want exit 1 and the message on stderr", exit, out, errOut)
			}
			if tc.msg != "" && !strings.Contains(errOut, tc.msg) {
				t.Errorf("podctl stderr %q does not mention %q", errOut, tc.msg)
			}
		})
	}
	t.Run("podctl apply of a missing file", func(t *testing.T) {
		_, errOut, exit := c.Podctl("apply", "-f", "/does/not/exist.yaml")
		if exit != 1 || !strings.Contains(errOut, "/does/not/exist.yaml") {
			t.Errorf("exit %d stderr %q; want exit 1 naming the file", exit, errOut)
		}
	})
	t.Run("podctl get of a missing pod", func(t *testing.T) {
		_, errOut, exit := c.Podctl("get", "pod", "nope")
		if exit != 1 || !strings.Contains(errOut, "nope") {
			t.Errorf("exit %d stderr %q; want exit 1 and NotFound", exit, errOut)
		}
	})
	t.Run("nothing was stored", func(t *testing.T) {
		for _, kind := range []string{"pods", "configmaps"} {
			if out := c.MustPodctl("get", kind, "-o", "name"); strings.TrimSpace(out) != "" {
				t.Errorf("bad input left objects behind: %s", out)
			}
		}
	})
}

// goodPod is the valid pod that the bad bodies of TestBadInput break.
var goodPod = harness.Pod{Name: "good", NoSharedDir: true,
	Containers: []harness.Container{{Name: "app", Command: []string{"sleep", "3600"}}}}.YAML("")
