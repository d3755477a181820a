package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/integration/harness"
)

// kyamlManifest is written the way Kubernetes' own examples now are: KYAML,
// flow-style YAML with unquoted keys, trailing commas and comments, and no
// leading `---`. It starts with `{` but is no JSON.
const kyamlManifest = `{
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name: "kyaml-pod", # comments are YAML
    labels: { app: "kyaml", },
  },
  spec: {
    terminationGracePeriodSeconds: 1,
    containers: [{
      name: "app",
      image: "busybox:1.28",
      command: ["sh", "-c", "echo kyaml says hi; trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done"],
    }],
  },
}
`

// TestApplyKYAML: podctl apply -f of a KYAML file creates and runs the pod
// (it was refused as invalid JSON); over REST, a KYAML body is read as
// YAML under Content-Type application/yaml, refused as JSON under
// application/json and a type podrund does not decode is a 415 Status.
func TestApplyKYAML(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	file := filepath.Join(t.TempDir(), "pod.kyaml")
	if err := os.WriteFile(file, []byte(kyamlManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := c.ApplyFile(file); !strings.Contains(out, "pod/kyaml-pod created") {
		t.Fatalf("apply printed %q, want pod/kyaml-pod created", out)
	}
	c.WaitFor("kyaml-pod", "Ready", 60*time.Second, harness.PodReady)
	if p := c.GetPod("kyaml-pod"); p.Labels["app"] != "kyaml" {
		t.Errorf("labels %v", p.Labels)
	}
	logsUntil(t, c, "kyaml-pod", "app", "kyaml says hi", 1, 30*time.Second)

	cm := "{ apiVersion: v1, kind: ConfigMap, metadata: { name: kyaml-cm, }, data: { k: v, }, }\n"
	path := "/api/v1/namespaces/" + c.NS + "/configmaps"
	if code, body := c.REST("POST", path, "application/json", strings.NewReader(cm)); code != 400 {
		t.Errorf("KYAML as application/json: %d %s, want 400", code, body)
	}
	if code, body := c.REST("POST", path, "text/plain", strings.NewReader(cm)); code != 415 ||
		!strings.Contains(string(body), `"reason":"UnsupportedMediaType"`) {
		t.Errorf("KYAML as text/plain: %d %s, want a 415 UnsupportedMediaType Status", code, body)
	}
	if code, body := c.REST("POST", path, "application/yaml", strings.NewReader(cm)); code != 201 {
		t.Errorf("KYAML as application/yaml: %d %s, want 201", code, body)
	}
	c.MustPodctl("delete", "configmap", "kyaml-cm")
	c.DeleteAndWait("kyaml-pod")
}
