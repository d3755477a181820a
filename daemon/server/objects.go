package server

import (
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/daemon/objects"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// resourceRoutes are the handlers of one stored kind other than pods.
type resourceRoutes struct {
	prefix, plural                 string
	list, create, deleteCollection http.HandlerFunc
	get, put, patch, delete        http.HandlerFunc
	getSubStatus                   http.HandlerFunc // nil: no status subresource
}

// objectResource serves a kind that the store keeps as is (configmaps,
// secrets, events, jobs) over its objects.Resource: decode, call,
// encode.
type objectResource[T runtime.Object] struct {
	s   *Server
	res *objects.Resource[T]
	// decode reads a body; default: the strict api decoder.
	decode  func(w http.ResponseWriter, r *http.Request) (runtime.Object, error)
	newList func(items []T, lm metav1.ListMeta) runtime.Object
	// status: the kind has a status subresource (GET .../{name}/status).
	status bool
}

func (o *objectResource[T]) routes(prefix, plural string) resourceRoutes {
	rr := resourceRoutes{prefix: prefix, plural: plural,
		list: o.handleList, create: o.handleCreate, deleteCollection: o.handleDeleteCollection,
		get: o.handleGet, put: o.handlePut, patch: o.handlePatch, delete: o.handleDelete}
	if o.status {
		rr.getSubStatus = o.handleGet
	}
	return rr
}

func (o *objectResource[T]) handleList(w http.ResponseWriter, r *http.Request) {
	serveList(o.s, w, r, o.res.Bucket(), o.res.List, o.newList)
}

func (o *objectResource[T]) handleGet(w http.ResponseWriter, r *http.Request) {
	obj, err := o.res.Get(r.Context(), chi.URLParam(r, "ns"), chi.URLParam(r, "name"))
	o.s.answer(w, http.StatusOK, obj, err)
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
		return zero, api.NewBadRequest(fmt.Sprintf("expected a %s, got %s", o.res.Kind(), raw.GetObjectKind().GroupVersionKind().Kind))
	}
	if err := checkPathMeta(o.res.Meta(obj), chi.URLParam(r, "ns"), name); err != nil {
		return zero, err
	}
	return obj, nil
}

func (o *objectResource[T]) handleCreate(w http.ResponseWriter, r *http.Request) {
	opts, obj, ok := readWrite(o.s, w, r, objects.CreateOptions, func() (T, error) { return o.read(w, r, "") })
	if !ok {
		return
	}
	created, err := o.res.Create(r.Context(), obj, opts)
	o.s.answer(w, http.StatusCreated, created, err)
}

func (o *objectResource[T]) handlePut(w http.ResponseWriter, r *http.Request) {
	opts, obj, ok := readWrite(o.s, w, r, objects.UpdateOptions, func() (T, error) { return o.read(w, r, chi.URLParam(r, "name")) })
	if !ok {
		return
	}
	updated, err := o.res.Update(r.Context(), obj, opts)
	o.s.answer(w, http.StatusOK, updated, err)
}

func (o *objectResource[T]) handlePatch(w http.ResponseWriter, r *http.Request) {
	pr, err := o.s.readPatch(w, r)
	if err != nil {
		o.s.writeError(w, err)
		return
	}
	patched, created, err := o.res.Patch(r.Context(), chi.URLParam(r, "ns"), chi.URLParam(r, "name"), pr)
	o.s.answer(w, patchedCode(created), patched, err)
}

func (o *objectResource[T]) handleDelete(w http.ResponseWriter, r *http.Request) {
	opts, err := readDeleteOptions(w, r)
	if err != nil {
		o.s.writeError(w, err)
		return
	}
	gone, err := o.res.Delete(r.Context(), chi.URLParam(r, "ns"), chi.URLParam(r, "name"), opts, objects.Forced(r.URL.Query()))
	o.s.answer(w, http.StatusOK, gone, err)
}

func (o *objectResource[T]) handleDeleteCollection(w http.ResponseWriter, r *http.Request) {
	req, err := objects.NewListRequest(o.res.Bucket(), chi.URLParam(r, "ns"), r.URL.Query())
	if err != nil {
		o.s.writeError(w, err)
		return
	}
	opts, err := readDeleteOptions(w, r)
	if err != nil {
		o.s.writeError(w, err)
		return
	}
	gone, err := o.res.DeleteCollection(r.Context(), req, opts, objects.Forced(r.URL.Query()))
	if err != nil {
		o.s.writeError(w, err)
		return
	}
	o.s.writeJSON(w, http.StatusOK, o.newList(gone, metav1.ListMeta{}))
}
