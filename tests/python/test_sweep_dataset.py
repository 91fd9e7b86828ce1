"""An independent reader of a sweep's dataset: pip-installed duckdb, pyarrow
and pandas open `sharpsweep sweep`'s output as is and find the grid in it.

Run with `SHARPSWEEP=path/to/sharpsweep pytest tests/python` (.ci/suites/engine.sh).
"""

import json
import os
import subprocess

import duckdb
import pandas as pd
import pyarrow.dataset as ds
import pytest

GRID = """
seed = 11
[[grid]]
steps = [200, 1000]
eta = [0.01, 0.02, 0.04]
sigma = [0.0, 0.05]
seeds = 2
log_points = 8
"""
POINTS = 2 * 3 * 2 * 2


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweep")
    grid = tmp / "grid.toml"
    grid.write_text(GRID)
    out = tmp / "ds"
    exe = os.environ.get("SHARPSWEEP", "target/release/sharpsweep")
    # Many small parts, so the readers must combine files.
    subprocess.run(
        [exe, "sweep", str(grid), "--out", str(out), "--quiet", "--flush-runs", "5"],
        check=True,
    )
    return out


def test_duckdb_reads_every_run_once(dataset):
    con = duckdb.connect()
    n, distinct = con.execute(
        f"select count(*), count(distinct run_id) from read_parquet('{dataset}/runs/*.parquet')"
    ).fetchone()
    assert (n, distinct) == (POINTS, POINTS)
    rows = con.execute(
        f"select steps, eta, sigma, count(*) from read_parquet('{dataset}/runs/*.parquet') "
        "group by all order by all"
    ).fetchall()
    assert [(s, e, g) for s, e, g, _ in rows] == [
        (s, e, g) for s in (200, 1000) for e in (0.01, 0.02, 0.04) for g in (0.0, 0.05)
    ]
    assert all(c == 2 for *_, c in rows)


def test_pandas_reads_the_runs_directory(dataset):
    runs = pd.read_parquet(dataset / "runs")
    assert len(runs) == POINTS
    assert set(runs["status"]) <= {"finished", "diverged"}
    finished = runs[runs["status"] == "finished"]
    assert (finished["steps_done"] == finished["steps"]).all()
    assert set(runs["m"]) == {10} and set(runs["d"]) == {3}
    # Θ holds m·d weights per run.
    assert all(len(t) == 30 for t in finished["theta"])


def test_trajectories_join_their_runs(dataset):
    traj = ds.dataset(dataset / "trajectories", format="parquet").to_table().to_pandas()
    runs = pd.read_parquet(dataset / "runs")
    assert set(traj["run_id"]) == set(runs["run_id"])
    assert not traj.duplicated(["run_id", "step"]).any()
    # Every run records step 0, and a finished run its last step.
    first = traj.groupby("run_id")["step"].min()
    assert (first == 0).all()
    last = traj.groupby("run_id")["step"].max()
    merged = runs.set_index("run_id").join(last.rename("last_step"))
    fin = merged[merged["status"] == "finished"]
    assert (fin["last_step"] == fin["steps"]).all()


def test_grid_json_lists_the_runs(dataset):
    grid = json.loads((dataset / "grid.json").read_text())
    runs = pd.read_parquet(dataset / "runs")
    assert sorted(grid["run_ids"]) == sorted(runs["run_id"])
    assert len(grid["fingerprint"]) == 16
    prov = json.loads((dataset / "provenance.json").read_text())
    assert prov["sessions"][0]["command"][1] == "sweep"


def test_columns_have_one_type_and_every_config_field(dataset):
    runs = pd.read_parquet(dataset / "runs")
    for col in ("m", "d", "n", "steps", "batch_size", "log_points", "replicate", "grid_table"):
        assert runs[col].dtype == "int64", col
    assert runs["seed"].dtype == "uint64"
    assert runs["hessian"].dtype == "bool"
    assert runs["diverge_loss"].dtype == "float64"
    # Each config field is a column holding what the config JSON says.
    for _, row in runs.iterrows():
        config = json.loads(row["config"])
        for key in ("log_points", "hessian", "diverge_loss", "cluster_tol", "seed", "steps"):
            assert row[key] == config[key], key
    assert set(runs["replicate"]) == {0, 1} and set(runs["grid_table"]) == {0}
    # A cell is the configuration but its seed: the two replicates share it.
    cells = runs.groupby("cell")
    assert cells.ngroups == POINTS // 2
    assert (cells["seed"].nunique() == 2).all()
    assert (cells[["steps", "eta", "sigma"]].nunique() == 1).all().all()
    assert not any(hasattr(pd.DataFrame, c) for c in runs.columns)


def test_duckdb_shows_the_grid_in_the_file_metadata(dataset):
    rows = duckdb.sql(
        f"select decode(key), decode(value) from parquet_kv_metadata('{dataset}/runs/*.parquet') "
        "where decode(key) = 'sharpsweep.config'"
    ).fetchall()
    assert rows
    for _, value in rows:
        config = json.loads(value)
        assert config["grid"]["seed"] == 11
        assert config["grid"]["grid"][0]["eta"] == [0.01, 0.02, 0.04]
        assert len(config["fingerprint"]) == 16
