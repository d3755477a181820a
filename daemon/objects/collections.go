package objects

import (
	"context"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/daemon/store"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Collection is one stored kind kept as is (configmaps, secrets, events,
// jobs); every write gets the next resourceVersion and is announced to
// watchers.
type Collection[T any] interface {
	Get(ctx context.Context, namespace, name string) (T, error)
	List(ctx context.Context, namespace string) ([]T, uint64, error)
	Create(ctx context.Context, obj T) (T, error)
	Update(ctx context.Context, obj T) (T, error)
	Mutate(ctx context.Context, namespace, name string, fn func(T) (T, error)) (T, error)
	Delete(ctx context.Context, namespace, name string, uid types.UID, final func(stored T) T) (T, error)
	DeleteChecked(ctx context.Context, namespace, name string, check func(stored T) error) (T, error)
}

var (
	_ Collection[*corev1.ConfigMap] = (*store.Collection[*corev1.ConfigMap])(nil)
	_ Collection[*batchv1.Job]      = (*store.Collection[*batchv1.Job])(nil)
)

// ConfigMaps is the stored ConfigMaps, for reads (writes go through
// ConfigMapResource, which keeps the API rules).
func (b *Objects) ConfigMaps() Collection[*corev1.ConfigMap] { return b.st.ConfigMaps() }

// Secrets is the stored Secrets, for reads.
func (b *Objects) Secrets() Collection[*corev1.Secret] { return b.st.Secrets() }

// Jobs is the stored Jobs, for reads.
func (b *Objects) Jobs() Collection[*batchv1.Job] { return b.st.Jobs() }

// Events is the stored Events.
func (b *Objects) Events() Collection[*corev1.Event] { return b.st.Events() }

// PrepareEvent checks and completes a posted Event: it names what it is
// about and why; name, count and timestamps default as the API server's
// event recorder fills them.
func (b *Objects) PrepareEvent(ev *corev1.Event) error {
	var errs field.ErrorList
	if ev.InvolvedObject.Name == "" {
		errs = append(errs, field.Required(field.NewPath("involvedObject", "name"), ""))
	}
	if ev.Reason == "" {
		errs = append(errs, field.Required(field.NewPath("reason"), ""))
	}
	if len(errs) > 0 {
		return api.NewInvalid("Event", ev.Name, errs)
	}
	if ev.Name == "" {
		ev.Name = store.EventName(ev)
	}
	if ev.Count == 0 {
		ev.Count = 1
	}
	if ev.FirstTimestamp.IsZero() {
		ev.FirstTimestamp = metav1.NewTime(b.clk.Now())
	}
	if ev.LastTimestamp.IsZero() {
		ev.LastTimestamp = ev.FirstTimestamp
	}
	return nil
}
