package integration

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/integration/harness"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestHostFileInjectionRefused: a pod whose hostAliases, dnsConfig search
// or volume item path carries a line break or a "..data" path is refused
// with 422 naming the field, through REST and podctl, and the /etc/hosts of
// a valid pod with hostAliases stays exactly as it was (one alias line, no
// injected entry).
func TestHostFileInjectionRefused(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	// pod is a pod of one sleeping container, app, with spec's lines.
	pod := func(name, spec string) string {
		return harness.PodManifest(name, spec+
			"  containers:\n  - name: app\n    image: busybox:1.28\n    command: [\"sleep\", \"3600\"]\n")
	}
	c.Apply(pod("hosts-ok", "  terminationGracePeriodSeconds: 1\n  hostAliases:\n  - ip: 10.1.2.3\n    hostnames: [foo.local, bar.local]\n"))
	c.WaitFor("hosts-ok", "Ready", 60*time.Second, harness.PodReady)
	readHosts := func() string { return c.MustPodctl("exec", "hosts-ok", "-c", "app", "--", "cat", "/etc/hosts") }
	before := readHosts()
	if strings.Count(before, "10.1.2.3\tfoo.local\tbar.local\n") != 1 {
		t.Fatalf("/etc/hosts of the valid pod lacks its alias line:\n%s", before)
	}

	cases := []struct{ name, body, field string }{
		{"hostAlias hostname", pod("bad-alias", "  hostAliases:\n  - ip: 10.1.2.4\n    hostnames: [\"x\\n6.6.6.6 bank.example\"]\n"),
			"spec.hostAliases[0].hostnames[0]"},
		{"hostAlias ip", pod("bad-alias-ip", "  hostAliases:\n  - ip: \"10.1.2.4\\n6.6.6.6 bank.example\"\n    hostnames: [x]\n"),
			"spec.hostAliases[0].ip"},
		{"dnsConfig search", pod("bad-search", "  dnsConfig:\n    searches: [\"svc\\nnameserver 6.6.6.6\"]\n"),
			"spec.dnsConfig.searches[0]"},
		{"configMap item path ..data/x", pod("bad-items", "  volumes:\n  - name: cm\n    configMap:\n      name: cm\n      items: [{key: k, path: ..data/x}]\n"),
			"spec.volumes[0].configMap.items[0].path"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := c.REST("POST", c.PodPath(""), "application/yaml", bytes.NewReader([]byte(tc.body)))
			var st metav1.Status
			if err := json.Unmarshal(body, &st); err != nil {
				t.Fatalf("HTTP %d, body is not a Status: %v\n%.500s", code, err, body)
			}
			if code != 422 || st.Reason != metav1.StatusReasonInvalid {
				t.Fatalf("HTTP %d reason %q message %q; want 422 Invalid", code, st.Reason, st.Message)
			}
			found := false
			if st.Details != nil {
				for _, cause := range st.Details.Causes {
					found = found || cause.Field == tc.field
				}
			}
			if !found {
				t.Errorf("details.causes %+v lack field %s", st.Details, tc.field)
			}
			f := filepath.Join(t.TempDir(), "bad.yaml")
			if err := os.WriteFile(f, []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			out, errOut, exit := c.Podctl("apply", "-f", f)
			if exit != 1 || !strings.Contains(errOut, tc.field) {
				t.Errorf("podctl apply: exit %d, stdout %q, stderr %q; want exit 1 naming %s", exit, out, errOut, tc.field)
			}
		})
	}

	if out := strings.Fields(c.MustPodctl("get", "pods", "-o", "name")); len(out) != 1 {
		t.Errorf("refused pods were stored: %v", out)
	}
	if after := readHosts(); after != before || strings.Contains(after, "6.6.6.6") {
		t.Errorf("/etc/hosts of the valid pod changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	c.DeleteAndWait("hosts-ok")
}
