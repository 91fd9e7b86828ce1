#!/usr/bin/env bash
# Side-by-side timing of the label-noise step: sharpsweep against numpy,
# JAX (jit + lax.scan, vmap over runs) and PyTorch CPU, float64, one thread,
# same machine, same invocation. Not part of the test suite; see
# docs/performance.md ("Comparison") for results and caveats.
#
#   benches/compare/run.sh [--quick]
#
# Installs its Python packages (numpy, jax[cpu], torch, threadpoolctl) into a
# venv at $SHARPSWEEP_COMPARE_VENV (default ~/.cache/sharpsweep-compare-venv).
# torch's Linux wheels from PyPI pull its CUDA libraries too (a few GB) since
# `import torch` loads them even on CPU.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${SHARPSWEEP_COMPARE_VENV:-$HOME/.cache/sharpsweep-compare-venv}"

if ! "$venv/bin/python" -c 'import numpy, jax, torch, threadpoolctl' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet numpy 'jax[cpu]' torch threadpoolctl
fi

(cd "$root" && cargo build --release --example step_rate)
exe="${CARGO_TARGET_DIR:-$root/target}/release/examples/step_rate"

# One thread everywhere: the comparison is per core.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
export XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
export JAX_PLATFORMS=cpu
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, where the machine sets them (to keep
# old OpenBLAS builds correct), slow a current numpy: unset both, for this
# command only; compare.py prints the kernel OpenBLAS then picks.
exec env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
  taskset -c 0 "$venv/bin/python" "$here/compare.py" --sharpsweep "$exe" "$@"
