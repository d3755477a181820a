package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/daemon/objects"
	"github.com/podrun/podrun/supervisor"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var podTypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}

func publicPod(rec *supervisor.PodRecord) *corev1.Pod {
	p := rec.Pod.DeepCopy()
	p.TypeMeta = podTypeMeta
	return p
}

func (s *Server) listPods(w http.ResponseWriter, r *http.Request) {
	serveList(s, w, r, objects.BucketPods, func(ctx context.Context, ns string) ([]*corev1.Pod, uint64, error) {
		recs, rv, err := s.obj.PodRecords(ctx, ns)
		pods := make([]*corev1.Pod, 0, len(recs))
		for _, rec := range recs {
			pods = append(pods, publicPod(rec))
		}
		return pods, rv, err
	}, func(kept []*corev1.Pod, rv string) runtime.Object {
		return &corev1.PodList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PodList"},
			ListMeta: metav1.ListMeta{ResourceVersion: rv}, Items: derefAll(kept)}
	})
}

func (s *Server) getPod(w http.ResponseWriter, r *http.Request) {
	rec, err := s.obj.Pod(r.Context(), chi.URLParam(r, "ns"), chi.URLParam(r, "name"))
	if err != nil {
		s.writeError(w, err)
		return
	}
	s.writeJSON(w, http.StatusOK, publicPod(rec))
}

// decodePod reads a Pod body for namespace ns (and, for PUT, name),
// defaults and validates it as the API server would.
func (s *Server) decodePod(w http.ResponseWriter, r *http.Request, ns, name string) (*corev1.Pod, error) {
	obj, err := s.readObject(w, r)
	if err != nil {
		return nil, err
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, api.NewBadRequest(fmt.Sprintf("expected a Pod, got %s", obj.GetObjectKind().GroupVersionKind().Kind))
	}
	if err := checkPathMeta(&pod.ObjectMeta, ns, name); err != nil {
		return nil, err
	}
	if pod.Name == "" && pod.GenerateName != "" {
		pod.Name = pod.GenerateName + rand.String(5)
	}
	api.DefaultPod(pod)
	if err := api.Validate(pod); err != nil {
		return nil, err
	}
	if err := s.obj.AdmitPod(pod); err != nil {
		return nil, err
	}
	addWarnings(w, api.PodWarnings(&pod.Spec, field.NewPath("spec")))
	return pod, nil
}

// checkPathMeta fills the namespace from the path and refuses a body that
// names another namespace or (PUT) another object.
func checkPathMeta(m *metav1.ObjectMeta, ns, name string) error {
	if m.Namespace == "" {
		m.Namespace = ns
	}
	if m.Namespace != ns {
		return api.NewBadRequest(fmt.Sprintf(
			"the namespace of the provided object (%s) does not match the namespace sent on the request (%s)", m.Namespace, ns))
	}
	if name != "" && m.Name != name {
		return api.NewBadRequest(fmt.Sprintf(
			"the name of the object (%s) does not match the name on the URL (%s)", m.Name, name))
	}
	return nil
}

func (s *Server) createPod(w http.ResponseWriter, r *http.Request) {
	ns := chi.URLParam(r, "ns")
	pod, err := s.decodePod(w, r, ns, "")
	if err != nil {
		s.writeError(w, err)
		return
	}
	rec, err := s.obj.SubmitPod(r.Context(), pod)
	if err != nil {
		s.writeError(w, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, publicPod(rec))
}

func (s *Server) putPod(w http.ResponseWriter, r *http.Request) {
	ns, name := chi.URLParam(r, "ns"), chi.URLParam(r, "name")
	next, err := s.decodePod(w, r, ns, name)
	if err != nil {
		s.writeError(w, err)
		return
	}
	if err := s.refuseManagedPod(r, ns, name); err != nil {
		s.writeError(w, err)
		return
	}
	out, err := s.obj.ApplyPod(r.Context(), next)
	if err != nil {
		s.writeError(w, err)
		return
	}
	out.TypeMeta = podTypeMeta
	s.writeJSON(w, http.StatusOK, out)
}

func (s *Server) deletePod(w http.ResponseWriter, r *http.Request) {
	grace, err := queryInt(r, "gracePeriodSeconds")
	if err != nil {
		s.writeError(w, err)
		return
	}
	if err := s.refuseManagedPod(r, chi.URLParam(r, "ns"), chi.URLParam(r, "name")); err != nil {
		s.writeError(w, err)
		return
	}
	pod, err := s.obj.RequestDeletion(r.Context(), chi.URLParam(r, "ns"), chi.URLParam(r, "name"), grace)
	if err != nil {
		s.writeError(w, err)
		return
	}
	pod.TypeMeta = podTypeMeta
	s.writeJSON(w, http.StatusOK, pod)
}

// refuseManagedPod refuses an unforced write to a pod a manifest file
// owns; a pod that is not stored is left to the write to report.
func (s *Server) refuseManagedPod(r *http.Request, ns, name string) error {
	rec, err := s.obj.Pod(r.Context(), ns, name)
	if err != nil {
		return nil
	}
	return objects.RefuseManagedWrite("Pod", rec.Pod, objects.Forced(r.URL.Query()))
}
