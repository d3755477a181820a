// Package generated holds openapi-gen's definitions of the k8s.io/api
// types podrund serves and their closure. podrund does not link it: the
// generator daemon/openapi/internal/gendefs builds the definitions from
// it once, at go generate time, into daemon/openapi/definitions.json,
// and daemon/openapi's test checks that file against it.
package generated
