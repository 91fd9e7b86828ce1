#!/usr/bin/env bash
# CI steps of the sweep engine (grids, resumable Parquet datasets, MPI),
# run by .ci/run:
#  1. the Python reader test (duckdb, pyarrow, pandas, pytest: .ci/run
#     installs them);
#  2. determinism over 2 MPI ranks: build with --features mpi, run a grid
#     under `mpirun -np 2` and compare its content with a 1-thread sweep
#     (tests/mpi_determinism.rs, which needs the mpi build and mpirun);
#  3. a panic on one of 2 MPI ranks aborts the job promptly and the dataset
#     resumes (tests/mpi_abort.rs).
# Needs: apt libopenmpi-dev openmpi-bin libclang-dev, and the Python packages.
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET="${CARGO_TARGET_DIR:-target}"

cargo build --release --workspace
SHARPSWEEP="$TARGET/release/sharpsweep" python3 -m pytest -q tests/python/test_sweep_dataset.py

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cargo test --release --workspace --features mpi --test integration -- mpi_determinism:: mpi_abort::
