package kubeapi

import (
	"encoding/json"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func protobufSeeds(t testing.TB) [][]byte {
	var out [][]byte
	for _, obj := range []runtime.Object{
		&corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: metav1.ObjectMeta{Name: "c"}, Data: map[string]string{"a": "b"}},
		&corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
			ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"x": "y"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox", Args: []string{"sh"}}}}},
		&batchv1.Job{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"}, ObjectMeta: metav1.ObjectMeta{Name: "j"}},
	} {
		data, err := EncodeProtobuf(obj)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}

func TestProtobufToJSONRoundTrip(t *testing.T) {
	seeds := protobufSeeds(t)
	data, err := ProtobufToJSON(seeds[1])
	if err != nil {
		t.Fatal(err)
	}
	var pod corev1.Pod
	if err := json.Unmarshal(data, &pod); err != nil {
		t.Fatal(err)
	}
	if pod.Kind != "Pod" || pod.APIVersion != "v1" || pod.Name != "p" || pod.Spec.Containers[0].Args[0] != "sh" {
		t.Errorf("round trip gave %s", data)
	}
	for _, bad := range [][]byte{nil, []byte("k8s\x00"), []byte("{}"), seeds[0][:len(seeds[0])-3]} {
		if _, err := ProtobufToJSON(bad); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}

// FuzzProtobufToJSON: no input panics or hangs the decoder.
func FuzzProtobufToJSON(f *testing.F) {
	for _, s := range protobufSeeds(f) {
		f.Add(s)
	}
	f.Add([]byte("k8s\x00\x0a\x04\x0a\x02v1\x12\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := ProtobufToJSON(data)
		if err == nil && !json.Valid(out) {
			t.Errorf("invalid JSON %q", out)
		}
	})
}
