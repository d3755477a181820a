package volumes

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A subscript the validation lets through (it only checks the "[" prefix
// and the "]" suffix) but that holds no "['key']": FieldRefValue refuses
// it, as the kubelet does, instead of slicing out of range.
func TestFieldRefValueMalformedSubscript(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"a": "1"}}}
	for _, path := range []string{"metadata.labels[']", "metadata.annotations[']", "metadata.labels['"} {
		if v, err := FieldRefValue(pod, path); err == nil {
			t.Errorf("FieldRefValue(%q) = %q, want an unsupported fieldRef error", path, v)
		}
	}
	if v, err := FieldRefValue(pod, "metadata.labels['a']"); err != nil || v != "1" {
		t.Errorf("label a = %q, %v", v, err)
	}
	if v, err := FieldRefValue(pod, "metadata.labels['']"); err != nil || v != "" {
		t.Errorf("empty key = %q, %v", v, err)
	}
}
