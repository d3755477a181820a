package fake

import (
	"encoding/json"
	"io"
	"k8s.io/apimachinery/pkg/version"
	"net/http"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/api/client"
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("watch") != "true" { // a watch is logged once subscribed
		s.mu.Lock()
		s.reqs = append(s.reqs, r.Method+" "+r.URL.RequestURI())
		s.mu.Unlock()
	}
	switch {
	case r.URL.Path == "/version":
		writeJSON(w, 200, api.Version{Version: "v0.0.0-fake", Info: version.Info{GoVersion: "go-fake"}, Containerd: "fake"})
		return
	case r.URL.Path == "/readyz" || r.URL.Path == "/healthz":
		_, _ = io.WriteString(w, "ok")
		return
	case strings.HasPrefix(r.URL.Path, "/images"):
		s.serveImages(w, r)
		return
	}
	res, ns, name, sub, ok := splitPath(r.URL.Path)
	if !ok {
		writeStatus(w, 404, metav1.StatusReasonNotFound, "the server could not find the requested resource")
		return
	}
	switch {
	case sub == "log" && r.Method == "GET":
		s.serveLog(w, r, ns, name)
	case sub == "exec" && (r.Method == "POST" || r.Method == "GET"):
		s.serveExec(w, r, ns, name)
	case (sub == "blockers" || sub == "timeline" || sub == "stats") && r.Method == "GET":
		s.mu.Lock()
		body, ok := s.Ops[ns+"/"+name+"/"+sub]
		s.mu.Unlock()
		if !ok {
			writeStatus(w, 404, metav1.StatusReasonNotFound, "no %s for pod %q", sub, name)
			return
		}
		writeJSON(w, 200, body)
	case sub != "":
		writeStatus(w, 404, metav1.StatusReasonNotFound, "no subresource %q", sub)
	case name == "" && r.Method == "GET" && r.URL.Query().Get("watch") == "true":
		s.serveWatch(w, r, res, ns)
	case name == "" && r.Method == "GET":
		s.serveList(w, res, ns)
	case name == "" && r.Method == "POST":
		s.serveCreate(w, r, res, ns)
	case r.Method == "GET":
		s.serveGet(w, res, ns, name)
	case r.Method == "PUT":
		s.serveUpdate(w, r, res, ns, name)
	case r.Method == "DELETE":
		s.serveDelete(w, res, ns, name)
	default:
		writeStatus(w, 405, metav1.StatusReasonMethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path)
	}
}

func (s *Server) serveList(w http.ResponseWriter, res client.Resource, ns string) {
	s.mu.Lock()
	var keys []string
	for k := range s.objs[res] {
		if ns == "" || strings.HasPrefix(k, ns+"/") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	items := []Object{}
	for _, k := range keys {
		items = append(items, deepCopy(s.objs[res][k]))
	}
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{"kind": res.Kind() + "List", "apiVersion": "v1", "items": items})
}

func (s *Server) serveGet(w http.ResponseWriter, res client.Resource, ns, name string) {
	if o := s.Get(res, ns, name); o != nil {
		writeJSON(w, 200, o)
		return
	}
	notFound(w, res, name)
}

func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, res client.Resource) Object {
	var o Object
	if err := json.NewDecoder(r.Body).Decode(&o); err != nil {
		writeStatus(w, 400, metav1.StatusReasonBadRequest, "decode body: %v", err)
		return nil
	}
	if s.Reject != nil {
		if st := s.Reject(r.Method, res, o); st != nil {
			writeJSON(w, int(st.Code), st)
			return nil
		}
	}
	return o
}

func (s *Server) serveCreate(w http.ResponseWriter, r *http.Request, res client.Resource, ns string) {
	o := s.decodeBody(w, r, res)
	if o == nil {
		return
	}
	meta(o)["namespace"] = ns
	_, name := nsName(o)
	s.mu.Lock()
	if s.objs[res][ns+"/"+name] != nil {
		s.mu.Unlock()
		writeStatus(w, 409, metav1.StatusReasonAlreadyExists, "%s %q already exists", res, name)
		return
	}
	s.fillNew(res, o, ns)
	s.rv++
	meta(o)["resourceVersion"] = itoa(s.rv)
	s.store(res, ns+"/"+name, o)
	s.publish(res, client.Added, o)
	out := deepCopy(o)
	s.mu.Unlock()
	writeJSON(w, 201, out)
}

// serveUpdate keeps the resourceVersion when nothing a client sets changed,
// so apply can print "unchanged".
func (s *Server) serveUpdate(w http.ResponseWriter, r *http.Request, res client.Resource, ns, name string) {
	o := s.decodeBody(w, r, res)
	if o == nil {
		return
	}
	meta(o)["namespace"] = ns
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.objs[res][ns+"/"+name]
	if old == nil {
		notFound(w, res, name)
		return
	}
	if sameContent(old, o) {
		writeJSON(w, 200, deepCopy(old))
		return
	}
	for _, k := range []string{"uid", "creationTimestamp"} {
		meta(o)[k] = meta(old)[k]
	}
	o["status"], o["kind"], o["apiVersion"] = old["status"], old["kind"], old["apiVersion"]
	s.rv++
	meta(o)["resourceVersion"] = itoa(s.rv)
	s.store(res, ns+"/"+name, o)
	s.publish(res, client.Modified, o)
	writeJSON(w, 200, deepCopy(o))
}

// serveDelete removes objects at once, except pods, which stay visible
// with a deletionTimestamp for DeleteDelay.
func (s *Server) serveDelete(w http.ResponseWriter, res client.Resource, ns, name string) {
	key := ns + "/" + name
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objs[res][key]
	if o == nil {
		notFound(w, res, name)
		return
	}
	if res != client.Pods {
		s.removeLocked(res, key)
		writeJSON(w, 200, deepCopy(o))
		return
	}
	if meta(o)["deletionTimestamp"] == nil {
		meta(o)["deletionTimestamp"] = time.Now().UTC().Format(time.RFC3339)
		s.rv++
		meta(o)["resourceVersion"] = itoa(s.rv)
		s.publish(res, client.Modified, o)
		time.AfterFunc(s.DeleteDelay, func() { s.finishPod(key) })
	}
	writeJSON(w, 200, deepCopy(o))
}

func (s *Server) finishPod(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objs[client.Pods][key]
	if o == nil {
		return
	}
	if s.FinalizePod != nil {
		s.FinalizePod(o)
	}
	s.rv++
	meta(o)["resourceVersion"] = itoa(s.rv)
	s.removeLocked(client.Pods, key)
}

func (s *Server) serveLog(w http.ResponseWriter, r *http.Request, ns, name string) {
	key := ns + "/" + name + "/" + r.URL.Query().Get("container")
	s.mu.Lock()
	text, ok := s.Logs[key]
	s.mu.Unlock()
	if !ok {
		writeStatus(w, 400, metav1.StatusReasonBadRequest, "no log for %s", key)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, text)
}

func (s *Server) serveImages(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ref := r.URL.Query().Get("ref")
	switch {
	case r.URL.Path == "/images" && r.Method == "GET":
		writeJSON(w, 200, api.ImageList{Items: append([]api.Image{}, s.Images...)})
	case r.URL.Path == "/images/import" && r.Method == "POST":
		// The fake's "tarball" is the image name.
		b, _ := io.ReadAll(r.Body)
		img := api.Image{Name: strings.TrimSpace(string(b)), ID: "sha256:0123456789abcdef", Size: int64(len(b))}
		s.Images = append(s.Images, img)
		writeJSON(w, 200, api.ImageList{Items: []api.Image{img}})
	case r.URL.Path == "/images/pull" && r.Method == "POST":
		img := api.Image{Name: ref, ID: "sha256:fedcba9876543210", Size: 1000}
		s.Images = append(s.Images, img)
		writeJSON(w, 200, img)
	case r.URL.Path == "/images" && r.Method == "DELETE":
		for i, img := range s.Images {
			if img.Name == ref {
				s.Images = append(s.Images[:i], s.Images[i+1:]...)
				writeJSON(w, 200, img)
				return
			}
		}
		writeStatus(w, 404, metav1.StatusReasonNotFound, "image %q not found", ref)
	default:
		writeStatus(w, 404, metav1.StatusReasonNotFound, "the server could not find the requested resource")
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
