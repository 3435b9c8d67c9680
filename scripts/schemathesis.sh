#!/usr/bin/env bash
# Runs schemathesis (PyPI) against docs/openapi.yaml and a live hub, bounded in time: any server
# error, response that breaks its schema, undocumented status or content type, or invalid request
# the hub accepts fails the run. Not checked: `positive_data_acceptance` (schema-valid requests
# the hub refuses for domain reasons, e.g. a GTIN with a wrong check digit, an unknown SKU).
#
# Usage: scripts/schemathesis.sh [hub binary]   (default target/debug/stockpost-hub)
#        SCHEMATHESIS_SECONDS=120 bounds the run.
set -euo pipefail
cd "$(dirname "$0")/.."
hub_bin="${1:-target/debug/stockpost-hub}"
seconds="${SCHEMATHESIS_SECONDS:-120}"
exclude="${SCHEMATHESIS_EXCLUDE-positive_data_acceptance}"
version="4.32.5"
[ -x "$hub_bin" ] || { echo "$hub_bin is not built (cargo build -p stockpost-hub)" >&2; exit 1; }

venv="target/schemathesis-venv"
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$version"; then
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends python3-venv
  fi
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==$version"
fi

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token="schemathesis-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
cat > "$work/hub.toml" <<EOF
data_dir = "$work/data"
[http]
listen = "127.0.0.1:$port"
# schemathesis sends bad tokens on purpose; the per-address limit would lock it out.
auth_failures_per_minute = 1000000
[mqtt]
address = "127.0.0.1:9"
EOF
STOCKPOST_ADMIN_TOKEN="$token" "$hub_bin" --config "$work/hub.toml" > "$work/hub.log" 2>&1 &
hub_pid=$!
trap 'kill "$hub_pid" 2>/dev/null || true; wait "$hub_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$hub_pid" 2>/dev/null || { cat "$work/hub.log"; echo "the hub did not start" >&2; exit 1; }
  sleep 0.1
done
"$venv/bin/schemathesis" run docs/openapi.yaml \
  --url "http://127.0.0.1:$port/api/v1" \
  -H "Authorization: Bearer $token" \
  --checks all ${exclude:+--exclude-checks "$exclude"} \
  --max-examples 10 --max-time "$seconds" --generation-deterministic
if grep -q "panicked" "$work/hub.log"; then
  grep -n "panicked" "$work/hub.log"
  echo "the hub panicked during the run" >&2
  exit 1
fi
echo "schemathesis: no failures"
