#!/usr/bin/env bash
# Builds podrun's release: for each architecture a tarball of static,
# stripped binaries (podrund, podrund-logger, podctl), the systemd units,
# the logind drop-in and the docs, with a SHA256SUMS inside it, and one
# SHA256SUMS beside the tarballs. Pure Go (CGO_ENABLED=0), so the binaries
# run on any Linux of that architecture, glibc or musl, with nothing else
# installed but containerd and runc.
#   bash scripts/release.sh                       amd64, arm64 and armv7 into _output/release
#   ARCHES="arm64" OUT=/tmp/rel bash scripts/release.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

arches="${ARCHES:-amd64 arm64 armv7}"
out="${OUT:-_output/release}"
version="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
# grpcnotrace keeps x/net/trace and html/template out of podrund (README).
# -trimpath and a fixed build ID make the binaries reproducible from the
# same commit and toolchain.
ldflags="-s -w -buildid= -X main.version=${version} -X main.gitCommit=${commit}"

mkdir -p "$out"
out="$(cd "$out" && pwd)"
for arch in $arches; do
	goarch="$arch" goarm=""
	case "$arch" in
	armv7) goarch=arm goarm=7 ;;
	armv6) goarch=arm goarm=6 ;;
	esac
	name="podrun-${version}-linux-${arch}"
	stage="$(mktemp -d)"
	trap 'rm -rf "$stage"' EXIT
	dir="$stage/$name"
	mkdir -p "$dir/bin" "$dir/systemd/logind.conf.d" "$dir/docs"
	for cmd in podrund podrund-logger podctl; do
		CGO_ENABLED=0 GOOS=linux GOARCH="$goarch" GOARM="$goarm" \
			go build -tags grpcnotrace -trimpath -ldflags "$ldflags" -o "$dir/bin/$cmd" "./cmd/$cmd"
	done
	install -m 0644 systemd/podrund.service systemd/podrund.socket "$dir/systemd/"
	install -m 0644 systemd/logind.conf.d/podrund.conf "$dir/systemd/logind.conf.d/"
	install -m 0644 README.md SECURITY.md "$dir/"
	install -m 0644 docs/*.md "$dir/docs/"
	(cd "$dir" && find . -type f ! -name SHA256SUMS | LC_ALL=C sort | sed 's|^\./||' | xargs sha256sum > SHA256SUMS)
	# Sorted names, fixed owner and time: the same tarball from the same tree.
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='2020-01-01 00:00Z' \
		-C "$stage" -czf "$out/$name.tar.gz" "$name"
	rm -rf "$stage"
	trap - EXIT
	echo "release.sh: $out/$name.tar.gz $(du -k "$out/$name.tar.gz" | cut -f1) KiB"
done
(cd "$out" && sha256sum podrun-"${version}"-linux-*.tar.gz > SHA256SUMS)
echo "release.sh: checksums in $out/SHA256SUMS"
