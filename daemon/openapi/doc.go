// Package openapi is podrund's OpenAPI: the definitions generated from the
// k8s.io/api Go types podrund serves (internal/generated, built at go
// generate time into definitions.json, which podrund embeds and decodes
// when it needs them), named as
// the API server names them (io.k8s.api.core.v1.Pod) and tagged with
// x-kubernetes-group-version-kind, the v2 and v3 documents built from
// them with the served paths, and the type converter that server-side
// apply needs to compute managed fields.
//
// The generated file covers only the packages whose types podrund serves
// and their closure (core/v1, batch/v1, meta/v1 and apimachinery's
// runtime, version, intstr and resource, and scheduling/v1alpha3, which
// batch/v1's JobSpec references), which keeps it under 1 MiB.
package openapi

//go:generate sh ../../scripts/gen-openapi.sh
