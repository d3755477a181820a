package api

import (
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// kyamlPod is flow-style YAML as Kubernetes' examples are now written
// (KYAML): it starts with `{` but has unquoted keys, trailing commas and
// comments, so it is no JSON.
const kyamlPod = `# a KYAML pod
{
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name: "kyaml", # trailing comment
    labels: { app: "web", },
  },
  spec: {
    containers: [{
      name: "app",
      image: "busybox:1.28",
      command: ["sh", "-c", "sleep 1"],
    }],
  },
}
`

func TestDecodeKYAML(t *testing.T) {
	for _, in := range []string{kyamlPod, strings.TrimPrefix(kyamlPod, "# a KYAML pod\n"), "---\n" + kyamlPod} {
		objs, err := Decode([]byte(in))
		if err != nil {
			t.Fatalf("%q: %v", in[:20], err)
		}
		pod, ok := objs[0].(*corev1.Pod)
		if len(objs) != 1 || !ok || pod.Name != "kyaml" || pod.Labels["app"] != "web" ||
			len(pod.Spec.Containers) != 1 || pod.Spec.Containers[0].Command[2] != "sleep 1" {
			t.Fatalf("decoded %#v", objs)
		}
	}
	// Strictness holds in flow style too: the unknown field is named.
	bad := strings.Replace(kyamlPod, `image: "busybox:1.28",`, `image: "busybox:1.28", imagee: "x",`, 1)
	if _, err := Decode([]byte(bad)); err == nil || !strings.Contains(err.Error(), `unknown field "spec.containers[0].imagee"`) {
		t.Fatalf("unknown field in KYAML: %v", err)
	}
}

func TestDecodeKYAMLMultiDocument(t *testing.T) {
	in := kyamlPod + "---\n{ apiVersion: v1, kind: ConfigMap, metadata: { name: cm, }, data: { k: v, }, }\n" +
		"---\n" + `{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}` + "\n"
	objs, err := Decode([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 3 || objs[1].(*corev1.ConfigMap).Data["k"] != "v" || objs[2].(*corev1.Secret).Name != "s" {
		t.Fatalf("decoded %#v", objs)
	}
}

func TestDecodeAsFormat(t *testing.T) {
	json := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"j"}}`
	for _, tc := range []struct {
		in     string
		format Format
		ok     bool
	}{
		{json, FormatJSON, true},
		{json, FormatYAML, true}, // JSON is YAML
		{json, FormatAuto, true},
		{kyamlPod, FormatYAML, true},
		{kyamlPod, FormatAuto, true},
		{kyamlPod, FormatJSON, false}, // application/json is held to JSON
		{"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\n", FormatJSON, false},
	} {
		_, err := DecodeObjectAs([]byte(tc.in), tc.format)
		if (err == nil) != tc.ok {
			t.Errorf("format %d, %.30q: err %v, want ok %v", tc.format, tc.in, err, tc.ok)
		}
		if err != nil && AsStatusError(err).Code() != http.StatusBadRequest {
			t.Errorf("format %d: code %d", tc.format, AsStatusError(err).Code())
		}
	}
}

func TestFormatOfContentType(t *testing.T) {
	for ct, want := range map[string]Format{"": FormatAuto, "application/json": FormatJSON,
		"application/json; charset=utf-8": FormatJSON, "application/yaml": FormatYAML,
		"application/x-yaml": FormatYAML, "text/yaml": FormatYAML, "Application/YAML": FormatYAML} {
		if got, err := FormatOfContentType(ct); err != nil || got != want {
			t.Errorf("%q: %v %v, want %v", ct, got, err, want)
		}
	}
	for _, ct := range []string{"application/x-www-form-urlencoded", "text/plain", "application/vnd.kubernetes.protobuf", "a/b; ===", "*/*"} {
		_, err := FormatOfContentType(ct)
		se := AsStatusError(err)
		if err == nil || se.Code() != http.StatusUnsupportedMediaType || se.Status().Reason != "UnsupportedMediaType" {
			t.Errorf("%q: err %v", ct, err)
		}
	}
}
