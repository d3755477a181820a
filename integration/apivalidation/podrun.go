package apivalidation

import (
	"github.com/podrun/podrun/api"
	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/api/meta"
)

// podrunVerdict is podrund's answer to a create of the one object in doc
// under fieldValidation=Strict: decode, default, validate, with the
// namespace filled from the request path and a generated name as the
// server does.
func podrunVerdict(doc []byte) verdict {
	obj, _, err := api.DecodeObjectWith(doc, api.FormatJSON, api.FieldValidationStrict)
	if err != nil {
		return verdictOf(err)
	}
	if accessor, err := meta.Accessor(obj); err == nil {
		if accessor.GetNamespace() == "" {
			accessor.SetNamespace(namespace)
		}
		if accessor.GetName() == "" && accessor.GetGenerateName() != "" {
			accessor.SetName(accessor.GetGenerateName() + "x7k2q")
		}
	}
	api.Default(obj)
	if job, ok := obj.(*batchv1.Job); ok { // as the server's PrepareJob
		job.UID = "0b6e2a7c-2d1f-4f0e-9a51-4c1d7b1f3e10"
		api.GenerateJobSelector(job)
	}
	return verdictOf(api.Validate(obj))
}
