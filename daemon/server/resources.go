package server

import (
	"fmt"
	"net/http"

	"github.com/podrun/podrun/api"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// resources are the stored kinds besides pods, with their list types.
func (s *Server) resources() []resourceRoutes {
	cms := &objectResource[*corev1.ConfigMap]{s: s, res: s.obj.ConfigMapResource(),
		newList: func(items []*corev1.ConfigMap, lm metav1.ListMeta) runtime.Object {
			return &corev1.ConfigMapList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMapList"},
				ListMeta: lm, Items: derefAll(items)}
		}}
	secrets := &objectResource[*corev1.Secret]{s: s, res: s.obj.SecretResource(),
		newList: func(items []*corev1.Secret, lm metav1.ListMeta) runtime.Object {
			return &corev1.SecretList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "SecretList"},
				ListMeta: lm, Items: derefAll(items)}
		}}
	events := &objectResource[*corev1.Event]{s: s, res: s.obj.EventResource(), decode: s.readEvent,
		newList: func(items []*corev1.Event, lm metav1.ListMeta) runtime.Object {
			return &corev1.EventList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "EventList"},
				ListMeta: lm, Items: derefAll(items)}
		}}
	jobs := &objectResource[*batchv1.Job]{s: s, res: s.obj.JobResource(), status: true,
		newList: func(items []*batchv1.Job, lm metav1.ListMeta) runtime.Object {
			return &batchv1.JobList{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "JobList"},
				ListMeta: lm, Items: derefAll(items)}
		}}
	cronJobs := &objectResource[*batchv1.CronJob]{s: s, res: s.obj.CronJobResource(),
		newList: func(items []*batchv1.CronJob, lm metav1.ListMeta) runtime.Object {
			return &batchv1.CronJobList{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJobList"},
				ListMeta: lm, Items: derefAll(items)}
		}}
	return []resourceRoutes{
		cms.routes("/api/v1", "configmaps"),
		secrets.routes("/api/v1", "secrets"),
		events.routes("/api/v1", "events"),
		jobs.routes("/apis/batch/v1", "jobs"),
		cronJobs.routes("/apis/batch/v1", "cronjobs"),
	}
}

// readEvent decodes an Event body (the api decoder knows only the kinds
// users apply), strictly.
func (s *Server) readEvent(w http.ResponseWriter, r *http.Request) (runtime.Object, error) {
	data, _, err := readTypedBody(w, r)
	if err != nil {
		return nil, err
	}
	ev := &corev1.Event{}
	if err := yaml.UnmarshalStrict(data, ev); err != nil {
		return nil, api.NewBadRequest(fmt.Sprintf("decode Event: %v", err))
	}
	if ev.Kind != "" && ev.Kind != "Event" {
		return nil, api.NewBadRequest(fmt.Sprintf("expected an Event, got %s", ev.Kind))
	}
	return ev, nil
}

// derefAll copies stored objects into a list's items (never nil, so an
// empty list encodes as "items": []).
func derefAll[T any](items []*T) []T {
	out := make([]T, 0, len(items))
	for _, it := range items {
		out = append(out, *it)
	}
	return out
}
