package objects

import (
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/podrun/podrun/api"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metainternalversionscheme "k8s.io/apimachinery/pkg/apis/meta/internalversion/scheme"
	metainternalversionvalidation "k8s.io/apimachinery/pkg/apis/meta/internalversion/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The request options are read from the query with the API server's own
// parameter codec and checked with its validation, so that a bad value
// gets the same 400 or 422 a real cluster gives.

// decodeParams reads the query into opts (a *metav1.XOptions or the
// internal ListOptions).
func decodeParams(q url.Values, opts runtime.Object) error {
	if err := metainternalversionscheme.ParameterCodec.DecodeParameters(q, metav1.SchemeGroupVersion, opts); err != nil {
		return api.NewBadRequest(err.Error())
	}
	return nil
}

// decodeValidParams reads the query into opts, then checks them with
// validate: a 400 for what does not decode, a 422 naming kind for what
// the API server would refuse.
func decodeValidParams[P runtime.Object](q url.Values, opts P, kind string, validate func(P) field.ErrorList) error {
	if err := decodeParams(q, opts); err != nil {
		return err
	}
	return invalidOptions(kind, validate(opts))
}

// invalidOptions is the API server's 422 for bad request options, e.g.
// `CreateOptions.meta.k8s.io "" is invalid: dryRun[0]: Unsupported value`.
func invalidOptions(kind string, errs field.ErrorList) error {
	if len(errs) == 0 {
		return nil
	}
	return api.AsStatusError(apierrors.NewInvalid(schema.GroupKind{Group: metav1.GroupName, Kind: kind}, "", errs))
}

// ListRequest is a decoded list or watch: its selectors and options.
type ListRequest struct {
	Filter
	Opts metainternalversion.ListOptions
}

// NewListRequest reads a list or watch of bucket in namespace ns ("" =
// all) from its query: labelSelector, fieldSelector, limit, continue,
// resourceVersion(Match), watch, allowWatchBookmarks, sendInitialEvents,
// timeoutSeconds.
func NewListRequest(bucket, ns string, q url.Values) (*ListRequest, error) {
	req := &ListRequest{}
	if err := decodeValidParams(q, &req.Opts, "ListOptions", func(o *metainternalversion.ListOptions) field.ErrorList {
		return metainternalversionvalidation.ValidateListOptions(o, true)
	}); err != nil {
		return nil, err
	}
	f, err := newFilter(bucket, ns, &req.Opts)
	if err != nil {
		return nil, err
	}
	req.Filter = f
	return req, nil
}

// WriteOptions are what every write shares: dry run and field manager.
type WriteOptions struct {
	DryRun bool
	// FieldManager is who the write's fields are recorded under (see
	// ManagerOrUserAgent); empty records nothing.
	FieldManager string
	// FileForced: the request says force=true, so it may change an
	// object a manifest file owns (RefuseManagedWrite).
	FileForced bool
	// applied: a server-side apply already recorded its manager.
	applied bool
}

func writeOptions(q url.Values, dryRun []string, manager, userAgent string) WriteOptions {
	return WriteOptions{DryRun: len(dryRun) > 0, FieldManager: ManagerOrUserAgent(manager, userAgent), FileForced: Forced(q)}
}

// CreateOptions reads a POST's query (dryRun, fieldManager,
// fieldValidation); userAgent names the manager when fieldManager does not.
func CreateOptions(q url.Values, userAgent string) (WriteOptions, error) {
	var o metav1.CreateOptions
	if err := decodeValidParams(q, &o, "CreateOptions", metav1validation.ValidateCreateOptions); err != nil {
		return WriteOptions{}, err
	}
	return writeOptions(q, o.DryRun, o.FieldManager, userAgent), nil
}

// UpdateOptions reads a PUT's query.
func UpdateOptions(q url.Values, userAgent string) (WriteOptions, error) {
	var o metav1.UpdateOptions
	if err := decodeValidParams(q, &o, "UpdateOptions", metav1validation.ValidateUpdateOptions); err != nil {
		return WriteOptions{}, err
	}
	return writeOptions(q, o.DryRun, o.FieldManager, userAgent), nil
}

// PatchRequest is a decoded PATCH: its type, body and options.
type PatchRequest struct {
	Type  types.PatchType
	Body  []byte
	Force bool
	WriteOptions
}

// NewPatchRequest reads a PATCH's query for a body of patch type pt (the
// request's Content-Type): fieldManager is required for apply and force
// is allowed only there, as the API server checks.
func NewPatchRequest(q url.Values, pt types.PatchType, body []byte, userAgent string) (*PatchRequest, error) {
	var o metav1.PatchOptions
	if err := decodeValidParams(q, &o, "PatchOptions", func(o *metav1.PatchOptions) field.ErrorList {
		return metav1validation.ValidatePatchOptions(o, pt)
	}); err != nil {
		return nil, err
	}
	pr := &PatchRequest{Type: pt, Body: body, Force: o.Force != nil && *o.Force,
		WriteOptions: writeOptions(q, o.DryRun, o.FieldManager, userAgent)}
	pr.applied = pr.isApply()
	return pr, nil
}

func (pr *PatchRequest) isApply() bool {
	return pr.Type == types.ApplyYAMLPatchType || pr.Type == types.ApplyCBORPatchType
}

// DeleteOptions reads a DELETE's options from its body (a DeleteOptions
// object, as kubectl and client-go send it) or, without a body, from its
// query, as the API server does, and checks them.
func DeleteOptions(q url.Values, body []byte) (*metav1.DeleteOptions, error) {
	o := &metav1.DeleteOptions{}
	if len(body) > 0 {
		if err := json.Unmarshal(body, o); err != nil {
			return nil, api.NewBadRequest(fmt.Sprintf("decode DeleteOptions: %v", err))
		}
		if o.Kind != "" && o.Kind != "DeleteOptions" {
			return nil, api.NewBadRequest(fmt.Sprintf("expected a DeleteOptions body, got %s", o.Kind))
		}
	} else if err := decodeParams(q, o); err != nil {
		return nil, err
	}
	if err := invalidOptions("DeleteOptions", metav1validation.ValidateDeleteOptions(o)); err != nil {
		return nil, err
	}
	return o, nil
}
