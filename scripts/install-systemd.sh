#!/usr/bin/env bash
# Builds podrund, podrund-logger (the container log writer podrund looks for beside
# itself) and podctl, installs them to /usr/local/bin and installs and starts the systemd
# units (podrund.socket + podrund.service). Run as root.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then exec sudo -E bash "$0" "$@"; fi
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
prefix="${PREFIX:-/usr/local}"
unitdir="${UNITDIR:-/etc/systemd/system}"

# grpcnotrace keeps podrund 8 MB smaller and 4 MiB lighter idle (BuildTags in integration/harness).
go build -tags grpcnotrace -o "$prefix/bin/podrund" ./cmd/podrund
go build -tags grpcnotrace -o "$prefix/bin/podrund-logger" ./cmd/podrund-logger
go build -tags grpcnotrace -o "$prefix/bin/podctl" ./cmd/podctl
install -m 0644 systemd/podrund.service systemd/podrund.socket "$unitdir/"
# logind would cut the pods' shutdown grace to its own 5 s limit (see the file).
logindconf="${LOGINDCONFDIR:-/etc/systemd/logind.conf.d}"
install -d "$logindconf"
install -m 0644 systemd/logind.conf.d/podrund.conf "$logindconf/podrund.conf"
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload
	systemctl kill -s HUP systemd-logind.service 2>/dev/null || true # re-read InhibitDelayMaxSec
	systemctl enable --now podrund.socket podrund.service
	systemctl --no-pager status podrund.service || true
else
	echo "install-systemd.sh: systemd is not running here; units installed to $unitdir, not started"
fi
