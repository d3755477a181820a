package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/go-chi/chi/v5"
	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/daemon/kubeapi"
	"github.com/podrun/podrun/daemon/objects"
	"github.com/podrun/podrun/supervisor"
	"go.uber.org/zap"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// writeJSON writes v with the given code.
func (s *Server) writeJSON(w http.ResponseWriter, code int, v any) {
	s.writeBody(w, code, "application/json", v)
}

// writeBody writes v with the given code and Content-Type (a JSON media
// type such as aggregated discovery's). Plain JSON answers take the form
// the request's Accept negotiates instead: a Table, or protobuf.
func (s *Server) writeBody(w http.ResponseWriter, code int, contentType string, v any) {
	var data []byte
	var err error
	if contentType == "application/json" {
		data, contentType, err = s.encodeFor(w, v, contentType, false, false)
	} else {
		data, err = jsonMarshal(v)
	}
	if err != nil {
		s.writeError(w, fmt.Errorf("encode response: %w", err))
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(code)
	if contentType != kubeapi.MediaProtobuf {
		data = append(data, '\n')
	}
	_, _ = w.Write(data)
}

// jsonMarshal is encoding/json's Marshal (the one JSON encoder answers use).
func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// writeError writes err as a v1 Status with its code; anything that is
// not already an API status is a 500 InternalError (and logged).
func (s *Server) writeError(w http.ResponseWriter, err error) {
	var se *api.StatusError
	if errors.Is(err, context.DeadlineExceeded) && !errors.As(err, &se) {
		// The request ran past Limits.RequestTimeout.
		se = api.NewTimeout(err.Error())
	} else {
		se = api.AsStatusError(err)
	}
	if d := se.ErrStatus.Details; d != nil && d.RetryAfterSeconds > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(d.RetryAfterSeconds)))
	}
	if se.Code() >= 500 {
		s.log.Warn("request failed", zap.Error(err))
	}
	data, _ := json.Marshal(se.Status())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(se.Code())
	_, _ = w.Write(append(data, '\n'))
}

// readObject reads a POST/PUT body (one object, at most MaxBodyBytes) in
// the format its Content-Type names (docs/contract.md §3: JSON, YAML with
// application/yaml, protobuf) and decodes it under the request's
// fieldValidation (Strict, Warn (the default) or Ignore), each unknown
// field a Warning header under Warn.
func (s *Server) readObject(w http.ResponseWriter, r *http.Request) (runtime.Object, error) {
	validation, err := api.ParseFieldValidation(r.URL.Query().Get("fieldValidation"), optionsKind(r.Method))
	if err != nil {
		return nil, err
	}
	data, format, err := readTypedBody(w, r)
	if err != nil {
		return nil, err
	}
	obj, warnings, err := api.DecodeObjectWith(data, format, validation)
	addWarnings(w, warnings)
	return obj, err
}

// optionsKind names the options a request of this method carries, for
// the Status of a bad option.
func optionsKind(method string) string {
	switch method {
	case http.MethodPut:
		return "UpdateOptions"
	case http.MethodPatch:
		return "PatchOptions"
	}
	return "CreateOptions"
}

// addWarnings sends each text as a Warning header (`299 - "text"`), as
// the API server sends its warnings, within its bounds
// (api.BoundWarnings); call it before the status is written.
func addWarnings(w http.ResponseWriter, texts []string) {
	for _, text := range api.BoundWarnings(texts) {
		w.Header().Add("Warning", api.WarningHeader(text))
	}
}

const errEmptyBody = "the request body is empty"

// readBody reads a non-empty body of at most MaxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, api.NewRequestEntityTooLarge(fmt.Sprintf(
			"the request body is larger than the limit of %d bytes", MaxBodyBytes))
	}
	if err != nil {
		return nil, api.NewBadRequest(fmt.Sprintf("read request body: %v", err))
	}
	if len(data) == 0 {
		return nil, api.NewBadRequest(errEmptyBody)
	}
	return data, nil
}

// queryBool parses a boolean query parameter ("true", "1", ...); absent is false.
func queryBool(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, api.NewBadRequest(fmt.Sprintf("query parameter %s=%q is not a boolean", name, v))
	}
	return b, nil
}

// queryInt parses an optional non-negative integer query parameter.
func queryInt(r *http.Request, name string) (*int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return nil, api.NewBadRequest(fmt.Sprintf("query parameter %s=%q must be a non-negative integer", name, v))
	}
	return &n, nil
}

// answer writes obj with code, or err when there is one.
func (s *Server) answer(w http.ResponseWriter, code int, obj any, err error) {
	if err != nil {
		s.writeError(w, err)
		return
	}
	s.writeJSON(w, code, obj)
}

// readWrite reads what a create (POST) or update (PUT) starts from: the
// query's options (objects.CreateOptions or objects.UpdateOptions), then
// the body through decode. It answers the first error itself; ok is false
// then.
func readWrite[T any](s *Server, w http.ResponseWriter, r *http.Request,
	options func(url.Values, string) (objects.WriteOptions, error), decode func() (T, error)) (opts objects.WriteOptions, obj T, ok bool) {
	opts, err := options(r.URL.Query(), r.UserAgent())
	if err == nil {
		obj, err = decode()
	}
	if err != nil {
		s.writeError(w, err)
		return opts, obj, false
	}
	return opts, obj, true
}

// pathPod reads the pod the path's {ns} and {name} name through get
// (Objects.Pod, or Objects.LivePod for what only a live pod has). It
// answers a failure itself; ok is false then.
func (s *Server) pathPod(w http.ResponseWriter, r *http.Request,
	get func(ctx context.Context, ns, name string) (*supervisor.PodRecord, error)) (rec *supervisor.PodRecord, ok bool) {
	rec, err := get(r.Context(), chi.URLParam(r, "ns"), chi.URLParam(r, "name"))
	if err != nil {
		s.writeError(w, err)
		return nil, false
	}
	return rec, true
}

// patchedCode is a PATCH's status: 201 when the patch created the object
// (server-side apply), else 200.
func patchedCode(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

// readOptionalBody reads a body that may be empty (a DELETE's options),
// at most MaxBodyBytes.
func readOptionalBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	data, err := readBody(w, r)
	var se *api.StatusError
	if errors.As(err, &se) && se.Status().Message == errEmptyBody {
		return nil, nil
	}
	return data, err
}

// readDeleteOptions reads a DELETE's options from its body or query. A
// typed client-go client sends the body in protobuf, as it sends objects.
func readDeleteOptions(w http.ResponseWriter, r *http.Request) (*metav1.DeleteOptions, error) {
	body, err := readOptionalBody(w, r)
	if err != nil {
		return nil, err
	}
	if len(body) > 0 && isProtobuf(r.Header.Get("Content-Type")) {
		if body, err = kubeapi.ProtobufToJSON(body); err != nil {
			return nil, api.NewBadRequest(fmt.Sprintf("decode protobuf DeleteOptions: %v", err))
		}
	}
	return objects.DeleteOptions(r.URL.Query(), body)
}

// readPatch reads a PATCH: its type from the Content-Type, its body and
// its options.
func (s *Server) readPatch(w http.ResponseWriter, r *http.Request) (*objects.PatchRequest, error) {
	pt, err := objects.PatchType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, err
	}
	body, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	return objects.NewPatchRequest(r.URL.Query(), pt, body, r.UserAgent())
}
