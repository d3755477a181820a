package server

import (
	"context"
	"io"

	"github.com/podrun/podrun/supervisor"
)

// The server's dependencies besides daemon/objects, declared here as the small method sets it
// uses so that it is tested with fakes and wired to the real parts by
// daemon/app.

// Images is the image side of daemon/containerd.Runtime plus its health.
type Images interface {
	ImportImage(ctx context.Context, rd io.Reader) ([]supervisor.ImageStatus, error)
	ListImages(ctx context.Context) ([]supervisor.ImageStatus, error)
	ImageStatus(ctx context.Context, ref string) (supervisor.ImageStatus, error)
	PullImage(ctx context.Context, ref string, progress supervisor.PullProgress) (supervisor.ImageStatus, error)
	RemoveImage(ctx context.Context, ref string) error
	// Ready reports whether containerd answers (for /readyz).
	Ready(ctx context.Context) error
}

// Execer runs a command in a running container instance.
type Execer interface {
	Exec(ctx context.Context, id string, req supervisor.ExecRequest) (int, error)
}
