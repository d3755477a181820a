package main

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Every alias resolves to its kind, and kindOf maps that kind's object
// back to the same kind; unknown names and types are refused by name.
func TestKindNamesAndTypes(t *testing.T) {
	for alias, want := range map[string]string{
		"po": "pod", "PODS": "pod", "jobs.batch": "job.batch", "cj": "cronjob.batch",
		"cm": "configmap", "secrets": "secret", "ev": "event",
	} {
		k, err := kindByName(alias)
		if err != nil || k.singular != want {
			t.Errorf("kindByName(%q) = %q, %v; want %q", alias, k.singular, err, want)
			continue
		}
		back, err := kindOf(k.newObj())
		if err != nil || back.singular != want {
			t.Errorf("kindOf(%T) = %q, %v; want %q", k.newObj(), back.singular, err, want)
		}
	}
	if _, err := kindByName("Deployments"); err == nil || err.Error() != `the server doesn't have a resource type "Deployments"` {
		t.Errorf("unknown name: %v", err)
	}
	if _, err := kindOf(&metav1.Status{}); err == nil || err.Error() != "podctl cannot handle objects of type *v1.Status" {
		t.Errorf("unknown type: %v", err)
	}
	if _, err := kindOf(&corev1.PodList{}); err == nil {
		t.Error("a list is not a kind")
	}
}
