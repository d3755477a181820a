package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// StatusError is an API error carrying the v1 Status body that the REST
// server returns and podctl prints. It satisfies apierrors.APIStatus, so
// apierrors.IsNotFound, IsInvalid, ReasonForError, ... work on it.
type StatusError struct {
	ErrStatus metav1.Status
}

var _ apierrors.APIStatus = (*StatusError)(nil)

// Error returns the Status message, as kubectl prints it.
func (e *StatusError) Error() string { return e.ErrStatus.Message }

// Code returns the HTTP status code.
func (e *StatusError) Code() int { return int(e.ErrStatus.Code) }

// Status returns the full v1 Status with its TypeMeta set, ready to encode.
func (e *StatusError) Status() metav1.Status {
	s := e.ErrStatus
	s.Kind = "Status"
	s.APIVersion = "v1"
	return s
}

// FromStatus turns a Status body received over REST back into an error.
// A Status without a failure code becomes a 500 so it is never mistaken for
// success.
func FromStatus(s metav1.Status) *StatusError {
	s.Kind, s.APIVersion = "Status", "v1"
	if s.Status == "" {
		s.Status = metav1.StatusFailure
	}
	if s.Code == 0 {
		s.Code = http.StatusInternalServerError
	}
	if s.Reason == "" {
		s.Reason = metav1.StatusReasonUnknown
	}
	return &StatusError{ErrStatus: s}
}

// AsStatusError returns err as a *StatusError: itself when it is one (or
// wraps one, or is an apimachinery StatusError), else a 500 InternalError.
func AsStatusError(err error) *StatusError {
	if err == nil {
		return nil
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se
	}
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		return FromStatus(st.Status())
	}
	return NewInternal(err)
}

// kindInfo maps a kind ("Pod") or resource ("pods") to the group kind and
// group resource the API server names in its messages.
func kindInfo(kind string) (schema.GroupKind, schema.GroupResource) {
	var res string
	switch strings.ToLower(kind) {
	case "pod", "pods":
		kind, res = "Pod", "pods"
	case "job", "jobs", "jobs.batch":
		return schema.GroupKind{Group: "batch", Kind: "Job"}, schema.GroupResource{Group: "batch", Resource: "jobs"}
	case "configmap", "configmaps":
		kind, res = "ConfigMap", "configmaps"
	case "secret", "secrets":
		kind, res = "Secret", "secrets"
	case "event", "events":
		kind, res = "Event", "events"
	case "image", "images":
		kind, res = "Image", "images"
	default:
		res = strings.ToLower(kind)
		if !strings.HasSuffix(res, "s") {
			res += "s"
		}
	}
	return schema.GroupKind{Kind: kind}, schema.GroupResource{Resource: res}
}

func wrap(e *apierrors.StatusError) *StatusError {
	return &StatusError{ErrStatus: e.ErrStatus}
}

// NewInvalid is the 422 for a failed validation: every cause carries its
// field path, and the message lists them the way the API server does:
// `Pod "x" is invalid: [spec.containers[0].image: Required value, ...]`.
func NewInvalid(kind, name string, errs field.ErrorList) *StatusError {
	gk, _ := kindInfo(kind)
	return wrap(apierrors.NewInvalid(gk, name, errs))
}

// NewNotFound is the 404 `pods "x" not found`.
func NewNotFound(kind, name string) *StatusError {
	_, gr := kindInfo(kind)
	return wrap(apierrors.NewNotFound(gr, name))
}

// NewAlreadyExists is the 409 `pods "x" already exists`.
func NewAlreadyExists(kind, name string) *StatusError {
	_, gr := kindInfo(kind)
	return wrap(apierrors.NewAlreadyExists(gr, name))
}

// NewConflict is the 409 for an update that lost a race.
func NewConflict(kind, name string, err error) *StatusError {
	_, gr := kindInfo(kind)
	return wrap(apierrors.NewConflict(gr, name, err))
}

// NewBadRequest is the 400 for a body that cannot be decoded.
func NewBadRequest(msg string) *StatusError {
	return wrap(apierrors.NewBadRequest(msg))
}

// NewRequestEntityTooLarge is the 413 for a body over the limit.
func NewRequestEntityTooLarge(msg string) *StatusError {
	return wrap(apierrors.NewRequestEntityTooLargeError(msg))
}

// NewUnsupportedMediaType is the 415 for a body whose Content-Type
// podrund does not decode.
func NewUnsupportedMediaType(msg string) *StatusError {
	return newFailure(http.StatusUnsupportedMediaType, metav1.StatusReasonUnsupportedMediaType, msg)
}

// NewMethodNotAllowed is the 405 for a verb a path does not serve.
func NewMethodNotAllowed(msg string) *StatusError {
	return newFailure(http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed, msg)
}

// newFailure is a Failure Status with only a code, a reason and a message,
// for the codes apimachinery's errors package has no constructor of.
func newFailure(code int32, reason metav1.StatusReason, msg string) *StatusError {
	return &StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: code, Reason: reason, Message: msg}}
}

// NewInternal is the 500 for an error the client cannot fix.
func NewInternal(err error) *StatusError {
	if err == nil {
		err = errors.New("unknown error")
	}
	return wrap(apierrors.NewInternalError(err))
}

// NewServiceUnavailable is the 503 while podrund is not ready.
func NewServiceUnavailable(msg string) *StatusError {
	return wrap(apierrors.NewServiceUnavailable(msg))
}

// NewTooManyRequests is the 429 for a session over one of podrund's
// caps; retryAfter (seconds) goes in the Status details and in the
// Retry-After header the server writes.
func NewTooManyRequests(msg string, retryAfter int) *StatusError {
	return wrap(apierrors.NewTooManyRequests(msg, retryAfter))
}

// NewForbidden is the 403 for a request the daemon's policy refuses
// (a hostPath outside the allowed list, privileged containers, ...).
func NewForbidden(kind, name string, err error) *StatusError {
	_, gr := kindInfo(kind)
	return wrap(apierrors.NewForbidden(gr, name, err))
}

// NewTimeout is the 504 for a request that ran past its time.
func NewTimeout(msg string) *StatusError {
	return wrap(apierrors.NewTimeoutError(msg, 0))
}

// badRequestf is NewBadRequest with a formatted message.
func badRequestf(format string, args ...any) *StatusError {
	return NewBadRequest(fmt.Sprintf(format, args...))
}
