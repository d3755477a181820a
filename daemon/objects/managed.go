package objects

import (
	"fmt"
	"strings"
	"sync"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/daemon/openapi"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"sigs.k8s.io/yaml"
)

// Managed fields, as the API server keeps them: every create, update and
// patch records its manager (the fieldManager parameter, else the client's
// user agent) with the fields it set, and a server-side apply merges the
// applied configuration by those owners, refusing to take a field another
// manager set unless forced. The field managers are
// k8s.io/apimachinery's, over the OpenAPI models of daemon/openapi.

// fieldManagers builds and keeps one field manager per served kind, over
// the served kinds' scheme (openapi.Scheme) and a type converter built on
// the first write.
type fieldManagers struct {
	once sync.Once
	tc   managedfields.TypeConverter
	err  error

	mu  sync.Mutex
	fms map[schema.GroupVersionKind]*managedfields.FieldManager
}

func (f *fieldManagers) get(gvk schema.GroupVersionKind) (*managedfields.FieldManager, error) {
	f.once.Do(func() {
		f.tc, f.err = openapi.TypeConverter()
		f.fms = map[schema.GroupVersionKind]*managedfields.FieldManager{}
	})
	if f.err != nil {
		return nil, fmt.Errorf("field managers: %w", f.err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if fm, ok := f.fms[gvk]; ok {
		return fm, nil
	}
	s := openapi.Scheme
	fm, err := managedfields.NewDefaultFieldManager(f.tc, s, s, s, gvk, gvk.GroupVersion(), "", nil)
	if err != nil {
		return nil, fmt.Errorf("field manager for %s: %w", gvk.Kind, err)
	}
	f.fms[gvk] = fm
	return fm, nil
}

// ManagerOrUserAgent is the manager a write is recorded under: the
// request's fieldManager, else its User-Agent up to the first "/" (as the
// API server names kubectl's "kubectl-client-side-apply"), else "unknown".
func ManagerOrUserAgent(manager, userAgent string) string {
	if manager != "" || userAgent == "" {
		if manager == "" {
			return "unknown"
		}
		return manager
	}
	name, _, _ := strings.Cut(userAgent, "/")
	if len(name) > 128 {
		name = name[:128]
	}
	return name
}

// serverSideApply is a PATCH of type application/apply-patch+yaml: the
// applied configuration merged into cur by field ownership. A field
// another manager owns with another value is the API server's 409
// `Apply failed with 1 conflict: conflict with "m": .spec...` unless
// force is set.
func (b *Objects) serverSideApply(k kindInfo, cur runtime.Object, pr *PatchRequest) (runtime.Object, error) {
	fm, err := b.managers.get(k.gvk)
	if err != nil {
		return nil, err
	}
	applied := &unstructured.Unstructured{Object: map[string]any{}}
	if err := yaml.Unmarshal(pr.Body, &applied.Object); err != nil {
		return nil, api.NewBadRequest(fmt.Sprintf("error decoding YAML: %v", err))
	}
	if gvk := applied.GroupVersionKind(); gvk != k.gvk {
		return nil, api.NewBadRequest(fmt.Sprintf("the applied configuration is a %s, not a %s", gvk, k.gvk))
	}
	out, err := fm.Apply(cur.DeepCopyObject(), applied, pr.FieldManager, pr.Force)
	if err != nil {
		return nil, api.AsStatusError(err)
	}
	if u, ok := out.(*unstructured.Unstructured); ok {
		typed := k.new()
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, typed); err != nil {
			return nil, api.NewBadRequest(err.Error())
		}
		out = typed
	}
	out.GetObjectKind().SetGroupVersionKind(k.gvk)
	return out, nil
}

// manageCreate records the creating manager in obj's managedFields.
func (b *Objects) manageCreate(k kindInfo, obj runtime.Object, o WriteOptions) {
	b.manage(k, k.empty(), obj, o)
}

// manageUpdate records the updating manager in next's managedFields
// (cur's entries carried over when next has none, as clients send).
func (b *Objects) manageUpdate(k kindInfo, next, cur runtime.Object, o WriteOptions) {
	b.manage(k, cur, next, o)
}

// manage sets next's managedFields as the write of o.FieldManager from
// live. An apply already did; a failure keeps live's entries and is
// logged, never failing the write (as the API server's UpdateNoErrors).
func (b *Objects) manage(k kindInfo, live, next runtime.Object, o WriteOptions) {
	if o.applied || o.FieldManager == "" {
		return
	}
	nm, err := meta.Accessor(next)
	if err != nil {
		return
	}
	fm, err := b.managers.get(k.gvk)
	if err == nil {
		var out runtime.Object
		out, err = fm.Update(typedCopy(k, live), typedCopy(k, next), o.FieldManager)
		if err == nil {
			var om metav1.Object
			if om, err = meta.Accessor(out); err == nil {
				nm.SetManagedFields(om.GetManagedFields())
				return
			}
		}
	}
	b.log.Warn("record managed fields", zap.String("kind", k.gvk.Kind), zap.String("name", nm.GetName()), zap.Error(err))
	if lm, lerr := meta.Accessor(live); lerr == nil {
		nm.SetManagedFields(lm.GetManagedFields())
	}
}

// typedCopy is a copy of obj with its apiVersion and kind set (the field
// manager converts by them).
func typedCopy(k kindInfo, obj runtime.Object) runtime.Object {
	c := obj.DeepCopyObject()
	c.GetObjectKind().SetGroupVersionKind(k.gvk)
	return c
}
