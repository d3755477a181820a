package objects

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/podrun/podrun/api"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Forced reports whether a write request says force=true: it may change
// or delete an object that a manifest file owns (contract §3).
func Forced(q url.Values) bool {
	return q.Get("force") == "true"
}

// RefuseManagedWrite is the one check every API write to an existing
// object passes (PUT, PATCH, DELETE): an object that a file of the
// manifest directory owns (api.ManifestFileAnnotation) is changed by
// editing that file, since the next pass would undo the write; the API
// changes it only when forced. A nil stored object is not owned.
func RefuseManagedWrite(kind string, stored metav1.Object, forced bool) error {
	if forced || stored == nil {
		return nil
	}
	file := api.ManifestFile(stored.GetAnnotations())
	if file == "" {
		return nil
	}
	msg := fmt.Sprintf("%s %q is managed by %s; edit that file, or use --force", strings.ToLower(kind), stored.GetName(), file)
	se := api.NewConflict(kind, stored.GetName(), errors.New(msg))
	se.ErrStatus.Message = msg
	return se
}
