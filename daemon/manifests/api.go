package manifests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/api/client"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// API is how a pass reads and writes objects: the REST API's own
// handlers, so a file's objects get exactly the defaulting, validation,
// admission and change classes of `podctl apply` (contract §2). Every
// write is forced past file ownership: the pass is the owner.
type API interface {
	// Owned lists the stored objects whose manifest-file annotation names
	// a file directly in dir.
	Owned(ctx context.Context, dir string) ([]Owned, error)
	// Apply creates or replaces obj; verb is created, configured or
	// unchanged, as podctl apply prints it.
	Apply(ctx context.Context, key Key, obj runtime.Object) (verb string, err error)
	// Delete deletes the object; one already gone is not an error.
	Delete(ctx context.Context, key Key) error
	// Exists reports whether the object is stored.
	Exists(ctx context.Context, key Key) bool
}

// ownedKinds are the kinds a manifest may hold, in the order they are
// listed; a kind this podrund does not serve answers 404 and is skipped.
var ownedKinds = []string{"ConfigMap", "Secret", "Pod", "Job", "CronJob"}

// resourceOf is the REST collection of a kind: its plural, which is what
// names every kind podrund serves (pods, configmaps, jobs, cronjobs).
func resourceOf(kind string) client.Resource {
	return client.Resource(strings.ToLower(kind) + "s")
}

// restAPI is API over the REST client.
type restAPI struct{ c *client.Client }

// NewHandlerAPI is the API served by h (podrund's API handler) in this
// process, without a socket.
func NewHandlerAPI(h http.Handler) API {
	return restAPI{c: client.NewWithTransport(handlerTransport{h}).WithForce()}
}

func (a restAPI) Owned(ctx context.Context, dir string) ([]Owned, error) {
	var out []Owned
	for _, kind := range ownedKinds {
		var list struct {
			Items []metav1.PartialObjectMetadata `json:"items"`
		}
		err := a.c.List(ctx, resourceOf(kind), "", &list)
		if client.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", resourceOf(kind), err)
		}
		for _, it := range list.Items {
			file := it.Annotations[api.ManifestFileAnnotation]
			if file != "" && filepath.Dir(file) == dir {
				out = append(out, Owned{Key: Key{Kind: kind, Namespace: it.Namespace, Name: it.Name}, File: file})
			}
		}
	}
	return out, nil
}

func (a restAPI) Apply(ctx context.Context, key Key, obj runtime.Object) (string, error) {
	res := resourceOf(key.Kind)
	var cur metav1.PartialObjectMetadata
	err := a.c.Get(ctx, res, key.Namespace, key.Name, &cur)
	var stored metav1.PartialObjectMetadata
	switch {
	case client.IsNotFound(err):
		if err := a.c.Create(ctx, res, key.Namespace, obj, &stored); err != nil {
			return "", err
		}
		return "created", nil
	case err != nil:
		return "", err
	}
	if err := a.c.Update(ctx, res, key.Namespace, key.Name, obj, &stored); err != nil {
		return "", err
	}
	if stored.ResourceVersion == cur.ResourceVersion {
		return "unchanged", nil
	}
	return "configured", nil
}

func (a restAPI) Delete(ctx context.Context, key Key) error {
	err := a.c.Delete(ctx, resourceOf(key.Kind), key.Namespace, key.Name, client.DeleteOptions{}, nil)
	if client.IsNotFound(err) {
		return nil
	}
	return err
}

func (a restAPI) Exists(ctx context.Context, key Key) bool {
	return a.c.Get(ctx, resourceOf(key.Kind), key.Namespace, key.Name, nil) == nil
}

// setOwner marks obj as the file's.
func setOwner(obj runtime.Object, file string) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	ann := m.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[api.ManifestFileAnnotation] = file
	m.SetAnnotations(ann)
	return nil
}

// handlerTransport answers a request with an http.Handler in this
// process. The answers a pass reads are small objects and Status bodies,
// so buffering them is fine (no watches or streams go through here).
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil {
		req.Body = http.NoBody
	}
	w := &bufferedResponse{header: http.Header{}}
	t.h.ServeHTTP(w, req)
	if w.code == 0 {
		w.code = http.StatusOK
	}
	if w.code == http.StatusSwitchingProtocols {
		return nil, errors.New("an in-process request cannot be upgraded")
	}
	return &http.Response{StatusCode: w.code, Status: http.StatusText(w.code), Header: w.header,
		Body: io.NopCloser(&w.body), ContentLength: int64(w.body.Len()), Request: req,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}, nil
}

type bufferedResponse struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (w *bufferedResponse) Header() http.Header { return w.header }

func (w *bufferedResponse) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *bufferedResponse) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.body.Write(b)
}
