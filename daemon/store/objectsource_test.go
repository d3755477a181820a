package store

import (
	"context"
	"testing"

	"github.com/podrun/podrun/daemon/volumes"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// The store is the volumes' (and the runtime's env resolver's) source of
// ConfigMaps and Secrets; a missing one is an apierrors NotFound.
var _ volumes.ObjectSource = (*Store)(nil)

func TestObjectSource(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	var src volumes.ObjectSource = s
	if _, err := src.Secret(ctx, "d", "nope"); !apierrors.IsNotFound(err) {
		t.Fatalf("missing secret: %v", err)
	}
	_, _ = s.ConfigMaps().Create(ctx, cm("d", "c", "v"))
	got, err := src.ConfigMap(ctx, "d", "c")
	if err != nil || got.Data["k"] != "v" {
		t.Fatalf("configmap = %v, %v", got, err)
	}
}
