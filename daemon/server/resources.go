package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/daemon/objects"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// resources are the stored kinds besides pods, with their hooks.
func (s *Server) resources() []resourceRoutes {
	cms := &objectResource[*corev1.ConfigMap]{
		s: s, kind: "ConfigMap", gvk: api.ConfigMapGVK, bucket: objects.BucketConfigMaps,
		coll: s.obj.ConfigMaps(),
		meta: func(o *corev1.ConfigMap) *metav1.ObjectMeta { return &o.ObjectMeta },
		prepare: func(o *corev1.ConfigMap) error {
			api.DefaultConfigMap(o)
			return api.Validate(o)
		},
		newList: func(items []*corev1.ConfigMap, rv string) runtime.Object {
			return &corev1.ConfigMapList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMapList"},
				ListMeta: metav1.ListMeta{ResourceVersion: rv}, Items: derefAll(items)}
		},
		applied: func(ctx context.Context, o *corev1.ConfigMap) {
			s.obj.SourceChanged(ctx, o.Namespace, "ConfigMap", o.Name)
		},
	}
	secrets := &objectResource[*corev1.Secret]{
		s: s, kind: "Secret", gvk: api.SecretGVK, bucket: objects.BucketSecrets,
		coll: s.obj.Secrets(),
		meta: func(o *corev1.Secret) *metav1.ObjectMeta { return &o.ObjectMeta },
		prepare: func(o *corev1.Secret) error {
			api.DefaultSecret(o)
			return api.Validate(o)
		},
		newList: func(items []*corev1.Secret, rv string) runtime.Object {
			return &corev1.SecretList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "SecretList"},
				ListMeta: metav1.ListMeta{ResourceVersion: rv}, Items: derefAll(items)}
		},
		applied: func(ctx context.Context, o *corev1.Secret) { s.obj.SourceChanged(ctx, o.Namespace, "Secret", o.Name) },
	}
	events := &objectResource[*corev1.Event]{
		s: s, kind: "Event", gvk: corev1.SchemeGroupVersion.WithKind("Event"), bucket: objects.BucketEvents,
		coll:    s.obj.Events(),
		meta:    func(o *corev1.Event) *metav1.ObjectMeta { return &o.ObjectMeta },
		decode:  s.readEvent,
		prepare: s.obj.PrepareEvent,
		newList: func(items []*corev1.Event, rv string) runtime.Object {
			return &corev1.EventList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "EventList"},
				ListMeta: metav1.ListMeta{ResourceVersion: rv}, Items: derefAll(items)}
		},
	}
	jobs := &objectResource[*batchv1.Job]{
		s: s, kind: "Job", gvk: api.JobGVK, bucket: objects.BucketJobs,
		coll:    s.obj.Jobs(),
		meta:    func(o *batchv1.Job) *metav1.ObjectMeta { return &o.ObjectMeta },
		prepare: s.obj.PrepareJob,
		merge:   objects.MergeJobUpdate,
		onDelete: func(r *http.Request, j *batchv1.Job) {
			objects.JobPropagation(j, r.URL.Query().Get("propagationPolicy"))
		},
		deferDelete: func(r *http.Request, ns, name string) (*batchv1.Job, bool, error) {
			return s.obj.ForegroundDeleteJob(r.Context(), r.URL.Query().Get("propagationPolicy"), ns, name)
		},
		newList: func(items []*batchv1.Job, rv string) runtime.Object {
			return &batchv1.JobList{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "JobList"},
				ListMeta: metav1.ListMeta{ResourceVersion: rv}, Items: derefAll(items)}
		},
		applied: s.obj.JobApplied,
		deleted: s.obj.JobDeleted,
	}
	return []resourceRoutes{
		cms.routes("/api/v1", "configmaps"),
		secrets.routes("/api/v1", "secrets"),
		events.routes("/api/v1", "events"),
		jobs.routes("/apis/batch/v1", "jobs"),
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
