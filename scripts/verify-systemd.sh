#!/usr/bin/env bash
# Checks the systemd units with `systemd-analyze verify`, pointing ExecStart at the built binaries
# (the units name /usr/local/bin, where they are installed in production). Fails on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v systemd-analyze >/dev/null 2>&1 || {
  echo "systemd-analyze not found; installing systemd"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd >/dev/null
}
bin_dir="${1:-$PWD/target/debug}"
for b in stockpost-agent stockpost-hub; do
  [ -x "$bin_dir/$b" ] || { echo "$bin_dir/$b is not built (cargo build --workspace)"; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for unit in systemd/stockpost-agent.service systemd/stockpost-hub.service; do
  sed "s#/usr/local/bin/#$bin_dir/#" "$unit" > "$tmp/$(basename "$unit")"
done
out=$(systemd-analyze verify "$tmp"/*.service 2>&1 || true)
# Users and paths of the target box do not exist here; everything else is a finding.
findings=$(printf '%s\n' "$out" | grep -v -E "^$|Failed to resolve user|Failed to resolve group|has no .* group|/etc/stockpost|Unit .*mosquitto.service" || true)
if [ -n "$findings" ]; then
  printf '%s\n' "$findings"
  echo "systemd-analyze verify found problems"
  exit 1
fi
echo "systemd units verified"
