package objects

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"

	"github.com/podrun/podrun/api"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/mergepatch"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
)

// maxJSONPatchOperations bounds a JSON patch as the API server does.
const maxJSONPatchOperations = 10000

// patched is cur with the PATCH applied, decoded (strictly, as a PUT
// body) into its kind. The patch is applied to the object as clients see
// it, so a patch can only say what a PUT could.
func (b *Objects) patched(k kindInfo, cur runtime.Object, pr *PatchRequest) (runtime.Object, error) {
	if pr.isApply() {
		return b.serverSideApply(k, cur, pr)
	}
	original, err := json.Marshal(cur)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", k.gvk.Kind, err)
	}
	out, err := applyPatch(k, original, pr)
	if err != nil {
		return nil, err
	}
	return decodePatched(k, out)
}

// applyPatch applies a json, merge or strategic merge patch to the JSON
// of an object, with the API server's errors: a patch that is not one is
// 400, one that cannot be applied 422.
func applyPatch(k kindInfo, original []byte, pr *PatchRequest) ([]byte, error) {
	switch pr.Type {
	case types.JSONPatchType:
		p, err := jsonpatch.DecodePatch(pr.Body)
		if err != nil {
			return nil, api.NewBadRequest(err.Error())
		}
		if len(p) > maxJSONPatchOperations {
			return nil, api.NewRequestEntityTooLarge(fmt.Sprintf(
				"The allowed maximum operations in a JSON patch is %d, got %d", maxJSONPatchOperations, len(p)))
		}
		out, err := p.Apply(original)
		if err != nil {
			return nil, unprocessable(err)
		}
		return out, nil
	case types.MergePatchType:
		out, err := jsonpatch.MergePatch(original, pr.Body)
		if err != nil {
			if errors.Is(err, jsonpatch.ErrBadJSONPatch) || errors.Is(err, jsonpatch.ErrBadJSONDoc) {
				return nil, api.NewBadRequest(err.Error())
			}
			return nil, unprocessable(err)
		}
		return out, nil
	case types.StrategicMergePatchType:
		var patchMap map[string]any
		if err := json.Unmarshal(pr.Body, &patchMap); err != nil {
			return nil, api.NewBadRequest(err.Error())
		}
		var originalMap map[string]any
		if err := json.Unmarshal(original, &originalMap); err != nil {
			return nil, fmt.Errorf("decode %s: %w", k.gvk.Kind, err)
		}
		merged, err := strategicpatch.StrategicMergeMapPatch(originalMap, patchMap, k.new())
		if err != nil {
			return nil, strategicError(err)
		}
		return json.Marshal(merged)
	}
	return nil, api.NewUnsupportedMediaType(fmt.Sprintf("the patch type %q is not supported", pr.Type))
}

// strategicError words a strategic merge failure as the API server does.
func strategicError(err error) error {
	switch {
	case errors.Is(err, mergepatch.ErrBadJSONDoc), errors.Is(err, mergepatch.ErrBadPatchFormatForPrimitiveList),
		errors.Is(err, mergepatch.ErrBadPatchFormatForRetainKeys), errors.Is(err, mergepatch.ErrBadPatchFormatForSetElementOrderList),
		errors.Is(err, mergepatch.ErrUnsupportedStrategicMergePatchFormat):
		return api.NewBadRequest(err.Error())
	case errors.Is(err, mergepatch.ErrNoListOfLists), errors.Is(err, mergepatch.ErrPatchContentNotMatchRetainKeys):
		return unprocessable(err)
	}
	return api.NewBadRequest(err.Error())
}

// unprocessable is the 422 for a patch that does not apply (a JSON
// patch's test failing, a path that is not there). The API server's
// answer has the same code and reason but only a generic message; this
// one says what failed.
func unprocessable(err error) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure,
		Code: http.StatusUnprocessableEntity, Reason: metav1.StatusReasonInvalid,
		Message: "the patch cannot be applied: " + err.Error()}}
}

// decodePatched decodes a patched object as a PUT body is decoded.
func decodePatched(k kindInfo, data []byte) (runtime.Object, error) {
	if k.gvk.Kind == "Event" {
		ev := &corev1.Event{}
		if err := json.Unmarshal(data, ev); err != nil {
			return nil, api.NewBadRequest(fmt.Sprintf("decode patched Event: %v", err))
		}
		return ev, nil
	}
	obj, err := api.DecodeObjectAs(data, api.FormatJSON)
	if err != nil {
		return nil, err
	}
	if gvk := obj.GetObjectKind().GroupVersionKind(); gvk != k.gvk {
		return nil, api.NewBadRequest(fmt.Sprintf("the patch changed the object's kind to %s", gvk))
	}
	return obj, nil
}

// checkPatchedName refuses a patch that renames or moves the object.
func checkPatchedName(m *metav1.ObjectMeta, namespace, name string) error {
	if m.Name != name {
		return api.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", m.Name, name))
	}
	if m.Namespace != namespace {
		return api.NewBadRequest(fmt.Sprintf(
			"the namespace of the provided object (%s) does not match the namespace sent on the request (%s)", m.Namespace, namespace))
	}
	return nil
}
