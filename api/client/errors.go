package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// StatusError is an error answer of podrund: its v1 Status body.
// It satisfies apierrors.APIStatus, so apierrors.IsNotFound and friends
// work on it too.
type StatusError struct {
	ErrStatus metav1.Status
}

// Status is the v1 Status body.
func (e *StatusError) Status() metav1.Status { return e.ErrStatus }

func (e *StatusError) Error() string { return e.ErrStatus.Message }

// Code is the HTTP status code.
func (e *StatusError) Code() int { return int(e.ErrStatus.Code) }

// Reason is the Status reason, e.g. NotFound or Invalid.
func (e *StatusError) Reason() metav1.StatusReason { return e.ErrStatus.Reason }

// Causes are the field causes of an Invalid answer.
func (e *StatusError) Causes() []metav1.StatusCause {
	if e.ErrStatus.Details == nil {
		return nil
	}
	return e.ErrStatus.Details.Causes
}

// maxErrorBody bounds what is read of an error answer.
const maxErrorBody = 1 << 20

// statusErrorFrom turns a non-2xx answer into a *StatusError. A body that is
// not a Status (a proxy, a plain-text panic handler) still gives a useful
// message with the HTTP code.
func statusErrorFrom(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var st metav1.Status
	if err := json.Unmarshal(body, &st); err == nil && (st.Kind == "Status" || st.Message != "" || st.Reason != "") {
		if st.Code == 0 {
			st.Code = int32(resp.StatusCode)
		}
		if st.Message == "" {
			st.Message = fmt.Sprintf("the server answered %s", resp.Status)
		}
		return &StatusError{ErrStatus: st}
	}
	msg := strings.TrimSpace(string(body))
	if msg == "" {
		msg = fmt.Sprintf("the server answered %s", resp.Status)
	}
	return &StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    int32(resp.StatusCode),
		Reason:  reasonForCode[resp.StatusCode],
		Message: msg,
	}}
}

// reasonForCode is the reason of a Status-less error answer by its code;
// a code not listed is StatusReasonUnknown.
var reasonForCode = map[int]metav1.StatusReason{
	http.StatusNotFound:              metav1.StatusReasonNotFound,
	http.StatusConflict:              metav1.StatusReasonAlreadyExists,
	http.StatusBadRequest:            metav1.StatusReasonBadRequest,
	http.StatusUnprocessableEntity:   metav1.StatusReasonInvalid,
	http.StatusRequestEntityTooLarge: metav1.StatusReasonRequestEntityTooLarge,
	http.StatusInternalServerError:   metav1.StatusReasonInternalError,
}

// IsNotFound reports whether err is a NotFound answer.
func IsNotFound(err error) bool {
	return hasReason(err, metav1.StatusReasonNotFound, http.StatusNotFound)
}

// IsAlreadyExists reports whether err is an AlreadyExists answer.
func IsAlreadyExists(err error) bool {
	return hasReason(err, metav1.StatusReasonAlreadyExists, http.StatusConflict)
}

func hasReason(err error, reason metav1.StatusReason, code int) bool {
	se, ok := AsStatusError(err)
	if !ok {
		return false
	}
	return se.ErrStatus.Reason == reason || (se.ErrStatus.Reason == "" && se.Code() == code)
}

// AsStatusError finds a *StatusError in err's chain.
func AsStatusError(err error) (*StatusError, bool) {
	var se *StatusError
	if errors.As(err, &se) {
		return se, true
	}
	return nil, false
}

var _ apierrors.APIStatus = (*StatusError)(nil)
