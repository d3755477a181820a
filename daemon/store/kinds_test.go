package store

import (
	"context"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Watchers get a copy of each stored kind with its apiVersion and kind
// set, whatever the caller stored; the caller's object is left alone.
func TestChangesCarryTheKind(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	var got []string
	s.SetNotifier(func(c Change) {
		gvk := c.Object.GetObjectKind().GroupVersionKind()
		got = append(got, c.Bucket+"="+gvk.GroupVersion().String()+"/"+gvk.Kind)
	})
	meta := metav1.ObjectMeta{Namespace: "default", Name: "x"}
	cmap := &corev1.ConfigMap{ObjectMeta: meta}
	if _, err := s.ConfigMaps().Create(ctx, cmap); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Secrets().Create(ctx, &corev1.Secret{ObjectMeta: meta}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Jobs().Create(ctx, &batchv1.Job{ObjectMeta: meta}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Events().Create(ctx, &corev1.Event{ObjectMeta: meta}); err != nil {
		t.Fatal(err)
	}
	want := []string{"configmaps=v1/ConfigMap", "secrets=v1/Secret", "jobs=batch/v1/Job", "events=v1/Event"}
	if len(got) != len(want) {
		t.Fatalf("changes %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("change %d: %s, want %s", i, got[i], want[i])
		}
	}
	if cmap.Kind != "" {
		t.Errorf("the stored object was given kind %q; watchers must get a copy", cmap.Kind)
	}
}
