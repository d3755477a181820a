#!/usr/bin/env bash
# Runs every check podrun's CI runs: gofmt, go vet, staticcheck, unit tests with -race
# (every package except integration/), then the end-to-end tests against a real,
# private containerd (needs root). Exits non-zero on any failure.
#   bash scripts/test.sh            everything
#   UNIT_ONLY=1 bash scripts/test.sh    skip the integration tests
# CI shows only stdout: after a failed run the failed tests' messages are
# printed there (scripts/test-failures.awk), besides the summary lines.
set -uo pipefail
# The integration tests need root; re-run under sudo (keeping the environment) when not root.
if [ "$(id -u)" -ne 0 ] && [ -z "${UNIT_ONLY:-}" ]; then exec sudo -E bash "$0" "$@"; fi
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$HOME/go/bin:/root/go/bin:$PATH"

status=0
step() { echo; echo "=== $*"; }
fail() { echo "FAILED: $*"; status=1; }
start=$(date +%s)

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
if [ -n "$unformatted" ]; then echo "$unformatted"; fail "gofmt (run gofmt -w on the files above)"; fi

step "go vet"
go vet ./... || fail "go vet"

step "go vet (integration/kubeclients, its own module)"
# The real kubectl and a client-go program for the end-to-end tests live
# in a module of their own so that k8s.io/kubectl stays out of go.mod.
(cd integration/kubeclients && go vet ./...) || fail "go vet integration/kubeclients"

step "staticcheck"
if command -v staticcheck >/dev/null; then
	staticcheck ./... || fail "staticcheck"
else
	fail "staticcheck not installed (run scripts/install-deps.sh)"
fi

step "cross-build (linux/arm64, linux/arm v7)"
# Edge devices are arm: every program must build for them, pure Go, as
# scripts/release.sh builds the release.
for target in arm64: arm:7; do
	arch=${target%%:*} arm=${target#*:}
	CGO_ENABLED=0 GOOS=linux GOARCH=$arch GOARM=$arm go build -tags grpcnotrace -o /dev/null ./cmd/podrund ./cmd/podctl ./cmd/podrund-logger 2>&1 ||
		fail "cross-build for $arch${arm:+ v$arm}"
done

step "unit tests (-race)"
unit_pkgs=$(go list ./... | grep -v '/integration')
go test -race -count=1 -timeout 10m $unit_pkgs > /tmp/podrun-unit.log 2>&1
unit_rc=$?
grep -E '^(ok|FAIL|--- FAIL|panic|\?)' /tmp/podrun-unit.log
if [ "$unit_rc" != 0 ]; then
	awk -f scripts/test-failures.awk /tmp/podrun-unit.log
	fail "unit tests (full log: /tmp/podrun-unit.log)"
fi

step "differential test against the API server's validation (integration/apivalidation)"
# Its own module: it imports k8s.io/kubernetes, which podrun's go.mod never
# requires. The first build compiles much of k8s.io/kubernetes (minutes);
# the run itself takes seconds.
(cd integration/apivalidation && go vet ./... && staticcheck ./... && go test -count=1 ./...) ||
	fail "differential test (integration/apivalidation)"

if [ -z "${UNIT_ONLY:-}" ]; then
	step "integration tests (real containerd)"
	if [ "$(id -u)" -ne 0 ]; then
		fail "integration tests need root (sudo bash scripts/test.sh)"
	else
		it_start=$(date +%s)
		go test -count=1 -timeout 25m -v ./integration/... > /tmp/podrun-integration.log 2>&1
		it_rc=$?
		grep -E '^(ok|FAIL|--- (PASS|FAIL)|panic|LEAK)' /tmp/podrun-integration.log
		echo "integration run took $(( $(date +%s) - it_start ))s (full log: /tmp/podrun-integration.log)"
		if [ "$it_rc" != 0 ]; then
			awk -f scripts/test-failures.awk /tmp/podrun-integration.log
			fail "integration tests"
		fi
	fi
fi

echo
echo "total $(( $(date +%s) - start ))s"
if [ "$status" = 0 ]; then echo "ALL CHECKS PASSED"; else echo "SOME CHECKS FAILED"; fi
exit "$status"
