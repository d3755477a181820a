// Package fake is an in-memory podrund REST server on a unix socket for
// tests of podctl and of other clients. It keeps objects as generic JSON,
// hands out resourceVersions, streams watches, terminates pods with a
// configurable delay and answers logs, exec and images from test hooks.
// It is no model of the engine: tests set pod status with Set.
package fake

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/api/client"
)

// Object is a stored object as generic JSON.
type Object = map[string]any

// ExecFunc runs an exec'd command: stdin is nil unless requested; resize
// carries the client's terminal sizes.
type ExecFunc func(container string, command []string, tty bool, stdin *ExecStdin, stdout, stderr *ExecOutput, resize <-chan TerminalSize) int

// Server is the fake podrund.
type Server struct {
	// Socket is the path to pass to client.New or podctl --socket.
	Socket string

	mu   sync.Mutex
	objs map[client.Resource]map[string]Object
	rv   int
	uid  int
	subs map[*subscriber]struct{}
	reqs []string

	// Reject, when set, can refuse a POST or PUT with a Status (e.g. Invalid).
	Reject func(method string, res client.Resource, obj Object) *metav1.Status
	// DeleteDelay is how long a deleted pod stays visible (with
	// deletionTimestamp) before it is gone; FinalizePod edits its final
	// state (phase, container states) just before the DELETED event.
	DeleteDelay time.Duration
	FinalizePod func(pod Object)
	// Logs maps "namespace/pod/container" to the log text.
	Logs map[string]string
	// Exec answers exec requests (nil: 404).
	Exec   ExecFunc
	Images []api.Image
	// Ops maps "namespace/pod/sub" (sub: blockers, timeline, stats) to the
	// body of podrun's operator paths; missing keys answer 404.
	Ops map[string]any

	srv *httptest.Server
}

// Start runs a fake server until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		Socket: filepath.Join(t.TempDir(), "podrund.sock"),
		objs:   map[client.Resource]map[string]Object{},
		subs:   map[*subscriber]struct{}{},
		Logs:   map[string]string{},
		Ops:    map[string]any{},
	}
	l, err := net.Listen("unix", s.Socket)
	if err != nil {
		t.Fatalf("fake podrund: listen: %v", err)
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Listener.Close()
	s.srv.Listener = l
	s.srv.Start()
	t.Cleanup(s.Close)
	return s
}

// Close stops the server and ends every watch.
func (s *Server) Close() {
	s.mu.Lock()
	for sub := range s.subs {
		sub.close()
		delete(s.subs, sub)
	}
	s.mu.Unlock()
	s.srv.Close()
}

// EndWatches ends every open watch stream, as a restarting podrund would.
func (s *Server) EndWatches() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub := range s.subs {
		sub.close()
		delete(s.subs, sub)
	}
}

// SetLog sets the log text of a container (safe while serving).
func (s *Server) SetLog(ns, pod, container, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Logs[ns+"/"+pod+"/"+container] = text
}

// SetOp sets the body of an operator path (blockers, timeline, stats).
func (s *Server) SetOp(ns, pod, sub string, body any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Ops[ns+"/"+pod+"/"+sub] = body
}

// Requests are "METHOD PATH?QUERY" of every request so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reqs...)
}

// Get returns a copy of a stored object (nil when absent).
func (s *Server) Get(res client.Resource, ns, name string) Object {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objs[res][ns+"/"+name]
	if o == nil {
		return nil
	}
	return deepCopy(o)
}

// Set stores obj (any JSON-encodable object) as the engine would, with a
// new resourceVersion, and publishes ADDED or MODIFIED.
func (s *Server) Set(res client.Resource, obj any) {
	o := toObject(obj)
	s.mu.Lock()
	defer s.mu.Unlock()
	ns, name := nsName(o)
	key := ns + "/" + name
	typ := client.Modified
	if old := s.objs[res][key]; old == nil {
		typ = client.Added
		s.fillNew(res, o, ns)
	} else {
		for _, k := range []string{"uid", "creationTimestamp"} {
			if meta(o)[k] == nil {
				meta(o)[k] = meta(old)[k]
			}
		}
	}
	s.rv++
	meta(o)["resourceVersion"] = fmt.Sprint(s.rv)
	s.store(res, key, o)
	s.publish(res, typ, o)
}

// Remove deletes an object at once and publishes DELETED.
func (s *Server) Remove(res client.Resource, ns, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeLocked(res, ns+"/"+name)
}

func (s *Server) removeLocked(res client.Resource, key string) {
	o := s.objs[res][key]
	if o == nil {
		return
	}
	delete(s.objs[res], key)
	s.publish(res, client.Deleted, o)
}

func (s *Server) store(res client.Resource, key string, o Object) {
	if s.objs[res] == nil {
		s.objs[res] = map[string]Object{}
	}
	s.objs[res][key] = o
}

// fillNew sets what the server sets on creation.
func (s *Server) fillNew(res client.Resource, o Object, ns string) {
	s.uid++
	m := meta(o)
	m["namespace"] = ns
	m["uid"] = fmt.Sprintf("uid-%d", s.uid)
	if _, ok := m["creationTimestamp"]; !ok || m["creationTimestamp"] == nil {
		m["creationTimestamp"] = time.Now().UTC().Format(time.RFC3339)
	}
	o["kind"] = res.Kind()
	o["apiVersion"] = "v1"
	if res == client.Jobs || res == client.CronJobs {
		o["apiVersion"] = "batch/v1"
	}
}

func toObject(obj any) Object {
	b, err := json.Marshal(obj)
	if err != nil {
		panic(fmt.Sprintf("fake podrund: encode %T: %v", obj, err)) // test input only
	}
	var o Object
	if err := json.Unmarshal(b, &o); err != nil {
		panic(fmt.Sprintf("fake podrund: decode %T: %v", obj, err))
	}
	return o
}

func deepCopy(o Object) Object { return toObject(o) }

func meta(o Object) map[string]any {
	m, ok := o["metadata"].(map[string]any)
	if !ok {
		m = map[string]any{}
		o["metadata"] = m
	}
	return m
}

func nsName(o Object) (string, string) {
	m := meta(o)
	ns, _ := m["namespace"].(string)
	name, _ := m["name"].(string)
	if ns == "" {
		ns = "default"
	}
	return ns, name
}

// sameContent compares what a client may change: everything but status
// and the server-set metadata.
func sameContent(a, b Object) bool {
	strip := func(o Object) Object {
		c := deepCopy(o)
		delete(c, "status")
		m := meta(c)
		for _, k := range []string{"resourceVersion", "uid", "creationTimestamp", "namespace", "deletionTimestamp", "generation"} {
			delete(m, k)
		}
		delete(c, "kind")
		delete(c, "apiVersion")
		return c
	}
	return reflect.DeepEqual(strip(a), strip(b))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeStatus(w http.ResponseWriter, code int, reason metav1.StatusReason, format string, args ...any) {
	writeJSON(w, code, metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Code: int32(code), Reason: reason,
		Message: fmt.Sprintf(format, args...),
	})
}

func notFound(w http.ResponseWriter, res client.Resource, name string) {
	writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound, "%s %q not found", res, name)
}

// splitPath parses /api/v1[/namespaces/NS]/RES[/NAME[/SUB]] and the batch
// equivalent.
func splitPath(p string) (res client.Resource, ns, name, sub string, ok bool) {
	switch {
	case strings.HasPrefix(p, "/api/v1/"):
		p = strings.TrimPrefix(p, "/api/v1/")
	case strings.HasPrefix(p, "/apis/batch/v1/"):
		p = strings.TrimPrefix(p, "/apis/batch/v1/")
	default:
		return "", "", "", "", false
	}
	parts := strings.Split(p, "/")
	if len(parts) >= 2 && parts[0] == "namespaces" {
		ns, parts = parts[1], parts[2:]
	}
	if len(parts) == 0 || len(parts) > 3 {
		return "", "", "", "", false
	}
	res = client.Resource(parts[0])
	if len(parts) > 1 {
		name = parts[1]
	}
	if len(parts) > 2 {
		sub = parts[2]
	}
	return res, ns, name, sub, true
}
