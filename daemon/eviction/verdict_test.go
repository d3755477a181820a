package eviction

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func storageLimit(q string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceEphemeralStorage: resource.MustParse(q)}}
}

func TestVerdict(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	oneMi := resource.MustParse("1Mi")
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		Volumes: []corev1.Volume{
			{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: &oneMi}}},
			{Name: "free", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		},
		InitContainers: []corev1.Container{{Name: "side", RestartPolicy: &always, Resources: storageLimit("2Mi")}},
		Containers:     []corev1.Container{{Name: "app", Resources: storageLimit("4Mi")}, {Name: "plain"}},
	}}
	cases := []struct {
		name string
		use  podUsage
		want string
	}{
		{"under every limit", podUsage{volumes: map[string]int64{"cache": 1 << 20, "free": 1 << 20},
			containers: map[string]int64{"app": 2 << 20, "side": 1 << 20}}, ""},
		{"emptyDir over its sizeLimit", podUsage{volumes: map[string]int64{"cache": 1<<20 + 1}},
			`Usage of EmptyDir volume "cache" exceeds the limit "1Mi". `},
		{"pod over the sum of limits (6Mi)", podUsage{volumes: map[string]int64{"free": 3 << 20},
			containers: map[string]int64{"app": 2 << 20, "side": 2 << 20}},
			"Pod ephemeral local storage usage exceeds the total limit of containers 6Mi. "},
		{"container over its own limit", podUsage{containers: map[string]int64{"app": 5 << 20, "plain": 0}},
			`Container app exceeded its local ephemeral storage limit "4Mi". `},
		{"a sidecar is only counted in the pod's sum", podUsage{containers: map[string]int64{"side": 3 << 20}}, ""},
	}
	for _, tc := range cases {
		if got := verdict(pod, tc.use); got != tc.want {
			t.Errorf("%s: verdict %q, want %q", tc.name, got, tc.want)
		}
	}
	if !limited(pod) || limited(&corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "x"}}}}) {
		t.Error("limited: wrong")
	}
}

func TestPodLimitTakesALargerPlainInit(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "big-init", Resources: storageLimit("10Mi")}},
		Containers:     []corev1.Container{{Name: "a", Resources: storageLimit("1Mi")}, {Name: "b", Resources: storageLimit("2Mi")}},
	}}
	if q, ok := podLimit(pod); !ok || q.String() != "10Mi" {
		t.Fatalf("pod limit %s %v, want 10Mi", q.String(), ok)
	}
	pod.Spec.InitContainers = nil
	if q, ok := podLimit(pod); !ok || q.String() != "3Mi" {
		t.Fatalf("pod limit %s %v, want 3Mi", q.String(), ok)
	}
}
