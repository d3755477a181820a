package server

import (
	"bufio"
	"fmt"
	"mime"
	"net"
	"net/http"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/daemon/kubeapi"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
)

// negotiatedWriter carries what the request's Accept header asks of the
// answer down to writeBody and serveWatch, so that handlers need not
// thread the request through every write: a Table instead of the objects
// (kubectl get), their metadata alone (client-go's metadata client), or
// protobuf (client-go's typed clients).
type negotiatedWriter struct {
	http.ResponseWriter
	accept        string
	includeObject string
}

// negotiate wraps every response writer in a negotiatedWriter.
func (s *Server) negotiate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&negotiatedWriter{ResponseWriter: w, accept: r.Header.Get("Accept"),
			includeObject: r.URL.Query().Get("includeObject")}, r)
	})
}

// Unwrap lets http.ResponseController reach the connection.
func (n *negotiatedWriter) Unwrap() http.ResponseWriter { return n.ResponseWriter }

// Flush passes through for watch and follow streams.
func (n *negotiatedWriter) Flush() {
	if f, ok := n.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack passes through for exec's upgrade.
func (n *negotiatedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := n.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("the connection cannot be hijacked")
	}
	return hj.Hijack()
}

// target is the form w's request asks for, given the object v to answer
// with: a Table only for kinds that have one, protobuf only for objects.
func target(w http.ResponseWriter, v any) (kubeapi.Target, string) {
	n, ok := w.(*negotiatedWriter)
	if !ok {
		return kubeapi.Target{Media: kubeapi.MediaJSON}, ""
	}
	obj, isObject := v.(runtime.Object)
	t := kubeapi.Negotiate(n.accept, func(t kubeapi.Target) bool {
		if !isObject || t.Media != kubeapi.MediaJSON {
			return false
		}
		return (t.IsTable() && kubeapi.CanTable(obj)) || t.IsPartialMetadata(meta.IsListType(obj))
	})
	return t, n.includeObject
}

// encodeFor is v as the request behind w asks for it: the bytes and
// their Content-Type. Anything that cannot take the asked form is JSON,
// which every client reads (client-go decodes by the answer's
// Content-Type).
func (s *Server) encodeFor(w http.ResponseWriter, v any, contentType string, watchEvent bool, first bool) ([]byte, string, error) {
	t, include := target(w, v)
	switch {
	case t.IsPartialMetadata(false) || t.IsPartialMetadata(true):
		partial, err := kubeapi.AsPartialMetadata(v.(runtime.Object))
		if err != nil {
			return nil, "", err
		}
		v = partial
	case t.IsTable():
		table, err := kubeapi.AsTable(v.(runtime.Object), include, watchEvent && !first, s.clk.Now())
		if err != nil {
			return nil, "", err
		}
		v = table
	case t.Media == kubeapi.MediaProtobuf && !watchEvent:
		if obj, ok := v.(runtime.Object); ok && !obj.GetObjectKind().GroupVersionKind().Empty() {
			data, err := kubeapi.EncodeProtobuf(obj)
			if err == nil {
				return data, kubeapi.MediaProtobuf, nil
			}
			s.log.Debug("answer in JSON: no protobuf encoding", zap.Error(err))
		}
	}
	data, err := jsonMarshal(v)
	return data, contentType, err
}

// isProtobuf reports whether a Content-Type names the Kubernetes
// protobuf encoding.
func isProtobuf(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == kubeapi.MediaProtobuf
}

// readTypedBody reads a POST/PUT body and its format; a protobuf body
// comes back as JSON, to go through the same strict decoding and
// validation as one sent in JSON.
func readTypedBody(w http.ResponseWriter, r *http.Request) ([]byte, api.Format, error) {
	ct := r.Header.Get("Content-Type")
	if isProtobuf(ct) {
		data, err := readBody(w, r)
		if err != nil {
			return nil, 0, err
		}
		data, err = kubeapi.ProtobufToJSON(data)
		if err != nil {
			return nil, 0, api.NewBadRequest(fmt.Sprintf("decode protobuf body: %v", err))
		}
		return data, api.FormatJSON, nil
	}
	format, err := api.FormatOfContentType(ct)
	if err != nil {
		return nil, 0, err
	}
	data, err := readBody(w, r)
	return data, format, err
}
