package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/daemon/store"
	"github.com/podrun/podrun/supervisor"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var podTypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}

func publicPod(rec *supervisor.PodRecord) *corev1.Pod {
	p := rec.Pod.DeepCopy()
	p.TypeMeta = podTypeMeta
	return p
}

func (s *Server) listPods(w http.ResponseWriter, r *http.Request) {
	serveList(s, w, r, store.BucketPods, func(ctx context.Context, ns string) ([]*corev1.Pod, uint64, error) {
		recs, rv, err := s.st.Pods().List(ctx, ns)
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
	rec, err := s.st.Pods().Get(r.Context(), chi.URLParam(r, "ns"), chi.URLParam(r, "name"))
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
	if err := s.admitPod(pod); err != nil {
		return nil, err
	}
	for _, text := range api.PodWarnings(&pod.Spec, field.NewPath("spec")) {
		w.Header().Add("Warning", api.WarningHeader(text))
	}
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

// newPodIdentity gives a pod the fields only the server sets.
func (s *Server) newPodIdentity(pod *corev1.Pod) {
	pod.UID = uuid.NewUUID()
	pod.CreationTimestamp = metav1.NewTime(s.clk.Now())
	pod.ResourceVersion = ""
	pod.DeletionTimestamp = nil
	pod.DeletionGracePeriodSeconds = nil
	pod.Generation = 1
	pod.Status = corev1.PodStatus{Phase: corev1.PodPending}
}

func (s *Server) createPod(w http.ResponseWriter, r *http.Request) {
	ns := chi.URLParam(r, "ns")
	pod, err := s.decodePod(w, r, ns, "")
	if err != nil {
		s.writeError(w, err)
		return
	}
	s.newPodIdentity(pod)
	rec, err := s.st.Pods().Create(r.Context(), &supervisor.PodRecord{Pod: pod})
	if err != nil {
		s.writeError(w, err)
		return
	}
	if err := s.startPod(r.Context(), rec); err != nil {
		// The pod cannot run: take it back so the client sees a clean failure.
		if _, derr := s.st.Pods().Delete(context.WithoutCancel(r.Context()), ns, pod.Name, pod.UID, nil); derr != nil {
			s.log.Error("remove pod that failed to start", zap.String("pod", ns+"/"+pod.Name), zap.Error(derr))
		}
		s.writeError(w, fmt.Errorf("start pod %s/%s: %w", ns, pod.Name, err))
		return
	}
	s.writeJSON(w, http.StatusCreated, publicPod(rec))
}

// startPod hands a stored pod to the engine. The engine's pod worker
// outlives the request, so it gets a context that the request's end does
// not cancel.
func (s *Server) startPod(ctx context.Context, rec *supervisor.PodRecord) error {
	e := s.eng()
	if e == nil {
		return api.NewServiceUnavailable("the pod engine is not running yet")
	}
	cp := &supervisor.PodRecord{Pod: rec.Pod.DeepCopy(), Engine: rec.Engine}
	return e.Start(context.WithoutCancel(ctx), cp)
}
