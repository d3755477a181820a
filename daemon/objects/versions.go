package objects

import (
	"errors"
	"fmt"

	"github.com/podrun/podrun/api"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// optimisticLockMsg is the API server's reason for a write against a
// resourceVersion that is no longer current.
const optimisticLockMsg = "the object has been modified; please apply your changes to the latest version and try again"

// checkVersion is optimistic concurrency: a write that names a
// resourceVersion (metadata.resourceVersion of a PUT or a patched object)
// must name the stored one, else it is the API server's 409
// `Operation cannot be fulfilled on pods "x": the object has been
// modified; ...`. An empty resourceVersion is an unconditional write.
func checkVersion(gr schema.GroupResource, want *metav1.ObjectMeta, cur *metav1.ObjectMeta) error {
	if want.ResourceVersion == "" || want.ResourceVersion == cur.ResourceVersion {
		return nil
	}
	return apierrors.NewConflict(gr, cur.Name, errors.New(optimisticLockMsg))
}

// keepIdentity carries what only the server sets from the stored object
// onto a replacing one; a replacing object that names another UID is the
// API server's 422 `metadata.uid: Invalid value: ...: field is immutable`.
func keepIdentity(kind string, next, cur *metav1.ObjectMeta) error {
	if next.UID != "" && next.UID != cur.UID {
		return api.NewInvalid(kind, next.Name, field.ErrorList{
			field.Invalid(field.NewPath("metadata", "uid"), next.UID, "field is immutable")})
	}
	next.UID, next.CreationTimestamp, next.Generation = cur.UID, cur.CreationTimestamp, cur.Generation
	next.DeletionTimestamp, next.DeletionGracePeriodSeconds = cur.DeletionTimestamp, cur.DeletionGracePeriodSeconds
	return nil
}

// checkPreconditions applies a DELETE's preconditions (uid and
// resourceVersion) with the API server's 409 wording.
func checkPreconditions(gr schema.GroupResource, p *metav1.Preconditions, cur *metav1.ObjectMeta) error {
	if p == nil {
		return nil
	}
	if p.UID != nil && *p.UID != cur.UID {
		//lint:ignore ST1005 the API server's words, which clients match
		return apierrors.NewConflict(gr, cur.Name, fmt.Errorf(
			"Precondition failed: UID in precondition: %v, UID in object meta: %v", *p.UID, cur.UID))
	}
	if p.ResourceVersion != nil && *p.ResourceVersion != cur.ResourceVersion {
		//lint:ignore ST1005 the API server's words, which clients match
		return apierrors.NewConflict(gr, cur.Name, fmt.Errorf(
			"Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v",
			*p.ResourceVersion, cur.ResourceVersion))
	}
	return nil
}

// errTooLarge is the API server's 504 for a resourceVersion newer than
// the store has (a client that kept a version across a store that was
// moved aside and started over): client-go recognises it by its cause
// and lists afresh, where waiting for that version would miss every
// change until the store caught up.
func errTooLarge(want, current uint64) error {
	err := apierrors.NewTimeoutError(fmt.Sprintf("Too large resource version: %d, current: %d", want, current), 1)
	err.ErrStatus.Details.Causes = []metav1.StatusCause{
		{Type: metav1.CauseTypeResourceVersionTooLarge, Message: "Too large resource version"}}
	return err
}
