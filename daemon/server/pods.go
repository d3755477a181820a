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
	}, func(kept []*corev1.Pod, lm metav1.ListMeta) runtime.Object { return podList(kept, lm) })
}

func podList(items []*corev1.Pod, lm metav1.ListMeta) *corev1.PodList {
	return &corev1.PodList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PodList"}, ListMeta: lm, Items: derefAll(items)}
}

func (s *Server) getPod(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.pathPod(w, r, s.obj.Pod)
	if !ok {
		return
	}
	s.writeJSON(w, http.StatusOK, publicPod(rec))
}

// decodePod reads a Pod body for namespace ns (and, for PUT, name),
// defaults, validates and admits it as the API server would.
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
	if err := s.obj.PreparePod(pod); err != nil {
		return nil, err
	}
	warnPod(w, pod)
	return pod, nil
}

// warnPod adds the API server's Warning headers for a pod.
func warnPod(w http.ResponseWriter, pod *corev1.Pod) {
	addWarnings(w, api.PodWarnings(&pod.Spec, field.NewPath("spec")))
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
	opts, pod, ok := readWrite(s, w, r, objects.CreateOptions, func() (*corev1.Pod, error) {
		return s.decodePod(w, r, chi.URLParam(r, "ns"), "")
	})
	if !ok {
		return
	}
	out, err := s.obj.CreatePodAs(r.Context(), pod, opts)
	s.answer(w, http.StatusCreated, typedPod(out), err)
}

func (s *Server) putPod(w http.ResponseWriter, r *http.Request) {
	opts, next, ok := readWrite(s, w, r, objects.UpdateOptions, func() (*corev1.Pod, error) {
		return s.decodePod(w, r, chi.URLParam(r, "ns"), chi.URLParam(r, "name"))
	})
	if !ok {
		return
	}
	out, err := s.obj.UpdatePod(r.Context(), next, opts)
	s.answer(w, http.StatusOK, typedPod(out), err)
}

func (s *Server) patchPod(w http.ResponseWriter, r *http.Request) {
	pr, err := s.readPatch(w, r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	out, created, err := s.obj.PatchPod(r.Context(), chi.URLParam(r, "ns"), chi.URLParam(r, "name"), pr)
	if err == nil {
		warnPod(w, out)
	}
	s.answer(w, patchedCode(created), typedPod(out), err)
}

func (s *Server) deletePod(w http.ResponseWriter, r *http.Request) {
	opts, err := readDeleteOptions(w, r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	pod, err := s.obj.DeletePodAs(r.Context(), chi.URLParam(r, "ns"), chi.URLParam(r, "name"), opts, objects.Forced(r.URL.Query()))
	s.answer(w, http.StatusOK, typedPod(pod), err)
}

func (s *Server) deletePods(w http.ResponseWriter, r *http.Request) {
	req, err := objects.NewListRequest(objects.BucketPods, chi.URLParam(r, "ns"), r.URL.Query())
	if err != nil {
		s.writeError(w, err)
		return
	}
	opts, err := readDeleteOptions(w, r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	gone, err := s.obj.DeletePods(r.Context(), req, opts, objects.Forced(r.URL.Query()))
	if err != nil {
		s.writeError(w, err)
		return
	}
	for _, p := range gone {
		typedPod(p)
	}
	s.writeJSON(w, http.StatusOK, podList(gone, metav1.ListMeta{}))
}

// typedPod sets a pod's apiVersion and kind (nil stays nil).
func typedPod(p *corev1.Pod) *corev1.Pod {
	if p != nil {
		p.TypeMeta = podTypeMeta
	}
	return p
}
