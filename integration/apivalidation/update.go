package apivalidation

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/podrun/podrun/api"
	batchv1 "k8s.io/api/batch/v1"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/kubernetes/pkg/apis/batch"
	jobstore "k8s.io/kubernetes/pkg/registry/batch/job"
)

// jobUID is the stored Job's UID in both update verdicts.
const jobUID = "0b6e2a7c-2d1f-4f0e-9a51-4c1d7b1f3e10"

// storedJob is a Job as podrund stores it after a create of doc (defaulted,
// with its UID and generated selector) and its JSON, which a GET returns
// and a client edits for a PUT; ok is false when the create is refused.
func storedJob(doc []byte) (*batchv1.Job, []byte, bool) {
	obj, _, err := api.DecodeObjectWith(doc, api.FormatJSON, api.FieldValidationStrict)
	j, isJob := obj.(*batchv1.Job)
	if err != nil || !isJob {
		return nil, nil, false
	}
	if j.Namespace == "" {
		j.Namespace = namespace
	}
	j.UID, j.ResourceVersion = jobUID, "7"
	api.Default(j)
	api.GenerateJobSelector(j)
	if api.Validate(j) != nil {
		return nil, nil, false
	}
	data, err := json.Marshal(j)
	return j, data, err == nil
}

// kubeUpdateVerdict is the API server's answer to a PUT of next over the
// stored Job old (both JSON): rest.BeforeUpdate with the Job strategy.
func kubeUpdateVerdict(old, next []byte) (v verdict) {
	defer func() {
		if r := recover(); r != nil {
			v = verdict{code: 500, message: fmt.Sprint("the API server's code panicked: ", r)}
		}
	}()
	oldObj, _, err := strictCodecs.UniversalDecoder().Decode(old, nil, nil)
	if err != nil {
		return verdict{code: 500, message: "the stored Job does not decode: " + err.Error()}
	}
	obj, _, err := strictCodecs.UniversalDecoder().Decode(next, nil, nil)
	if err != nil {
		return verdict{code: 400, message: err.Error()}
	}
	job, isJob := obj.(*batch.Job)
	if !isJob {
		return verdict{code: 400, message: fmt.Sprintf("not a Job: %T", obj)}
	}
	ctx := genericapirequest.WithNamespace(context.Background(), job.Namespace)
	ctx = genericapirequest.WithRequestInfo(ctx, &genericapirequest.RequestInfo{
		IsResourceRequest: true, Verb: "update", APIGroup: "batch", APIVersion: "v1",
		Namespace: job.Namespace, Resource: "jobs", Name: job.Name,
	})
	return verdictOf(rest.BeforeUpdate(jobstore.Strategy, ctx, obj, oldObj))
}

// podrunUpdateVerdict is podrun's answer to the same PUT: decode, the
// stored identity carried over (by the object layer), default, generate,
// then api.ValidateJobUpdate, the create and the update checks together
// as the API server runs them.
func podrunUpdateVerdict(stored *batchv1.Job, next []byte) verdict {
	obj, _, err := api.DecodeObjectWith(next, api.FormatJSON, api.FieldValidationStrict)
	if err != nil {
		return verdictOf(err)
	}
	j, isJob := obj.(*batchv1.Job)
	if !isJob {
		return verdict{code: 400}
	}
	j.UID, j.CreationTimestamp, j.ResourceVersion = stored.UID, stored.CreationTimestamp, stored.ResourceVersion
	api.Default(j)
	api.GenerateJobSelector(j)
	if errs := api.ValidateJobUpdate(j, stored); len(errs) > 0 {
		return verdictOf(api.NewInvalid("Job", j.Name, errs))
	}
	return verdict{code: 201}
}

// jobUpdates are the edits of a stored Job a PUT makes.
func jobUpdates() []mutation {
	return []mutation{
		set("spec.parallelism", 5), set("spec.completions", 9), set("spec.backoffLimit", 1),
		set("spec.activeDeadlineSeconds", 100), set("spec.suspend", true), set("spec.ttlSecondsAfterFinished", 5),
		set("metadata.labels", map[string]any{"x": "y"}), set("metadata.annotations", map[string]any{"a": "b"}),
		set("spec.template.spec.containers.0.image", "other:1"),
		set("spec.template.metadata.labels.extra", "x"),
		// Not del("spec.selector"): podrun's PUT re-applies a manifest, and
		// a missing selector is generated again as on create.
		set("spec.selector", map[string]any{"matchLabels": map[string]any{"a": "b"}}),
		set("spec.manualSelector", true), set("spec.completionMode", "Indexed"),
		set("spec.backoffLimitPerIndex", 2), set("spec.maxFailedIndexes", 1),
		set("spec.podFailurePolicy", map[string]any{"rules": []any{map[string]any{"action": "Ignore",
			"onPodConditions": []any{map[string]any{"type": "DisruptionTarget"}}}}}),
		set("spec.podReplacementPolicy", "Failed"), set("spec.managedBy", "example.com/other"),
		{name: "elastic: completions and parallelism together", path: "spec", op: opMerge,
			value: map[string]any{"completions": 7, "parallelism": 7}},
	}
}
