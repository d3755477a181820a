package server

import (
	"context"
	"fmt"
	"net/http"
	"sort"

	"github.com/go-chi/chi/v5"
	"github.com/podrun/podrun/api"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podrund stores no Namespace objects: a namespace exists while an object
// lives in it, and "default" always does, as on a cluster. The read-only
// namespaces resource (docs/contract.md §3) lets kubectl and client-go,
// which list or get namespaces, see them.

// namespaces are the namespaces of every stored object, with the oldest
// object's creation time, sorted by name.
func (s *Server) namespaces(ctx context.Context) ([]corev1.Namespace, error) {
	created := map[string]metav1.Time{metav1.NamespaceDefault: {}}
	note := func(m metav1.Object) {
		t, seen := created[m.GetNamespace()]
		if c := m.GetCreationTimestamp(); !seen || t.IsZero() || c.Before(&t) {
			created[m.GetNamespace()] = c
		}
	}
	recs, _, err := s.obj.PodRecords(ctx, "")
	if err != nil {
		return nil, err
	}
	for _, rec := range recs {
		note(rec.Pod)
	}
	if err := noteAll(ctx, s.obj.ConfigMaps().List, note); err != nil {
		return nil, err
	}
	if err := noteAll(ctx, s.obj.Secrets().List, note); err != nil {
		return nil, err
	}
	if err := noteAll(ctx, s.obj.Events().List, note); err != nil {
		return nil, err
	}
	if err := noteAll(ctx, s.obj.Jobs().List, note); err != nil {
		return nil, err
	}
	out := make([]corev1.Namespace, 0, len(created))
	for name, t := range created {
		out = append(out, corev1.Namespace{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: t},
			Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// noteAll calls note on every object list returns in all namespaces.
func noteAll[T metav1.Object](ctx context.Context, list func(context.Context, string) ([]T, uint64, error),
	note func(metav1.Object)) error {
	items, _, err := list(ctx, "")
	for _, it := range items {
		note(it)
	}
	return err
}

func (s *Server) listNamespaces(w http.ResponseWriter, r *http.Request) {
	if watch, _ := queryBool(r, "watch"); watch {
		s.writeError(w, api.NewMethodNotAllowed("watch is not supported on namespaces: podrund derives them from the objects"))
		return
	}
	nss, err := s.namespaces(r.Context())
	if err != nil {
		s.writeError(w, fmt.Errorf("list namespaces: %w", err))
		return
	}
	s.writeJSON(w, http.StatusOK, &corev1.NamespaceList{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "NamespaceList"}, Items: nss})
}

func (s *Server) getNamespace(w http.ResponseWriter, r *http.Request) {
	nss, err := s.namespaces(r.Context())
	if err != nil {
		s.writeError(w, fmt.Errorf("get namespace: %w", err))
		return
	}
	name := chi.URLParam(r, "ns")
	for i := range nss {
		if nss[i].Name == name {
			s.writeJSON(w, http.StatusOK, &nss[i])
			return
		}
	}
	s.writeError(w, api.NewNotFound("namespaces", name))
}
