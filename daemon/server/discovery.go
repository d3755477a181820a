package server

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/daemon/kubeapi"
	"github.com/podrun/podrun/daemon/openapi"
	"k8s.io/kube-openapi/pkg/cached"
	"k8s.io/kube-openapi/pkg/handler"
	"k8s.io/kube-openapi/pkg/handler3"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// mountDiscovery adds what real clients read before they touch an object
// (docs/contract.md §3): the discovery documents of /api and /apis, and
// the OpenAPI v2 and v3 documents. It runs after every other route is
// added: the verbs discovery lists are read from the router itself.
func (s *Server) mountDiscovery(r chi.Router) {
	var routes [][2]string
	// The walk function never fails, so neither does the walk.
	_ = chi.Walk(r, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routes = append(routes, [2]string{method, route})
		return nil
	})
	s.discovery = kubeapi.NewDiscovery(kubeapi.ServedFromRoutes(routes))

	r.Get("/api", s.getAPIVersions)
	r.Get("/apis", s.getAPIGroupList)
	for _, gv := range s.discovery.GroupVersions() {
		gv := gv
		path := "/api/" + gv.Version
		if gv.Group != "" {
			path = "/apis/" + gv.Group + "/" + gv.Version
			group := gv.Group
			r.Get("/apis/"+group, func(w http.ResponseWriter, r *http.Request) {
				s.writeJSON(w, http.StatusOK, s.discovery.APIGroup(group))
			})
		}
		r.Get(path, func(w http.ResponseWriter, r *http.Request) {
			s.writeJSON(w, http.StatusOK, s.discovery.APIResourceList(gv))
		})
	}

	// The documents are built on first use: most podrund runs are never
	// asked for them, and a build takes a few MiB for a while.
	resources := s.discovery.OpenAPIResources()
	v2 := handler.NewOpenAPIServiceLazy(cached.Once(cached.Func(func() (*spec.Swagger, string, error) {
		sw, err := openapi.SpecV2(resources)
		return sw, kubeapi.KubernetesVersion, err
	})))
	v2.RegisterOpenAPIVersionedService("/openapi/v2", r)

	v3 := handler3.NewOpenAPIService()
	known := map[string]bool{}
	for _, gv := range s.discovery.GroupVersions() {
		gv := gv
		name := "api/" + gv.Version
		if gv.Group != "" {
			name = "apis/" + gv.Group + "/" + gv.Version
		}
		known[name] = true
		v3.UpdateGroupVersionLazy(name, cached.Once(cached.Func(func() (*spec3.OpenAPI, string, error) {
			doc, err := openapi.SpecV3(gv, resources)
			return doc, kubeapi.KubernetesVersion + "-" + name, err
		})))
	}
	r.Get("/openapi/v3", v3.HandleDiscovery)
	r.Get("/openapi/v3/*", func(w http.ResponseWriter, r *http.Request) {
		// handler3 answers an unknown group version with an empty 200.
		if !known[strings.TrimPrefix(r.URL.Path, "/openapi/v3/")] {
			s.writeError(w, api.NewNotFound("path", r.URL.Path))
			return
		}
		v3.HandleGroupVersion(w, r)
	})
}

// getAPIVersions is GET /api: APIVersions, or with aggregated discovery's
// Accept the core group with its resources.
func (s *Server) getAPIVersions(w http.ResponseWriter, r *http.Request) {
	if wantsAggregated(r) {
		s.writeBody(w, http.StatusOK, kubeapi.AggregatedContentType, s.discovery.Aggregated(true))
		return
	}
	s.writeJSON(w, http.StatusOK, s.discovery.APIVersions())
}

// getAPIGroupList is GET /apis: APIGroupList, or aggregated discovery of
// the named groups.
func (s *Server) getAPIGroupList(w http.ResponseWriter, r *http.Request) {
	if wantsAggregated(r) {
		s.writeBody(w, http.StatusOK, kubeapi.AggregatedContentType, s.discovery.Aggregated(false))
		return
	}
	s.writeJSON(w, http.StatusOK, s.discovery.APIGroupList())
}

func wantsAggregated(r *http.Request) bool {
	t := kubeapi.Negotiate(r.Header.Get("Accept"), func(t kubeapi.Target) bool {
		return t.Media == kubeapi.MediaJSON && t.IsAggregatedDiscovery()
	})
	return t.IsAggregatedDiscovery()
}
