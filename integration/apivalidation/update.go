package apivalidation

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/podrun/podrun/api"
	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
)

// storedUID is the stored object's UID in both update verdicts.
const storedUID = "0b6e2a7c-2d1f-4f0e-9a51-4c1d7b1f3e10"

// storedObject is an object as podrund stores it after a create of doc
// (defaulted, with its identity and, for a Job, its generated selector)
// and its JSON, which a GET returns and a client edits for a PUT; ok is
// false when the create is refused.
func storedObject(doc []byte) (runtime.Object, []byte, bool) {
	obj, _, err := api.DecodeObjectWith(doc, api.FormatJSON, api.FieldValidationStrict)
	if err != nil {
		return nil, nil, false
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, nil, false
	}
	if m.GetNamespace() == "" {
		m.SetNamespace(namespace)
	}
	m.SetUID(storedUID)
	m.SetResourceVersion("7")
	api.Default(obj)
	if j, isJob := obj.(*batchv1.Job); isJob {
		api.GenerateJobSelector(j)
	}
	if api.Validate(obj) != nil {
		return nil, nil, false
	}
	data, err := json.Marshal(obj)
	return obj, data, err == nil
}

// kubeUpdateVerdict is the API server's answer to a PUT of next over the
// stored object old (both JSON): rest.BeforeUpdate with the kind's
// registry strategy.
func kubeUpdateVerdict(old, next []byte) (v verdict) {
	defer func() {
		if r := recover(); r != nil {
			v = verdict{code: 500, message: fmt.Sprint("the API server's code panicked: ", r)}
		}
	}()
	oldObj, _, err := strictCodecs.UniversalDecoder().Decode(old, nil, nil)
	if err != nil {
		return verdict{code: 500, message: "the stored object does not decode: " + err.Error()}
	}
	obj, _, err := strictCodecs.UniversalDecoder().Decode(next, nil, nil)
	if err != nil {
		return verdict{code: 400, message: err.Error()}
	}
	strategy, group, resource, err := strategyFor(obj)
	if err != nil {
		return verdict{code: 400, message: err.Error()}
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return verdict{code: 400, message: err.Error()}
	}
	ctx := genericapirequest.WithNamespace(context.Background(), m.GetNamespace())
	ctx = genericapirequest.WithRequestInfo(ctx, &genericapirequest.RequestInfo{
		IsResourceRequest: true, Verb: "update", APIGroup: group, APIVersion: "v1",
		Namespace: m.GetNamespace(), Resource: resource, Name: m.GetName(),
	})
	return verdictOf(rest.BeforeUpdate(strategy.(rest.RESTUpdateStrategy), ctx, obj, oldObj))
}

// podrunUpdateVerdict is podrun's answer to the same PUT: decode, the
// stored identity carried over (by the object layer), default, generate
// a Job's selector, then api.ValidateUpdate, the create and the update
// checks together as the API server runs them.
func podrunUpdateVerdict(stored runtime.Object, next []byte) verdict {
	obj, _, err := api.DecodeObjectWith(next, api.FormatJSON, api.FieldValidationStrict)
	if err != nil {
		return verdictOf(err)
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return verdict{code: 400}
	}
	sm, _ := meta.Accessor(stored)
	m.SetUID(sm.GetUID())
	m.SetCreationTimestamp(sm.GetCreationTimestamp())
	m.SetResourceVersion(sm.GetResourceVersion())
	api.Default(obj)
	if j, isJob := obj.(*batchv1.Job); isJob {
		api.GenerateJobSelector(j)
	}
	if err := api.ValidateUpdate(obj, stored); err != nil {
		return verdictOf(err)
	}
	return verdict{code: 201}
}

// updates are the edits of a stored object of kind a PUT makes.
func updates(kind string) []mutation {
	switch kind {
	case "Job":
		return jobUpdates()
	case "ConfigMap", "Secret":
		return []mutation{
			set("data", map[string]any{"k": "Y2hhbmdlZA=="}), set("binaryData", map[string]any{"b": "AAE="}),
			set("immutable", false), del("immutable"), set("immutable", true),
			set("type", "example.com/other"), set("metadata.labels", map[string]any{"x": "y"}),
		}
	}
	return nil
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
