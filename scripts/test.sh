#!/usr/bin/env bash
# Runs Stockpost's whole test suite. Installs what the tests need on a fresh Debian machine
# that has only Rust (needs root or sudo for apt-get). Usage: scripts/test.sh [extra nextest args]
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the system tests talk to: a real broker, pseudo-terminal helpers, a browser.
need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v socat >/dev/null 2>&1 || need+=(socat)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v lintian >/dev/null 2>&1 || need+=(lintian)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# The browser tests drive Debian's Chromium through playwright-core (no browser download).
if command -v npm >/dev/null 2>&1; then
  (cd tests/browser && npm ci --no-audit --no-fund --silent)
else
  echo "npm not found: installing Node.js for the browser tests"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends nodejs npm
  (cd tests/browser && npm ci --no-audit --no-fund --silent)
fi

# The kill -9 tests spawn the real binaries and build them with exactly these commands; building them
# here first keeps that build out of the tests' time limits (their own cargo build is then a no-op).
cargo build --locked -p stockpost-agent --bin stockpost-agent
cargo build --locked -p stockpost-hub --bin stockpost-hub
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --profile ci "$@"
  cargo test --workspace --locked --doc
else
  echo "cargo-nextest not found; using cargo test (install it with: cargo install cargo-nextest --locked)"
  cargo test --workspace --locked "$@"
fi
