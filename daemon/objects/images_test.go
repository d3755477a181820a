package objects

import (
	"errors"
	"fmt"
	"testing"

	"github.com/containerd/errdefs"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

func TestImageErrorCodes(t *testing.T) {
	wrap := func(e error) error { return fmt.Errorf("remove image x: %w", e) }
	if err := ImageError("x", wrap(errdefs.ErrNotFound)); !apierrors.IsNotFound(err) {
		t.Errorf("not found: %v", err)
	}
	if err := ImageError("x", wrap(errdefs.ErrInvalidArgument)); !apierrors.IsBadRequest(err) {
		t.Errorf("invalid argument: %v", err)
	}
	if err := ImageError("x", wrap(errdefs.ErrFailedPrecondition)); !apierrors.IsConflict(err) {
		t.Errorf("failed precondition: %v", err)
	}
	other := errors.New("disk on fire")
	if err := ImageError("x", other); err != other {
		t.Errorf("other errors pass through: %v", err)
	}
}
