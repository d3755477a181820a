package eviction

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podrun/podrun/supervisor"
)

type fakeEngine struct {
	evicted map[types.UID]string
}

func (f *fakeEngine) Evict(_ context.Context, uid types.UID, msg string) error {
	f.evicted[uid] = msg
	return nil
}

func (f *fakeEngine) Instance(uid types.UID, container string) (supervisor.Instance, bool) {
	return supervisor.Instance{ID: string(uid) + "-" + container}, true
}

// TestCheckOnceMeasuresAndEvicts: the pod whose emptyDir holds more than
// its sizeLimit is evicted with the kubelet's message; one being deleted,
// one that finished and one without limits are not even measured; the
// writable layer of an instance is asked for once, and only where a
// container sets a limit (no check looks at it otherwise).
func TestCheckOnceMeasuresAndEvicts(t *testing.T) {
	root := t.TempDir()
	limit := resource.MustParse("64Ki")
	pod := func(name string, phase corev1.PodPhase, withLimit bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name)},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}},
				Volumes: []corev1.Volume{{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}},
			Status: corev1.PodStatus{Phase: phase}}
		if withLimit {
			p.Spec.Volumes[0].EmptyDir.SizeLimit = &limit
		}
		dir := filepath.Join(root, name, "cache")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "f"), make([]byte, 256<<10), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	over := pod("over", corev1.PodRunning, true)
	over.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceEphemeralStorage: resource.MustParse("1Mi")}
	dirOnly := pod("dironly", corev1.PodRunning, false)
	big := resource.MustParse("1Mi")
	dirOnly.Spec.Volumes[0].EmptyDir.SizeLimit = &big
	deleting := pod("deleting", corev1.PodRunning, true)
	deleting.DeletionTimestamp = &metav1.Time{}
	pods := []*corev1.Pod{over, dirOnly, deleting,
		pod("done", corev1.PodSucceeded, true), pod("nolimit", corev1.PodRunning, false)}
	eng := &fakeEngine{evicted: map[types.UID]string{}}
	layerCalls := map[string]int{}
	m := NewMonitor(Options{
		Pods:      func(context.Context) ([]*corev1.Pod, error) { return pods, nil },
		Engine:    eng,
		VolumeDir: func(uid types.UID, name string) string { return filepath.Join(root, string(uid), name) },
		WritableLayer: func(_ context.Context, id string) (string, error) {
			layerCalls[id]++
			return "", nil
		},
		LogDir: func(*corev1.Pod, string) string { return "" },
	})
	m.CheckOnce(context.Background())
	m.CheckOnce(context.Background())
	want := `Usage of EmptyDir volume "cache" exceeds the limit "64Ki". `
	if len(eng.evicted) != 1 || eng.evicted["over"] != want {
		t.Fatalf("evicted %v, want only over with %q", eng.evicted, want)
	}
	if len(layerCalls) != 1 || layerCalls["over-app"] != 1 {
		t.Errorf("writable layer lookups %v, want one, for over's app", layerCalls)
	}
}
