package manifests

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/daemon/objects"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// objectsAPI is API over the object layer, the one the REST handlers
// call: a file's objects get the same defaulting, validation, admission
// and change classes as `podctl apply` (docs/contract.md §2). Every write
// is forced past file ownership: the pass is the owner.
type objectsAPI struct {
	kinds map[string]kindAPI
}

// kindAPI is one kind's part of API.
type kindAPI interface {
	list(ctx context.Context) ([]metav1.Object, error)
	apply(ctx context.Context, obj runtime.Object) (verb string, err error)
	remove(ctx context.Context, namespace, name string) error
	exists(ctx context.Context, namespace, name string) bool
}

// NewObjectsAPI is API over podrund's object layer.
func NewObjectsAPI(objs *objects.Objects) API {
	return objectsAPI{kinds: map[string]kindAPI{
		"ConfigMap": resourceAPI[*corev1.ConfigMap]{objs.ConfigMapResource()},
		"Secret":    resourceAPI[*corev1.Secret]{objs.SecretResource()},
		"Pod":       podAPI{objs},
		"Job":       resourceAPI[*batchv1.Job]{objs.JobResource()},
		"CronJob":   resourceAPI[*batchv1.CronJob]{objs.CronJobResource()},
	}}
}

// forced is every write of a pass: the file owns what it writes.
var forced = objects.WriteOptions{FieldManager: "podrund-manifests", FileForced: true}

func (a objectsAPI) Owned(ctx context.Context, dir string) ([]Owned, error) {
	var out []Owned
	for _, kind := range ownedKinds {
		items, err := a.kinds[kind].list(ctx)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", resourceOf(kind), err)
		}
		for _, it := range items {
			file := it.GetAnnotations()[api.ManifestFileAnnotation]
			if file != "" && filepath.Dir(file) == dir {
				out = append(out, Owned{Key: Key{Kind: kind, Namespace: it.GetNamespace(), Name: it.GetName()}, File: file})
			}
		}
	}
	return out, nil
}

func (a objectsAPI) kind(key Key) (kindAPI, error) {
	k, ok := a.kinds[key.Kind]
	if !ok {
		return nil, api.NewBadRequest(fmt.Sprintf("kind %s is not served", key.Kind))
	}
	return k, nil
}

func (a objectsAPI) Apply(ctx context.Context, key Key, obj runtime.Object) (string, error) {
	k, err := a.kind(key)
	if err != nil {
		return "", err
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return "", err
	}
	if m.GetNamespace() == "" {
		m.SetNamespace(key.Namespace)
	}
	return k.apply(ctx, obj)
}

func (a objectsAPI) Delete(ctx context.Context, key Key) error {
	k, err := a.kind(key)
	if err != nil {
		return err
	}
	if err := k.remove(ctx, key.Namespace, key.Name); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}

func (a objectsAPI) Exists(ctx context.Context, key Key) bool {
	k, err := a.kind(key)
	return err == nil && k.exists(ctx, key.Namespace, key.Name)
}

// resourceAPI is a kind the object layer keeps as it is (objects.Resource).
type resourceAPI[T runtime.Object] struct{ r *objects.Resource[T] }

func (k resourceAPI[T]) list(ctx context.Context) ([]metav1.Object, error) {
	items, _, err := k.r.List(ctx, "")
	out := make([]metav1.Object, 0, len(items))
	for _, it := range items {
		out = append(out, k.r.Meta(it))
	}
	return out, err
}

func (k resourceAPI[T]) apply(ctx context.Context, raw runtime.Object) (string, error) {
	obj, ok := raw.(T)
	if !ok {
		return "", api.NewBadRequest(fmt.Sprintf("expected a %s, got %T", k.r.Kind(), raw))
	}
	m := k.r.Meta(obj)
	cur, err := k.r.Get(ctx, m.Namespace, m.Name)
	if apierrors.IsNotFound(err) {
		_, err = k.r.Create(ctx, obj, forced)
		return "created", err
	}
	if err != nil {
		return "", err
	}
	before := k.r.Meta(cur).ResourceVersion
	updated, err := k.r.Update(ctx, obj, forced)
	if err != nil {
		return "", err
	}
	return changeVerb(before, k.r.Meta(updated).ResourceVersion), nil
}

func (k resourceAPI[T]) remove(ctx context.Context, namespace, name string) error {
	_, err := k.r.Delete(ctx, namespace, name, &metav1.DeleteOptions{}, true)
	return err
}

func (k resourceAPI[T]) exists(ctx context.Context, namespace, name string) bool {
	_, err := k.r.Get(ctx, namespace, name)
	return err == nil
}

// podAPI is the pods, whose writes go through the engine's change classes.
type podAPI struct{ b *objects.Objects }

func (k podAPI) list(ctx context.Context) ([]metav1.Object, error) {
	recs, _, err := k.b.PodRecords(ctx, "")
	out := make([]metav1.Object, 0, len(recs))
	for _, rec := range recs {
		out = append(out, rec.Pod)
	}
	return out, err
}

func (k podAPI) apply(ctx context.Context, raw runtime.Object) (string, error) {
	pod, ok := raw.(*corev1.Pod)
	if !ok {
		return "", api.NewBadRequest(fmt.Sprintf("expected a Pod, got %T", raw))
	}
	if err := k.b.PreparePod(pod); err != nil {
		return "", err
	}
	cur, err := k.b.Pod(ctx, pod.Namespace, pod.Name)
	if apierrors.IsNotFound(err) {
		_, err = k.b.CreatePodAs(ctx, pod, forced)
		return "created", err
	}
	if err != nil {
		return "", err
	}
	updated, err := k.b.UpdatePod(ctx, pod, forced)
	if err != nil {
		return "", err
	}
	return changeVerb(cur.Pod.ResourceVersion, updated.ResourceVersion), nil
}

func (k podAPI) remove(ctx context.Context, namespace, name string) error {
	_, err := k.b.DeletePodAs(ctx, namespace, name, &metav1.DeleteOptions{}, true)
	return err
}

func (k podAPI) exists(ctx context.Context, namespace, name string) bool {
	_, err := k.b.Pod(ctx, namespace, name)
	return err == nil
}

// changeVerb is podctl apply's word for an update that left the
// resourceVersion at before (unchanged) or moved it (configured).
func changeVerb(before, after string) string {
	if before == after {
		return "unchanged"
	}
	return "configured"
}
