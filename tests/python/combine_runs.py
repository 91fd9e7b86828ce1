"""Combine `sharpsweep run --out` directories into one dataset of the sweep
layout (runs/part-*.parquet, trajectories/part-*.parquet, grid.json), the
way pandas/pyarrow users rewrite files: Snappy compression, default
metadata (the sharpsweep.* keys are dropped). Used by .ci/suites/analyze.sh to
test `sharpsweep analyze` on files another tool wrote.

usage: python combine_runs.py OUT RUN_DIR...
"""

import json
import pathlib
import sys

import pyarrow as pa
import pyarrow.parquet as pq


def main(out: str, run_dirs: list[str]) -> None:
    out_dir = pathlib.Path(out)
    (out_dir / "runs").mkdir(parents=True, exist_ok=True)
    (out_dir / "trajectories").mkdir(parents=True, exist_ok=True)
    half = max(1, len(run_dirs) // 2)
    for k, chunk in enumerate([run_dirs[:half], run_dirs[half:]]):
        if not chunk:
            continue
        for name, sub in [("runs.parquet", "runs"), ("trajectory.parquet", "trajectories")]:
            table = pa.concat_tables(pq.read_table(pathlib.Path(d) / name) for d in chunk)
            pq.write_table(table.replace_schema_metadata(None), out_dir / sub / f"part-{k:05d}.parquet", row_group_size=1000)
    configs = [json.loads(pq.read_table(pathlib.Path(d) / "runs.parquet").column("config")[0].as_py()) for d in run_dirs]
    grid = {key: sorted({c[key] for c in configs}) for key in ("eta", "sigma", "seed")}
    (out_dir / "grid.json").write_text(json.dumps(grid, indent=2))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
