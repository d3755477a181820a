package api

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const seedDir = "../../shared/seed-examples"

// Every seed manifest must decode, default and validate cleanly.
func TestSeedExamplesDecodeAndValidate(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(seedDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed examples under %s: %v", seedDir, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := Decode(data)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if len(objs) == 0 {
				t.Fatal("no objects")
			}
			for _, o := range objs {
				if o.GetObjectKind().GroupVersionKind().Kind == "" {
					t.Errorf("TypeMeta not set on %T", o)
				}
				Default(o)
				if err := Validate(o); err != nil {
					t.Errorf("validate: %v", err)
				}
			}
		})
	}
}

const multiDoc = `
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {a: "1"}
---
---
# only a comment
---
apiVersion: v1
kind: Secret
metadata: {name: sec}
stringData: {password: hunter2}
---
apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox:1.28}]
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: c, image: busybox}]
`

func TestDecodeMultiDocument(t *testing.T) {
	objs, err := Decode([]byte(multiDoc))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 4 {
		t.Fatalf("got %d objects, want 4 (empty documents skipped)", len(objs))
	}
	cm, ok1 := objs[0].(*corev1.ConfigMap)
	sec, ok2 := objs[1].(*corev1.Secret)
	job, ok3 := objs[2].(*batchv1.Job)
	pod, ok4 := objs[3].(*corev1.Pod)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		t.Fatalf("types: %T %T %T %T", objs[0], objs[1], objs[2], objs[3])
	}
	if cm.Kind != "ConfigMap" || cm.APIVersion != "v1" || cm.Data["a"] != "1" {
		t.Errorf("configmap %+v", cm)
	}
	if sec.StringData["password"] != "hunter2" {
		t.Errorf("secret %+v", sec)
	}
	if job.Kind != "Job" || job.APIVersion != "batch/v1" || job.Spec.Template.Spec.Containers[0].Image != "busybox:1.28" {
		t.Errorf("job %+v", job.TypeMeta)
	}
	if pod.Name != "p" || pod.Kind != "Pod" {
		t.Errorf("pod %+v", pod.ObjectMeta)
	}
}

func TestDecodeJSONStreamAndList(t *testing.T) {
	in := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"},"spec":{"containers":[{"name":"c","image":"i"}]}}
{"apiVersion":"v1","kind":"List","items":[
  {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}},
  {"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"c"},"spec":{"template":{"spec":{"containers":[]}}}}]}`
	objs, err := Decode([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 3 {
		t.Fatalf("got %d objects", len(objs))
	}
	if objs[1].(*corev1.ConfigMap).Name != "b" || objs[2].(*batchv1.Job).Kind != "Job" {
		t.Fatalf("list items decoded wrong: %+v", objs)
	}
}

func TestDecodeYAMLListAndTypedList(t *testing.T) {
	in := `apiVersion: v1
kind: PodList
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: a}
- apiVersion: v1
  kind: Pod
  metadata: {name: b}
`
	objs, err := Decode([]byte(in))
	if err != nil || len(objs) != 2 {
		t.Fatalf("objs %d err %v", len(objs), err)
	}
	bad := strings.Replace(in, "kind: Pod\n  metadata: {name: b}", "kind: ConfigMap\n  metadata: {name: b}", 1)
	if _, err := Decode([]byte(bad)); err == nil || !strings.Contains(err.Error(), "a PodList may not hold a ConfigMap") {
		t.Fatalf("PodList with a ConfigMap: %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // substrings of the message
	}{
		{"unknown field with path", `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: c
    imagee: busybox
    comand: [sh]`, []string{"document 0", `Pod "p"`, `unknown field "spec.containers[0].comand"`, `unknown field "spec.containers[0].imagee"`}},
		{"case sensitive like the API server", `{"apiVersion":"v1","kind":"Pod","metadata":{"Name":"p"}}`,
			[]string{`unknown field "metadata.Name"`}},
		{"duplicate field", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: a, k: b}\n",
			[]string{"document 0", "already set in map"}},
		{"index of the bad document", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\nbogus: 1\n",
			[]string{"document 1", `unknown field "bogus"`}},
		{"unknown kind", "apiVersion: v1\nkind: Deployment\nmetadata: {name: a}\n",
			[]string{`no kind "Deployment" is registered for version "v1"`}},
		{"wrong version", "apiVersion: v1\nkind: Job\nmetadata: {name: a}\n", []string{`no kind "Job" is registered for version "v1"`}},
		{"missing kind", "apiVersion: v1\nmetadata: {name: a}\n", []string{"Object 'Kind' is missing"}},
		{"missing apiVersion", "kind: Pod\nmetadata: {name: a}\n", []string{"Object 'apiVersion' is missing"}},
		{"not YAML", "\x00\x01\x02 {{{ ::: [", []string{"document 0"}},
		{"plain text", "hello world", []string{"not a Kubernetes object"}},
		{"bad JSON", `{"apiVersion": "v1", "kind": `, []string{"invalid JSON"}},
		{"wrong type", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, ports: [{containerPort: eighty}]}]}\n",
			[]string{"document 0", "containerPort"}},
		{"bad quantity", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, resources: {limits: {cpu: lots}}}]}\n",
			[]string{"quantities must match"}},
		{"unknown field in list item", `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"dta":{}}]}`,
			[]string{"items[0]", `unknown field "dta"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Decode([]byte(tc.in))
			if err == nil {
				t.Fatalf("no error, objects %v", objs)
			}
			se, ok := err.(*StatusError)
			if !ok {
				t.Fatalf("error type %T", err)
			}
			if se.Code() != 400 || se.Status().Reason != metav1.StatusReasonBadRequest {
				t.Errorf("code %d reason %s", se.Code(), se.Status().Reason)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q lacks %q", err.Error(), w)
				}
			}
		})
	}
}

func TestDecodeEmptyInput(t *testing.T) {
	for _, in := range []string{"", "   \n", "---\n---\n", "# just a comment\n"} {
		objs, err := Decode([]byte(in))
		if err != nil || len(objs) != 0 {
			t.Errorf("%q: objs %d err %v", in, len(objs), err)
		}
	}
	if _, err := DecodeObject([]byte("")); err == nil {
		t.Error("DecodeObject of nothing must fail")
	}
	if _, err := DecodeObject([]byte(multiDoc)); err == nil {
		t.Error("DecodeObject of four objects must fail")
	}
}

func TestDecodeListNestingIsBounded(t *testing.T) {
	in := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}`
	for i := 0; i < maxListDepth+2; i++ {
		in = `{"apiVersion":"v1","kind":"List","items":[` + in + `]}`
	}
	if _, err := Decode([]byte(in)); err == nil || !strings.Contains(err.Error(), "nested") {
		t.Fatalf("deep nesting: %v", err)
	}
}
