package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestStatusConstructors(t *testing.T) {
	tests := []struct {
		name    string
		err     *StatusError
		code    int
		reason  metav1.StatusReason
		message string
	}{
		{"not found pod", NewNotFound("Pod", "x"), 404, metav1.StatusReasonNotFound, `pods "x" not found`},
		{"not found job", NewNotFound("Job", "pi"), 404, metav1.StatusReasonNotFound, `jobs.batch "pi" not found`},
		{"not found by resource", NewNotFound("configmaps", "c"), 404, metav1.StatusReasonNotFound, `configmaps "c" not found`},
		{"exists", NewAlreadyExists("Secret", "s"), 409, metav1.StatusReasonAlreadyExists, `secrets "s" already exists`},
		{"bad request", NewBadRequest("nope"), 400, metav1.StatusReasonBadRequest, "nope"},
		{"too large", NewRequestEntityTooLarge("limit is 3145728"), 413, metav1.StatusReasonRequestEntityTooLarge,
			"Request entity too large: limit is 3145728"},
		{"method", NewMethodNotAllowed("PATCH is not supported"), 405, metav1.StatusReasonMethodNotAllowed, "PATCH is not supported"},
		{"internal", NewInternal(errors.New("boom")), 500, metav1.StatusReasonInternalError, "Internal error occurred: boom"},
		{"unavailable", NewServiceUnavailable("starting"), 503, metav1.StatusReasonServiceUnavailable, "starting"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err.Code() != tc.code {
				t.Errorf("Code() = %d, want %d", tc.err.Code(), tc.code)
			}
			st := tc.err.Status()
			if st.Kind != "Status" || st.APIVersion != "v1" || st.Status != metav1.StatusFailure {
				t.Errorf("TypeMeta/Status = %q %q %q", st.Kind, st.APIVersion, st.Status)
			}
			if st.Reason != tc.reason || st.Message != tc.message || tc.err.Error() != tc.message {
				t.Errorf("reason %q message %q, want %q %q", st.Reason, st.Message, tc.reason, tc.message)
			}
		})
	}
}

func TestNewInvalidShape(t *testing.T) {
	errs := field.ErrorList{
		field.Required(field.NewPath("spec", "containers").Index(0).Child("image"), ""),
		field.Forbidden(field.NewPath("spec", "initContainers").Index(1).Child("livenessProbe"), forbiddenOnPlainInit),
	}
	e := NewInvalid("Pod", "x", errs)
	want := `Pod "x" is invalid: [spec.containers[0].image: Required value, ` +
		`spec.initContainers[1].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always]`
	if e.Error() != want {
		t.Fatalf("message:\n got %s\nwant %s", e.Error(), want)
	}
	st := e.Status()
	if st.Code != http.StatusUnprocessableEntity || st.Reason != metav1.StatusReasonInvalid {
		t.Fatalf("code %d reason %s", st.Code, st.Reason)
	}
	if st.Details == nil || st.Details.Name != "x" || st.Details.Kind != "Pod" || len(st.Details.Causes) != 2 {
		t.Fatalf("details %+v", st.Details)
	}
	c := st.Details.Causes[1]
	if c.Type != metav1.CauseType(field.ErrorTypeForbidden) || c.Field != "spec.initContainers[1].livenessProbe" ||
		c.Message != "Forbidden: may not be set for init containers without restartPolicy=Always" {
		t.Fatalf("cause %+v", c)
	}
	if g := NewInvalid("Job", "j", errs[:1]).Status().Details.Group; g != "batch" {
		t.Fatalf("job group %q", g)
	}
}

func TestStatusRoundTripAndInterop(t *testing.T) {
	orig := NewNotFound("Pod", "web")
	body, err := json.Marshal(orig.Status())
	if err != nil {
		t.Fatal(err)
	}
	var st metav1.Status
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	back := FromStatus(st)
	if back.Code() != 404 || back.Error() != `pods "web" not found` {
		t.Fatalf("round trip: %d %q", back.Code(), back.Error())
	}
	// apimachinery helpers understand our type, also when wrapped.
	if !apierrors.IsNotFound(fmt.Errorf("get pod: %w", back)) {
		t.Fatal("apierrors.IsNotFound does not see a wrapped *StatusError")
	}
	if got := AsStatusError(fmt.Errorf("x: %w", apierrors.NewAlreadyExists(schema.GroupResource{Resource: "pods"}, "a"))); got.Code() != 409 {
		t.Fatalf("AsStatusError(apimachinery) code %d", got.Code())
	}
	if got := AsStatusError(errors.New("plain")); got.Code() != 500 {
		t.Fatalf("AsStatusError(plain) code %d", got.Code())
	}
	if FromStatus(metav1.Status{Message: "m"}).Code() != 500 {
		t.Fatal("a Status without code must not look like success")
	}
}
