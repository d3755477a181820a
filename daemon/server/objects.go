package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/daemon/objects"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/uuid"
)

// resourceRoutes are the handlers of one stored kind other than pods.
type resourceRoutes struct {
	prefix, plural                 string
	list, create, get, put, delete http.HandlerFunc
}

// objectResource serves a kind that the store keeps as is (configmaps,
// secrets, events, jobs): CRUD, list and watch, with hooks after writes.
type objectResource[T runtime.Object] struct {
	s      *Server
	kind   string
	gvk    schema.GroupVersionKind
	bucket string
	coll   objects.Collection[T]
	meta   func(T) *metav1.ObjectMeta
	// decode reads a body; default: the strict api decoder.
	decode func(w http.ResponseWriter, r *http.Request) (runtime.Object, error)
	// prepare defaults and validates a new or replacing object (identity
	// already set).
	prepare func(obj T) error
	newList func(items []T, rv string) runtime.Object
	// merge, for a PUT, carries over what the server owns from the stored
	// object and checks the update; runs after prepare.
	merge func(next, cur T) error
	// onDelete adjusts the deleted object from the request (Job propagation).
	onDelete func(r *http.Request, obj T)
	// deferDelete, when it reports true, stands in for the removal: the
	// object was only marked for deletion (a Job deleted with Foreground
	// propagation stays until its pods are gone).
	deferDelete func(r *http.Request, namespace, name string) (T, bool, error)
	// applied runs after a create or a changing update; deleted after a delete.
	applied func(ctx context.Context, obj T)
	deleted func(ctx context.Context, obj T)
}

func (o *objectResource[T]) routes(prefix, plural string) resourceRoutes {
	return resourceRoutes{prefix: prefix, plural: plural,
		list: o.handleList, create: o.handleCreate, get: o.handleGet, put: o.handlePut, delete: o.handleDelete}
}

func (o *objectResource[T]) public(obj T) T {
	c := obj.DeepCopyObject().(T)
	c.GetObjectKind().SetGroupVersionKind(o.gvk)
	return c
}

func (o *objectResource[T]) handleList(w http.ResponseWriter, r *http.Request) {
	serveList(o.s, w, r, o.bucket, func(ctx context.Context, ns string) ([]T, uint64, error) {
		items, rv, err := o.coll.List(ctx, ns)
		for i := range items {
			items[i] = o.public(items[i])
		}
		return items, rv, err
	}, o.newList)
}

func (o *objectResource[T]) handleGet(w http.ResponseWriter, r *http.Request) {
	obj, err := o.coll.Get(r.Context(), chi.URLParam(r, "ns"), chi.URLParam(r, "name"))
	if err != nil {
		o.s.writeError(w, err)
		return
	}
	o.s.writeJSON(w, http.StatusOK, o.public(obj))
}

// read decodes a body into T and checks it against the path.
func (o *objectResource[T]) read(w http.ResponseWriter, r *http.Request, name string) (T, error) {
	var zero T
	dec := o.decode
	if dec == nil {
		dec = o.s.readObject
	}
	raw, err := dec(w, r)
	if err != nil {
		return zero, err
	}
	obj, ok := raw.(T)
	if !ok {
		return zero, api.NewBadRequest(fmt.Sprintf("expected a %s, got %s", o.kind, raw.GetObjectKind().GroupVersionKind().Kind))
	}
	if err := checkPathMeta(o.meta(obj), chi.URLParam(r, "ns"), name); err != nil {
		return zero, err
	}
	return obj, nil
}

func (o *objectResource[T]) handleCreate(w http.ResponseWriter, r *http.Request) {
	s := o.s
	obj, err := o.read(w, r, "")
	if err != nil {
		s.writeError(w, err)
		return
	}
	m := o.meta(obj)
	m.UID = uuid.NewUUID()
	m.CreationTimestamp = metav1.NewTime(s.clk.Now())
	m.ResourceVersion, m.Generation = "", 1
	if err := o.prepare(obj); err != nil {
		s.writeError(w, err)
		return
	}
	created, err := o.coll.Create(r.Context(), obj)
	if err != nil {
		s.writeError(w, err)
		return
	}
	if o.applied != nil {
		o.applied(r.Context(), created)
	}
	s.writeJSON(w, http.StatusCreated, o.public(created))
}

func (o *objectResource[T]) handlePut(w http.ResponseWriter, r *http.Request) {
	s, ns, name := o.s, chi.URLParam(r, "ns"), chi.URLParam(r, "name")
	obj, err := o.read(w, r, name)
	if err != nil {
		s.writeError(w, err)
		return
	}
	cur, err := o.coll.Get(r.Context(), ns, name)
	if err != nil {
		s.writeError(w, err)
		return
	}
	m, cm := o.meta(obj), o.meta(cur)
	if err := objects.RefuseManagedWrite(o.kind, cm, objects.Forced(r.URL.Query())); err != nil {
		s.writeError(w, err)
		return
	}
	m.UID, m.CreationTimestamp, m.Generation = cm.UID, cm.CreationTimestamp, cm.Generation
	if err := o.prepare(obj); err != nil {
		s.writeError(w, err)
		return
	}
	if o.merge != nil {
		if err := o.merge(obj, cur); err != nil {
			s.writeError(w, err)
			return
		}
	}
	updated, err := o.coll.Update(r.Context(), obj)
	if err != nil {
		s.writeError(w, err)
		return
	}
	if o.applied != nil && o.meta(updated).ResourceVersion != cm.ResourceVersion {
		o.applied(r.Context(), updated)
	}
	s.writeJSON(w, http.StatusOK, o.public(updated))
}

func (o *objectResource[T]) handleDelete(w http.ResponseWriter, r *http.Request) {
	if cur, err := o.coll.Get(r.Context(), chi.URLParam(r, "ns"), chi.URLParam(r, "name")); err == nil {
		if err := objects.RefuseManagedWrite(o.kind, o.meta(cur), objects.Forced(r.URL.Query())); err != nil {
			o.s.writeError(w, err)
			return
		}
	}
	if o.deferDelete != nil {
		obj, deferred, err := o.deferDelete(r, chi.URLParam(r, "ns"), chi.URLParam(r, "name"))
		if err != nil {
			o.s.writeError(w, err)
			return
		}
		if deferred {
			o.s.writeJSON(w, http.StatusOK, o.public(obj))
			return
		}
	}
	obj, err := o.coll.Delete(r.Context(), chi.URLParam(r, "ns"), chi.URLParam(r, "name"), "", nil)
	if err != nil {
		o.s.writeError(w, err)
		return
	}
	if o.onDelete != nil {
		o.onDelete(r, obj)
	}
	if o.deleted != nil {
		o.deleted(r.Context(), obj)
	}
	o.s.writeJSON(w, http.StatusOK, o.public(obj))
}
