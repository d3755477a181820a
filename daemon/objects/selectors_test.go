package objects

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestFieldSelector(t *testing.T) {
	f, err := NewFilter(BucketPods, "default", "status.phase=Running,metadata.name!=skip")
	if err != nil {
		t.Fatal(err)
	}
	pod := func(ns, name string, phase corev1.PodPhase) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Status: corev1.PodStatus{Phase: phase}}
	}
	for _, tc := range []struct {
		pod  *corev1.Pod
		want bool
	}{
		{pod("default", "a", corev1.PodRunning), true},
		{pod("default", "a", corev1.PodPending), false},
		{pod("default", "skip", corev1.PodRunning), false},
		{pod("other", "a", corev1.PodRunning), false},
	} {
		if got := f.Matches(tc.pod); got != tc.want {
			t.Errorf("%s/%s %s: matches %v, want %v", tc.pod.Namespace, tc.pod.Name, tc.pod.Status.Phase, got, tc.want)
		}
	}
	// A key the kind does not offer, and a term without an operator, are
	// 400s that say what is wrong.
	for sel, want := range map[string]string{"spec.hostname=x": "field label not supported: spec.hostname",
		"status.phase": "invalid selector"} {
		_, err := NewFilter(BucketPods, "", sel)
		if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), want) {
			t.Errorf("selector %q: %v, want a 400 containing %q", sel, err, want)
		}
	}
}
