#!/usr/bin/env bash
# Installs everything podrun needs on a fresh Debian (12+) machine: containerd, runc,
# busybox-static (the test image is built from it), CNI plugins, iproute2, iptables,
# systemd (systemd-analyze for the unit test), and staticcheck. Go is expected at
# /usr/local/go (the Go tarball from go.dev); the script says so if it is missing.
# Run as root: sudo bash scripts/install-deps.sh
set -euo pipefail

STATICCHECK_VERSION="${STATICCHECK_VERSION:-v0.8.2}" # 2026.2.2, builds with go1.26

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: run as root (sudo bash scripts/install-deps.sh)" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# docker-registry serves the pull tests (plain HTTP on localhost); tmux lets the
# terminal tests read podctl's screen as a person sees it; dbus gives the node
# shutdown test (integration/shutdown) a private system bus.
packages=(containerd runc busybox-static containernetworking-plugins iproute2 iptables systemd
	docker-registry tmux dbus ca-certificates git gcc libc6-dev)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	apt-get update
	apt-get install -y --no-install-recommends "${packages[@]}"
fi

export PATH="/usr/local/go/bin:$HOME/go/bin:$PATH"
if ! command -v go >/dev/null; then
	echo "install-deps.sh: Go not found; install Go >= 1.26 to /usr/local/go (https://go.dev/dl/)" >&2
	exit 1
fi
if ! [ -x "$HOME/go/bin/staticcheck" ] || ! "$HOME/go/bin/staticcheck" -version | grep -q "${STATICCHECK_VERSION#v}"; then
	go install "honnef.co/go/tools/cmd/staticcheck@${STATICCHECK_VERSION}"
fi

# The distribution's containerd service would hold /run/containerd; podrun does not
# need it (podrund --embedded-containerd starts its own when none answers, tests run a
# private one); podrund's systemd unit uses it.
for b in containerd runc ctr busybox systemd-analyze docker-registry tmux; do
	command -v "$b" >/dev/null || { echo "install-deps.sh: $b missing after install" >&2; exit 1; }
done
echo "install-deps.sh: done ($(go version), containerd $(containerd --version | awk '{print $3}'))"
