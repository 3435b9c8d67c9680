#!/usr/bin/env bash
# A short, bounded fuzz run of every cargo-fuzz target (CI: 20 s each by default).
# Builds the targets with libFuzzer's coverage instrumentation on the stable toolchain
# (RUSTC_BOOTSTRAP lets stable accept the flags cargo-fuzz passes on nightly), then runs each one
# for FUZZ_SECONDS. Fails if any target finds a crash. Crashes are left in fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${FUZZ_SECONDS:-20}"
export RUSTC_BOOTSTRAP=1
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# --target keeps the instrumentation off build scripts and proc macros (as cargo-fuzz does).
triple=$(rustc -vV | sed -n "s/^host: //p")
cargo build --locked --release --bins --target "$triple"
targets=$(sed -n 's/^name = "\(.*\)"/\1/p' Cargo.toml | grep -v '^stockpost-fuzz$')
mkdir -p artifacts corpus
for t in $targets; do
  mkdir -p "corpus/$t" "artifacts/$t"
  echo "fuzzing $t for ${seconds}s"
  "target/$triple/release/$t" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="artifacts/$t/" "corpus/$t" 2>&1 | grep -E "^(stat::number_of_executed_units|Done|==|SUMMARY)" || true
  if ls "artifacts/$t/"crash-* >/dev/null 2>&1; then
    echo "fuzz target $t crashed; see fuzz/artifacts/$t/"
    exit 1
  fi
done
echo "fuzz smoke run: no crashes"
