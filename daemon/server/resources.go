package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/daemon/store"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

// resources are the stored kinds besides pods, with their hooks.
func (s *Server) resources() []resourceRoutes {
	cms := &objectResource[*corev1.ConfigMap]{
		s: s, kind: "ConfigMap", gvk: api.ConfigMapGVK, bucket: store.BucketConfigMaps,
		coll: s.st.ConfigMaps(),
		meta: func(o *corev1.ConfigMap) *metav1.ObjectMeta { return &o.ObjectMeta },
		prepare: func(o *corev1.ConfigMap) error {
			api.DefaultConfigMap(o)
			return api.Validate(o)
		},
		newList: func(items []*corev1.ConfigMap, rv string) runtime.Object {
			return &corev1.ConfigMapList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMapList"},
				ListMeta: metav1.ListMeta{ResourceVersion: rv}, Items: derefAll(items)}
		},
		applied: func(ctx context.Context, o *corev1.ConfigMap) { s.sourceChanged(ctx, o.Namespace, "ConfigMap", o.Name) },
	}
	secrets := &objectResource[*corev1.Secret]{
		s: s, kind: "Secret", gvk: api.SecretGVK, bucket: store.BucketSecrets,
		coll: s.st.Secrets(),
		meta: func(o *corev1.Secret) *metav1.ObjectMeta { return &o.ObjectMeta },
		prepare: func(o *corev1.Secret) error {
			api.DefaultSecret(o)
			return api.Validate(o)
		},
		newList: func(items []*corev1.Secret, rv string) runtime.Object {
			return &corev1.SecretList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "SecretList"},
				ListMeta: metav1.ListMeta{ResourceVersion: rv}, Items: derefAll(items)}
		},
		applied: func(ctx context.Context, o *corev1.Secret) { s.sourceChanged(ctx, o.Namespace, "Secret", o.Name) },
	}
	events := &objectResource[*corev1.Event]{
		s: s, kind: "Event", gvk: corev1.SchemeGroupVersion.WithKind("Event"), bucket: store.BucketEvents,
		coll:    s.st.Events(),
		meta:    func(o *corev1.Event) *metav1.ObjectMeta { return &o.ObjectMeta },
		decode:  s.readEvent,
		prepare: s.prepareEvent,
		newList: func(items []*corev1.Event, rv string) runtime.Object {
			return &corev1.EventList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "EventList"},
				ListMeta: metav1.ListMeta{ResourceVersion: rv}, Items: derefAll(items)}
		},
	}
	jobs := &objectResource[*batchv1.Job]{
		s: s, kind: "Job", gvk: api.JobGVK, bucket: store.BucketJobs,
		coll:    s.st.Jobs(),
		meta:    func(o *batchv1.Job) *metav1.ObjectMeta { return &o.ObjectMeta },
		prepare: s.prepareJob,
		merge:   mergeJobUpdate,
		onDelete: func(r *http.Request, j *batchv1.Job) {
			jobPropagation(j, r.URL.Query().Get("propagationPolicy"))
		},
		deferDelete: s.foregroundDeleteJob,
		newList: func(items []*batchv1.Job, rv string) runtime.Object {
			return &batchv1.JobList{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "JobList"},
				ListMeta: metav1.ListMeta{ResourceVersion: rv}, Items: derefAll(items)}
		},
		applied: func(ctx context.Context, j *batchv1.Job) {
			if jc := s.jobController(); jc != nil {
				jc.OnJobApplied(context.WithoutCancel(ctx), j.DeepCopy())
			}
		},
		deleted: func(ctx context.Context, j *batchv1.Job) {
			if jc := s.jobController(); jc != nil {
				jc.OnJobDeleted(context.WithoutCancel(ctx), j.DeepCopy())
			}
		},
	}
	return []resourceRoutes{
		cms.routes("/api/v1", "configmaps"),
		secrets.routes("/api/v1", "secrets"),
		events.routes("/api/v1", "events"),
		jobs.routes("/apis/batch/v1", "jobs"),
	}
}

func (s *Server) prepareJob(j *batchv1.Job) error {
	api.DefaultJob(j)
	api.GenerateJobSelector(j)
	if err := api.Validate(j); err != nil {
		return err
	}
	// The template is held to the namespace's level as the pods the Job
	// controller makes from it will be (CreatePod checks each again), so a
	// Job that could only make refused pods is refused at submit.
	meta := j.Spec.Template.ObjectMeta
	meta.Namespace, meta.Name = j.Namespace, j.Name
	return s.admit("Job", j.Name, &meta, &j.Spec.Template.Spec)
}

// readEvent decodes an Event body (the api decoder knows only the kinds
// users apply), strictly.
func (s *Server) readEvent(w http.ResponseWriter, r *http.Request) (runtime.Object, error) {
	data, err := readBody(w, r)
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

func (s *Server) prepareEvent(ev *corev1.Event) error {
	var errs field.ErrorList
	if ev.InvolvedObject.Name == "" {
		errs = append(errs, field.Required(field.NewPath("involvedObject", "name"), ""))
	}
	if ev.Reason == "" {
		errs = append(errs, field.Required(field.NewPath("reason"), ""))
	}
	if len(errs) > 0 {
		return api.NewInvalid("Event", ev.Name, errs)
	}
	if ev.Name == "" {
		ev.Name = store.EventName(ev)
	}
	if ev.Count == 0 {
		ev.Count = 1
	}
	if ev.FirstTimestamp.IsZero() {
		ev.FirstTimestamp = metav1.NewTime(s.clk.Now())
	}
	if ev.LastTimestamp.IsZero() {
		ev.LastTimestamp = ev.FirstTimestamp
	}
	return nil
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
