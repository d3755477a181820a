package objects

import (
	"errors"

	"github.com/containerd/errdefs"
	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/supervisor"
)

// ImageError maps the image service's (containerd's) error kinds for
// image ref to Status codes.
func ImageError(ref string, err error) error {
	switch {
	case errdefs.IsNotFound(err) && ref != "":
		return api.NewNotFound("image", ref)
	case errdefs.IsInvalidArgument(err):
		return api.NewBadRequest(err.Error())
	case errdefs.IsFailedPrecondition(err):
		return api.NewConflict("image", ref, err)
	}
	var se *supervisor.StartError
	if errors.As(err, &se) {
		return api.NewBadRequest(err.Error())
	}
	return err
}
