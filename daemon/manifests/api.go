package manifests

import (
	"context"
	"strings"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/api/client"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
)

// API is how a pass reads and writes objects (NewObjectsAPI: the object
// layer under the REST handlers).
type API interface {
	// Owned lists the stored objects whose manifest-file annotation names
	// a file directly in dir.
	Owned(ctx context.Context, dir string) ([]Owned, error)
	// Apply creates or replaces obj; verb is created, configured or
	// unchanged, as podctl apply prints it.
	Apply(ctx context.Context, key Key, obj runtime.Object) (verb string, err error)
	// Delete deletes the object; one already gone is not an error.
	Delete(ctx context.Context, key Key) error
	// Exists reports whether the object is stored.
	Exists(ctx context.Context, key Key) bool
}

// ownedKinds are the kinds a manifest may hold, in the order they are
// listed; a kind this podrund does not serve answers 404 and is skipped.
var ownedKinds = []string{"ConfigMap", "Secret", "Pod", "Job", "CronJob"}

// resourceOf is the REST collection of a kind: its plural, which is what
// names every kind podrund serves (pods, configmaps, jobs, cronjobs).
func resourceOf(kind string) client.Resource {
	return client.Resource(strings.ToLower(kind) + "s")
}

// setOwner marks obj as the file's.
func setOwner(obj runtime.Object, file string) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	ann := m.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[api.ManifestFileAnnotation] = file
	m.SetAnnotations(ann)
	return nil
}
