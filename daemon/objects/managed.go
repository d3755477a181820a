package objects

import (
	"github.com/podrun/podrun/api"
	"k8s.io/apimachinery/pkg/runtime"
)

// serverSideApply is a PATCH of type application/apply-patch+yaml.
func (b *Objects) serverSideApply(k kindInfo, cur runtime.Object, pr *PatchRequest) (runtime.Object, error) {
	return nil, api.NewUnsupportedMediaType("server-side apply is not supported yet")
}

// manageCreate records the creating manager in managedFields.
func (b *Objects) manageCreate(obj runtime.Object, o WriteOptions) error { return nil }

// manageUpdate records the updating manager in managedFields.
func (b *Objects) manageUpdate(next, cur runtime.Object, o WriteOptions) error { return nil }
