package api

import (
	"fmt"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validate validates an object of a kind podrun accepts and returns the
// 422 Invalid error listing every violation, or nil. Objects are expected to
// be defaulted first (as the API server defaults before it validates).
func Validate(obj runtime.Object) error {
	var errs field.ErrorList
	var kind, name string
	switch o := obj.(type) {
	case *corev1.Pod:
		kind, name, errs = "Pod", o.Name, ValidatePod(o)
	case *batchv1.Job:
		kind, name, errs = "Job", o.Name, ValidateJob(o)
	case *batchv1.CronJob:
		kind, name, errs = "CronJob", o.Name, ValidateCronJob(o)
	case *corev1.ConfigMap:
		kind, name, errs = "ConfigMap", o.Name, ValidateConfigMap(o)
	case *corev1.Secret:
		kind, name, errs = "Secret", o.Name, ValidateSecret(o)
	default:
		return NewBadRequest(fmt.Sprintf("cannot validate object of type %T", obj))
	}
	if len(errs) > 0 {
		return NewInvalid(kind, name, errs)
	}
	return nil
}

// validateObjectMeta checks name (with nameFn), namespace, labels,
// annotations, owner references and finalizers. An empty namespace is
// allowed: the server fills it from the request path.
func validateObjectMeta(meta *metav1.ObjectMeta, nameFn apivalidation.ValidateNameFunc, fldPath *field.Path) field.ErrorList {
	errs := apivalidation.ValidateObjectMeta(meta, meta.Namespace != "", nameFn, fldPath)
	// As the API server's core validation: a finalizer without a domain
	// must be one of Kubernetes' own.
	for i, f := range meta.Finalizers {
		if !strings.Contains(f, "/") && !standardFinalizers.Has(f) {
			errs = append(errs, field.Invalid(fldPath.Child("finalizers").Index(i), f,
				"name is neither a standard finalizer name nor is it fully qualified"))
		}
	}
	return errs
}

// standardFinalizers are the finalizer names without a domain that the
// API server accepts.
var standardFinalizers = sets.New(string(corev1.FinalizerKubernetes), metav1.FinalizerOrphanDependents, metav1.FinalizerDeleteDependents)

// validateDNSLabel returns one Invalid per problem of a DNS-1123 label.
func validateDNSLabel(value string, fldPath *field.Path) field.ErrorList {
	return invalidEach(fldPath, value, validation.IsDNS1123Label(value))
}

// invalidEach returns one Invalid of value at fldPath per message of a
// k8s.io/apimachinery validation check (none when msgs is empty).
func invalidEach(fldPath *field.Path, value any, msgs []string) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range msgs {
		errs = append(errs, field.Invalid(fldPath, value, msg))
	}
	return errs
}

// requiredValid is Required for an empty value, else one Invalid per
// problem check finds in it.
func requiredValid(fldPath *field.Path, value string, check func(string) []string) field.ErrorList {
	if value == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	return invalidEach(fldPath, value, check(value))
}

// validateDNSSubdomain returns one Invalid per problem of a DNS-1123 subdomain.
func validateDNSSubdomain(value string, fldPath *field.Path) field.ErrorList {
	return invalidEach(fldPath, value, validation.IsDNS1123Subdomain(value))
}

// validateLabels validates label keys and values.
func validateLabels(labels map[string]string, fldPath *field.Path) field.ErrorList {
	return metavalidation.ValidateLabels(labels, fldPath)
}

func validateNonnegative(v int64, fldPath *field.Path) field.ErrorList {
	return apivalidation.ValidateNonnegativeField(v, fldPath)
}

// ValidateUpdate validates a defaulted object replacing the stored old
// one (a PUT) and returns the 422 Invalid error, or nil: the create checks
// and, as the API server, a Job's and an immutable ConfigMap's or
// Secret's immutable fields. A Pod is replaced whole (docs/contract.md
// §3), so only its create checks apply.
func ValidateUpdate(obj, old runtime.Object) error {
	var errs field.ErrorList
	var kind, name string
	switch o := obj.(type) {
	case *batchv1.Job:
		if prev, ok := old.(*batchv1.Job); ok {
			kind, name, errs = "Job", o.Name, ValidateJobUpdate(o, prev)
		}
	case *corev1.ConfigMap:
		if prev, ok := old.(*corev1.ConfigMap); ok {
			kind, name, errs = "ConfigMap", o.Name, ValidateConfigMapUpdate(o, prev)
		}
	case *corev1.Secret:
		if prev, ok := old.(*corev1.Secret); ok {
			kind, name, errs = "Secret", o.Name, ValidateSecretUpdate(o, prev)
		}
	default:
		return Validate(obj)
	}
	if kind == "" {
		return NewBadRequest(fmt.Sprintf("cannot validate %T replacing %T", obj, old))
	}
	if len(errs) > 0 {
		return NewInvalid(kind, name, errs)
	}
	return nil
}
