"""`sharpsweep analyze` output read by pandas, DuckDB and polars, checked
against values recomputed here independently from the trajectories.

Needs SHARPSWEEP_DATASET (a sweep-layout dataset) and SHARPSWEEP_REPORT
(the report `sharpsweep analyze` wrote for it); .ci/suites/analyze.sh sets both.
"""

import glob
import json
import os
import pathlib

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pytest

DATA = pathlib.Path(os.environ.get("SHARPSWEEP_DATASET", "")) if os.environ.get("SHARPSWEEP_DATASET") else None
REPORT = pathlib.Path(os.environ.get("SHARPSWEEP_REPORT", "")) if os.environ.get("SHARPSWEEP_REPORT") else None

pytestmark = pytest.mark.skipif(DATA is None or REPORT is None, reason="run through .ci/suites/analyze.sh")


def runs() -> pd.DataFrame:
    return pd.concat(pd.read_parquet(p) for p in sorted(glob.glob(str(DATA / "runs" / "part-*.parquet"))))


def trajectories() -> pd.DataFrame:
    return pd.concat(pd.read_parquet(p) for p in sorted(glob.glob(str(DATA / "trajectories" / "part-*.parquet"))))


def summary() -> pd.DataFrame:
    return pd.read_parquet(REPORT / "summary.parquet")


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-12 * max(1.0, abs(b))


def test_final_s2_s1_quartiles_per_cell_match_the_last_trajectory_rows():
    r, t, s = runs(), trajectories(), summary()
    last = t.sort_values("step").groupby("run_id").tail(1)[["run_id", "sv_ratio2_z"]]
    alive = r[~r.status.isin(["diverged", "failed"])][["run_id", "eta", "sigma"]].merge(last, on="run_id")
    expected = alive.groupby(["eta", "sigma"]).sv_ratio2_z.quantile([0.25, 0.5, 0.75]).unstack()
    assert len(expected) == len(s) >= 2
    for _, row in s.iterrows():
        q = expected.loc[(row.eta, row.sigma)]
        assert close(row.sv_ratio2_z_median, q[0.5]), (row.cell, row.sv_ratio2_z_median, q[0.5])
        assert close(row.sv_ratio2_z_q25, q[0.25])
        assert close(row.sv_ratio2_z_q75, q[0.75])


def test_steps_to_one_percent_are_first_recorded_crossings():
    r, t, s = runs(), trajectories(), summary()
    below = t[t.sv_ratio2_z < 1e-2].groupby("run_id").step.min().rename("first")
    alive = r[~r.status.isin(["diverged", "failed"])][["run_id", "eta", "sigma"]].merge(below, on="run_id", how="left")
    checked = 0
    for (eta, sigma), g in alive.groupby(["eta", "sigma"]):
        row = s[(s.eta == eta) & (s.sigma == sigma)].iloc[0]
        assert close(row.reached_0_01, g["first"].notna().mean())
        if g["first"].notna().all():
            assert close(row.steps_to_0_01_median, g["first"].median())
            checked += 1
    assert checked >= 1, "no cell converged everywhere: the dataset is too short"


def test_divergence_rate_and_sharpness_gap_agree_with_duckdb():
    con = duckdb.connect()
    runs_glob = str(DATA / "runs" / "part-*.parquet")
    got = con.execute(
        f"""
        SELECT eta, sigma,
               avg(CASE WHEN status = 'diverged' THEN 1.0 ELSE 0.0 END) AS rate,
               quantile_cont(sharpness_r - sharpness_r_star, 0.5)
                   FILTER (WHERE status NOT IN ('diverged', 'failed')) AS gap
        FROM read_parquet('{runs_glob}')
        GROUP BY eta, sigma
        """
    ).df()
    s = summary().merge(got, on=["eta", "sigma"])
    assert len(s) == len(got)
    for _, row in s.iterrows():
        assert close(row.divergence_rate, row.rate)
        if not np.isnan(row.gap):
            assert close(row.r_gap_median, row.gap)


def test_theory_row_means_are_the_final_z_averaged_over_neurons():
    r, t = runs(), trajectories()
    theory = pl.read_parquet(REPORT / "theory.parquet")
    assert theory.height == len(r)
    last = t.sort_values("step").groupby("run_id").tail(1).set_index("run_id")
    for row in theory.iter_rows(named=True):
        z = np.asarray(last.loc[row["run_id"], "z"], dtype=float).reshape(row["n"], row["m"])
        if not np.isfinite(z).all():
            continue
        np.testing.assert_allclose(row["z_row_mean"], z.mean(axis=1), rtol=1e-12, atol=1e-15)
        z_star = np.asarray(row["z_star"])
        assert close(row["max_mean_gap"], float(np.abs(z.mean(axis=1) - z_star).max()))


def test_summary_cells_cover_the_grid_and_carry_their_config():
    s = pl.read_parquet(REPORT / "summary.parquet")
    grid = json.loads((DATA / "grid.json").read_text())
    assert s.height == len(grid["eta"]) * len(grid["sigma"])
    for cfg in s["config"]:
        assert "seed" not in json.loads(cfg)


def test_report_tables_type_their_columns_like_the_runs_table():
    s = pl.read_parquet(REPORT / "summary.parquet")
    theory = pl.read_parquet(REPORT / "theory.parquet")
    for col in ("m", "d", "n", "steps", "batch_size"):
        assert s.schema[col] == pl.Int64, col
    assert s.schema["hessian"] == pl.Boolean
    assert theory.schema["seed"] == pl.UInt64
    assert "flags" not in theory.columns and "caveats" in theory.columns
    # The cell ids analyze gives are the ones the engine wrote per run.
    r = runs().set_index("run_id")
    for row in theory.iter_rows(named=True):
        assert row["cell"] == r.loc[row["run_id"], "cell"]
    assert set(s["cell"]) == set(r["cell"])
