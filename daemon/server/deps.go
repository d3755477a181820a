package server

import (
	"context"
	"io"

	"github.com/podrun/podrun/supervisor"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// The server's dependencies, declared here as the small method sets it
// uses so that it is tested with fakes and wired to the real parts by
// daemon/app.

// Engine is the part of *supervisor.Manager the server drives.
type Engine interface {
	Start(ctx context.Context, rec *supervisor.PodRecord) error
	UpdatePod(ctx context.Context, pod *corev1.Pod) error
	Delete(ctx context.Context, uid types.UID, grace *int64) error
	Get(uid types.UID) (*supervisor.PodRecord, bool)
	Instance(uid types.UID, container string) (supervisor.Instance, bool)
}

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

// JobController is told about every Job written through the API. The Job
// controller plugs in here; without one, Jobs are stored only.
type JobController interface {
	OnJobApplied(ctx context.Context, job *batchv1.Job)
	OnJobDeleted(ctx context.Context, job *batchv1.Job)
}

// VolumeRefresher rewrites the configMap/secret/projected volumes of a
// running pod after one of their sources changed (daemon/volumes).
type VolumeRefresher interface {
	Refresh(ctx context.Context, pod *corev1.Pod) error
}

// PodLogRemover deletes the container logs of a pod that is gone from the
// API, as the kubelet does: without it every deleted pod would leave its
// logs on the device's disk for good.
type PodLogRemover interface {
	RemovePodLogs(pod *corev1.Pod) error
}
