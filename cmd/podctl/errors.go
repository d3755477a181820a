package main

import (
	"errors"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podrun/podrun/api/client"
)

// exitError ends podctl with code after printing msg (if any) to stderr:
// the exit code of an exec'd command, a failed wait.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	return fmt.Sprintf("exit code %d", e.code)
}

// errorMessage renders err as kubectl does: "Error from server (Reason):
// message" for an answer of podrund, "error: message" for anything else.
func errorMessage(err error) string {
	if se, ok := client.AsStatusError(err); ok {
		reason := string(se.Reason())
		if reason == "" || reason == "Unknown" {
			return "Error from server: " + err.Error()
		}
		// err.Error() keeps the context a command added, e.g. `error when
		// creating "pod.yaml": ` before the server's message.
		return fmt.Sprintf("Error from server (%s): %s", reason, err.Error())
	}
	var ue *client.UnreachableError
	if errors.As(err, &ue) {
		return "error: " + ue.Error()
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "error: ") {
		return msg
	}
	return "error: " + msg
}

// notFoundStatus is the Status of a NotFound that podctl finds itself.
func notFoundStatus(kind, name string) metav1.Status {
	return metav1.Status{Status: metav1.StatusFailure, Code: 404, Reason: metav1.StatusReasonNotFound,
		Message: fmt.Sprintf("%ss %q not found", kind, name)}
}
