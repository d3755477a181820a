#!/bin/sh
# Regenerates daemon/openapi/internal/generated/zz_generated.openapi.go
# from the k8s.io/api types podrund serves, with the kube-openapi version
# go.mod pins, then daemon/openapi/definitions.json from it (what podrund
# embeds instead of linking the generated code).
# Run from anywhere: go generate ./daemon/openapi
set -eu
cd "$(dirname "$0")/.."
version=$(go list -m -f '{{.Version}}' k8s.io/kube-openapi)
pkgs="k8s.io/api/core/v1 k8s.io/api/batch/v1
k8s.io/apimachinery/pkg/apis/meta/v1 k8s.io/apimachinery/pkg/runtime
k8s.io/apimachinery/pkg/version k8s.io/apimachinery/pkg/util/intstr
k8s.io/apimachinery/pkg/api/resource
k8s.io/api/scheduling/v1alpha3"
readonly=""
for p in $pkgs; do readonly="$readonly --readonly-pkg $p"; done
# shellcheck disable=SC2086 # the package lists are word lists
go run "k8s.io/kube-openapi/cmd/openapi-gen@$version" \
	--output-dir daemon/openapi/internal/generated \
	--output-pkg github.com/podrun/podrun/daemon/openapi/internal/generated \
	--output-file zz_generated.openapi.go \
	--go-header-file daemon/openapi/boilerplate.go.txt \
	--report-filename /dev/null \
	$readonly $pkgs
go run ./daemon/openapi/internal/gendefs daemon/openapi/definitions.json
