package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/daemon/kubeapi"
	"github.com/podrun/podrun/daemon/objects"
	"github.com/podrun/podrun/supervisor"
)

func (s *Server) getVersion(w http.ResponseWriter, r *http.Request) {
	v := api.Version{Info: kubeapi.VersionInfo(s.o.Version, s.o.GitCommit), Version: s.o.Version}
	if v.Version == "" {
		v.Version = "dev"
	}
	if s.o.ContainerdVersion != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		v.Containerd = s.o.ContainerdVersion(ctx)
		cancel()
	}
	s.writeJSON(w, http.StatusOK, v)
}

func (s *Server) getHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("ok\n"))
}

// getReadyz is 200 once pods are re-adopted and while containerd answers;
// otherwise 503 with the reason. ?verbose lists the checks and the host's
// notes (as the API server's /readyz?verbose does).
func (s *Server) getReadyz(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		s.writeError(w, api.NewServiceUnavailable("podrund is starting: re-adopting pods"))
		return
	}
	if s.o.Images == nil {
		s.writeError(w, api.NewServiceUnavailable("no container runtime is connected"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if err := s.o.Images.Ready(ctx); err != nil {
		s.writeError(w, api.NewServiceUnavailable(fmt.Sprintf("containerd is unreachable: %v", err)))
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	if _, verbose := r.URL.Query()["verbose"]; !verbose {
		_, _ = w.Write([]byte("ok\n"))
		return
	}
	var b strings.Builder
	b.WriteString("[+]pods-readopted ok\n[+]containerd ok\n")
	for _, note := range s.o.ReadyzNotes {
		fmt.Fprintf(&b, "[i]%s\n", note)
	}
	b.WriteString("readyz check passed\n")
	_, _ = w.Write([]byte(b.String()))
}

func (s *Server) getMetrics(w http.ResponseWriter, r *http.Request) {
	if s.o.Metrics == nil {
		s.writeError(w, api.NewServiceUnavailable("metrics are not enabled"))
		return
	}
	s.o.Metrics.Handler().ServeHTTP(w, r)
}

func (s *Server) images(w http.ResponseWriter) (Images, bool) {
	if s.o.Images == nil {
		s.writeError(w, api.NewServiceUnavailable("no container runtime is connected"))
		return nil, false
	}
	return s.o.Images, true
}

func toImage(st supervisor.ImageStatus) api.Image {
	return api.Image{Name: st.Ref, ID: st.ID, Size: st.Size}
}

func (s *Server) listImages(w http.ResponseWriter, r *http.Request) {
	im, ok := s.images(w)
	if !ok {
		return
	}
	list, err := im.ListImages(r.Context())
	if err != nil {
		s.writeError(w, fmt.Errorf("list images: %w", err))
		return
	}
	s.writeJSON(w, http.StatusOK, imageList(list))
}

func imageList(list []supervisor.ImageStatus) api.ImageList {
	out := api.ImageList{Items: []api.Image{}}
	for _, st := range list {
		out.Items = append(out.Items, toImage(st))
	}
	return out
}

// importImage takes an OCI-layout or docker-archive tarball as the body (no
// 3 MiB limit: images are large).
func (s *Server) importImage(w http.ResponseWriter, r *http.Request) {
	im, ok := s.images(w)
	if !ok {
		return
	}
	list, err := im.ImportImage(r.Context(), r.Body)
	if err != nil {
		s.writeError(w, objects.ImageError("", fmt.Errorf("import image: %w", err)))
		return
	}
	s.writeJSON(w, http.StatusOK, imageList(list))
}

// imageRef is images plus the ?ref= that pull and remove require.
func (s *Server) imageRef(w http.ResponseWriter, r *http.Request) (Images, string, bool) {
	im, ok := s.images(w)
	if !ok {
		return nil, "", false
	}
	ref := r.URL.Query().Get("ref")
	if ref == "" {
		s.writeError(w, api.NewBadRequest("query parameter ref is required"))
		return nil, "", false
	}
	return im, ref, true
}

func (s *Server) pullImage(w http.ResponseWriter, r *http.Request) {
	im, ref, ok := s.imageRef(w, r)
	if !ok {
		return
	}
	st, err := im.PullImage(r.Context(), ref, nil)
	if err != nil {
		s.writeError(w, objects.ImageError(ref, fmt.Errorf("pull image %s: %w", ref, err)))
		return
	}
	s.writeJSON(w, http.StatusOK, toImage(st))
}

func (s *Server) removeImage(w http.ResponseWriter, r *http.Request) {
	im, ref, ok := s.imageRef(w, r)
	if !ok {
		return
	}
	st, err := im.ImageStatus(r.Context(), ref)
	if err != nil {
		s.writeError(w, objects.ImageError(ref, fmt.Errorf("look up image %s: %w", ref, err)))
		return
	}
	if !st.Present {
		s.writeError(w, api.NewNotFound("image", ref))
		return
	}
	if err := im.RemoveImage(r.Context(), ref); err != nil {
		s.writeError(w, objects.ImageError(ref, fmt.Errorf("remove image %s: %w", ref, err)))
		return
	}
	s.writeJSON(w, http.StatusOK, toImage(st))
}
