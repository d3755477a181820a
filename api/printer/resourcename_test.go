package printer

import (
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podrun/podrun/api"
)

func TestResourceName(t *testing.T) {
	om := metav1.ObjectMeta{Name: "x"}
	for _, tc := range []struct {
		obj  any
		want string
	}{
		{&corev1.Pod{ObjectMeta: om}, "pod/x"},
		{&batchv1.Job{ObjectMeta: om}, "job.batch/x"},
		{&batchv1.CronJob{ObjectMeta: om}, "cronjob.batch/x"},
		{&corev1.ConfigMap{ObjectMeta: om}, "configmap/x"},
		{&corev1.Secret{ObjectMeta: om}, "secret/x"},
		{&corev1.Event{ObjectMeta: om}, "event/x"},
		{&api.Image{Name: "busybox:1"}, "image/busybox:1"},
		{&corev1.Node{ObjectMeta: om}, "*v1.Node"},
		{corev1.Pod{ObjectMeta: om}, "v1.Pod"},
	} {
		if got := ResourceName(tc.obj); got != tc.want {
			t.Errorf("ResourceName(%T) = %q, want %q", tc.obj, got, tc.want)
		}
	}
}
