package openapi

import (
	"bytes"
	"runtime"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/podrun/podrun/daemon/openapi/internal/generated"
)

func TestDefinitionsNameAndTagTheServedKinds(t *testing.T) {
	defs, err := Definitions()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		gvk  schema.GroupVersionKind
	}{
		{"io.k8s.api.core.v1.Pod", corev1.SchemeGroupVersion.WithKind("Pod")},
		{"io.k8s.api.core.v1.ConfigMap", corev1.SchemeGroupVersion.WithKind("ConfigMap")},
		{"io.k8s.api.core.v1.Secret", corev1.SchemeGroupVersion.WithKind("Secret")},
		{"io.k8s.api.core.v1.Event", corev1.SchemeGroupVersion.WithKind("Event")},
		{"io.k8s.api.core.v1.Namespace", corev1.SchemeGroupVersion.WithKind("Namespace")},
		{"io.k8s.api.batch.v1.Job", batchv1.SchemeGroupVersion.WithKind("Job")},
		{"io.k8s.api.batch.v1.CronJob", batchv1.SchemeGroupVersion.WithKind("CronJob")},
		{"io.k8s.apimachinery.pkg.apis.meta.v1.Status", corev1.SchemeGroupVersion.WithKind("Status")},
	} {
		d, ok := defs[tc.name]
		if !ok {
			t.Errorf("no definition %s", tc.name)
			continue
		}
		if got := NameOf(tc.gvk); got != tc.name {
			t.Errorf("NameOf(%v) = %q, want %q", tc.gvk, got, tc.name)
		}
		found := false
		list, _ := d.Extensions[GVKExtension].([]any)
		for _, e := range list {
			m := e.(map[string]any)
			if m["group"] == tc.gvk.Group && m["version"] == tc.gvk.Version && m["kind"] == tc.gvk.Kind {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: %s = %v, want it to list %v", tc.name, GVKExtension, d.Extensions[GVKExtension], tc.gvk)
		}
	}
	// A referenced type is defined too, and carries no GVK.
	if d, ok := defs["io.k8s.api.core.v1.Container"]; !ok || d.Extensions[GVKExtension] != nil {
		t.Errorf("Container: defined=%v extensions=%v", ok, d.Extensions)
	}
	if Name(&metav1.ObjectMeta{}) != "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" {
		t.Errorf("Name(ObjectMeta) = %q", Name(&metav1.ObjectMeta{}))
	}
}

func TestTypeConverterTypesServedObjects(t *testing.T) {
	tc, err := TypeConverter()
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"a": "b"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
	tv, err := tc.ObjectToTyped(pod)
	if err != nil {
		t.Fatalf("ObjectToTyped(Pod): %v", err)
	}
	set, err := tv.ToFieldSet()
	if err != nil {
		t.Fatal(err)
	}
	// containers is a list keyed by name: the set names the element by key.
	if s := set.String(); !strings.Contains(s, `.spec.containers[name="c"].image`) {
		t.Errorf("field set lacks the keyed container image:\n%s", s)
	}
	job := &batchv1.Job{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: "j"}}
	if _, err := tc.ObjectToTyped(job); err != nil {
		t.Fatalf("ObjectToTyped(Job): %v", err)
	}
	// A kind podrund does not serve has no schema.
	if _, err := tc.ObjectToTyped(&metav1.PartialObjectMetadata{
		TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}}); err == nil {
		t.Error("ObjectToTyped(apps/v1 Deployment) succeeded; podrund serves no such kind")
	}
}

// Nothing in the package keeps the definitions: each call builds its own,
// and the type converter holds only its schema. Kept, they would be about
// 1.4 MiB of podrund's heap for its whole life after the first write.
func TestTypeConverterKeepsOnlyItsSchema(t *testing.T) {
	first, err := Definitions()
	if err != nil {
		t.Fatal(err)
	}
	delete(first, "io.k8s.api.core.v1.Pod")
	if again, err := Definitions(); err != nil || again["io.k8s.api.core.v1.Pod"].Type == nil {
		t.Fatalf("a second Definitions() shares the first one's map (err %v)", err)
	}
	first = nil
	before := liveHeap()
	tc, err := newTypeConverter() // what TypeConverter() builds once
	if err != nil {
		t.Fatal(err)
	}
	grown := int64(liveHeap()) - int64(before)
	runtime.KeepAlive(tc)
	// The schema is ~0.3 MiB; the definitions it is built from ~1.4 MiB.
	if grown > 1<<20 {
		t.Errorf("live heap grew by %d KiB after building the type converter; want the schema alone (< 1 MiB)", grown>>10)
	}
	t.Logf("live heap after building the type converter: %+d KiB", grown>>10)
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// definitions.json is what openapi-gen's code builds: regenerate it
// (go generate ./daemon/openapi) with the generated code. And what
// podrund decodes from it encodes back to it, so the documents and the
// type converter are what they were with the code.
func TestEmbeddedDefinitionsAreTheGeneratedOnes(t *testing.T) {
	built, err := BuildDefinitions(generated.GetOpenAPIDefinitions)
	if err != nil {
		t.Fatal(err)
	}
	want, err := EncodeDefinitions(built)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, definitionsJSON) {
		t.Fatal("definitions.json differs from the generated code's definitions: go generate ./daemon/openapi")
	}
	// Decoded, a number is a float64 where the code wrote an int (a
	// default of 0): the same JSON, which is all documents and the type
	// converter read of it.
	decoded, err := Definitions()
	if err != nil {
		t.Fatal(err)
	}
	if again, err := EncodeDefinitions(decoded); err != nil || !bytes.Equal(again, definitionsJSON) {
		t.Fatalf("the decoded definitions encode differently (err %v)", err)
	}
}
