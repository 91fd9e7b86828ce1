#!/usr/bin/env bash
# CI for `sharpsweep analyze`: a small dataset of real runs, rewritten the
# way pandas/pyarrow users rewrite files (Snappy, no sharpsweep metadata) into
# the sweep layout, analysed, then checked from Python against values
# recomputed from the trajectories, and opened in headless Chromium (every
# image loads, the page fits the window). Needs what .ci/run installs (duckdb
# pyarrow pandas polars pytest, and Debian's chromium).
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
cargo build --release
bin="$CARGO_TARGET_DIR/release/sharpsweep"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# n = 2 < d = 3, m = 4: rank one within 10⁶ steps, 12 runs in ~10 s on 2 cores.
for eta in 0.03 0.05; do
  for sigma in 0.3 0.5; do
    for seed in 1 2 3; do
      "$bin" run --out "$work/runs/r_${eta}_${sigma}_${seed}" --m 4 --d 3 --n 2 \
        --eta "$eta" --sigma "$sigma" --seed "$seed" --steps 1000000 -q
    done
  done
done
python3 tests/python/combine_runs.py "$work/dataset" "$work"/runs/r_*
"$bin" analyze "$work/dataset" --report "$work/report"
SHARPSWEEP_DATASET="$work/dataset" SHARPSWEEP_REPORT="$work/report" \
  python3 -m pytest -q tests/python/test_analyze_interop.py tests/python/test_report_browser.py
