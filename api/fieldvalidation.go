package api

import (
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// FieldValidation is the API server's fieldValidation directive: what
// decoding does with a field the kind does not have or a field given
// twice.
type FieldValidation string

// The directives, spelled as the fieldValidation query parameter.
const (
	FieldValidationStrict FieldValidation = metav1.FieldValidationStrict
	FieldValidationWarn   FieldValidation = metav1.FieldValidationWarn
	FieldValidationIgnore FieldValidation = metav1.FieldValidationIgnore
)

// ParseFieldValidation reads a request's fieldValidation query parameter
// as the API server does: absent is Warn (the server's default; kubectl
// sends Strict), anything but Strict, Warn or Ignore is a 422 Invalid of
// the request's options kind (CreateOptions, UpdateOptions or
// PatchOptions) naming the field.
func ParseFieldValidation(value, optionsKind string) (FieldValidation, error) {
	if errs := metavalidation.ValidateFieldValidation(field.NewPath("fieldValidation"), value); len(errs) > 0 {
		return "", wrap(apierrors.NewInvalid(schema.GroupKind{Group: metav1.GroupName, Kind: optionsKind}, "", errs))
	}
	if value == "" {
		return FieldValidationWarn, nil
	}
	return FieldValidation(value), nil
}
