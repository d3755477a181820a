package apivalidation

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/kubernetes/pkg/api/legacyscheme"
	"k8s.io/kubernetes/pkg/apis/batch"
	_ "k8s.io/kubernetes/pkg/apis/batch/install" // v1 conversion and defaulting
	"k8s.io/kubernetes/pkg/apis/core"
	_ "k8s.io/kubernetes/pkg/apis/core/install" // v1 conversion and defaulting
	"k8s.io/kubernetes/pkg/capabilities"
	jobstore "k8s.io/kubernetes/pkg/registry/batch/job"
	configmapstore "k8s.io/kubernetes/pkg/registry/core/configmap"
	podstore "k8s.io/kubernetes/pkg/registry/core/pod"
	secretstore "k8s.io/kubernetes/pkg/registry/core/secret"
)

// podrun runs privileged containers (PodSecurity admission decides who
// may), as a kube-apiserver started with --allow-privileged=true does.
func init() {
	capabilities.Initialize(capabilities.Capabilities{AllowPrivileged: true})
}

// namespace is the request's namespace in both verdicts when the object
// names none (else its own, as kubectl sends it).
const namespace = "default"

// strictCodecs decode as the API server does under fieldValidation=Strict:
// v1 JSON to the internal version, defaulted on the way.
var strictCodecs = serializer.NewCodecFactory(legacyscheme.Scheme, serializer.EnableStrict)

// kubeVerdict is what the API server answers to a create of the one
// object in doc (JSON): decode, default, convert to the internal type,
// then the kind's registry strategy (PrepareForCreate, Validate,
// declarative validation, object meta) as rest.BeforeCreate runs it.
//
// A panic in that code is the API server's 500, as its panic recovery
// answers.
func kubeVerdict(doc []byte) (v verdict) {
	defer func() {
		if r := recover(); r != nil {
			v = verdict{code: 500, message: fmt.Sprint("the API server's code panicked: ", r)}
		}
	}()
	obj, _, err := strictCodecs.UniversalDecoder().Decode(doc, nil, nil)
	if err != nil {
		return verdict{code: 400, message: err.Error()}
	}
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return verdict{code: 400, message: err.Error()}
	}
	if accessor.GetNamespace() == "" {
		accessor.SetNamespace(namespace)
	}
	ns := accessor.GetNamespace() // the request's, as kubectl sends it
	if accessor.GetName() == "" && accessor.GetGenerateName() != "" {
		accessor.SetName(accessor.GetGenerateName() + "x7k2q")
	}
	rest.FillObjectMetaSystemFields(accessor)
	strategy, group, resource, err := strategyFor(obj)
	if err != nil {
		return verdict{code: 400, message: err.Error()}
	}
	ctx := genericapirequest.WithNamespace(context.Background(), ns)
	ctx = genericapirequest.WithRequestInfo(ctx, &genericapirequest.RequestInfo{
		IsResourceRequest: true, Verb: "create", APIGroup: group, APIVersion: "v1",
		Namespace: ns, Resource: resource, Name: accessor.GetName(),
	})
	return verdictOf(rest.BeforeCreate(strategy, ctx, obj))
}

// strategyFor returns the registry strategy, API group and resource of
// obj's kind.
func strategyFor(obj runtime.Object) (strategy rest.RESTCreateStrategy, group, resource string, err error) {
	switch obj.(type) {
	case *core.Pod:
		return podstore.Strategy, "", "pods", nil
	case *core.ConfigMap:
		return configmapstore.Strategy, "", "configmaps", nil
	case *core.Secret:
		return secretstore.Strategy, "", "secrets", nil
	case *batch.Job:
		return jobstore.Strategy, "batch", "jobs", nil
	}
	return nil, "", "", fmt.Errorf("no strategy for %T", obj)
}

// verdictOf reads an API Status error (nil is accepted).
func verdictOf(err error) verdict {
	if err == nil {
		return verdict{code: 201}
	}
	status, ok := err.(apierrors.APIStatus)
	if !ok {
		return verdict{code: 500, message: err.Error()}
	}
	s := status.Status()
	v := verdict{code: int(s.Code), message: s.Message}
	if s.Details != nil {
		for _, c := range s.Details.Causes {
			v.causes = append(v.causes, cause{field: c.Field, reason: string(c.Type)})
		}
	}
	return v
}
