"""A sharpsweep dataset in pandas and in polars, and [G24] Figure 1 re-plotted
with matplotlib from the data `sharpsweep analyze` drew it from.

    sharpsweep sweep grid.toml --out results
    sharpsweep analyze results --report report
    python examples/analysis.py results report --out analysis

prints, per cell (η, σ), the finished runs and the median step at which
s₂/s₁ of Z first fell below 10⁻², computed once with pandas and once with
polars, and writes ANALYSIS/figure1.png: s_k/s₁ of Z against the step, one
panel per cell, the median over seeds with its interquartile band, from
REPORT/spectrum.parquet (every figure of a report has its data beside it as
NAME.parquet: one row per point drawn, columns `panel`, `series`, `x`, `y`,
`y_q25`, `y_q75`, …). Needs pandas, polars, pyarrow and matplotlib.
"""

import argparse
import math
import pathlib

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt
import pandas as pd
import polars as pl

CELL = ["eta", "sigma"]
THRESHOLD = 1e-2


def with_pandas(dataset: pathlib.Path) -> pd.Series:
    """Median first step below THRESHOLD per cell, finished runs only (a
    diverged run's s₂/s₁ falls as it blows up, like a collapse)."""
    runs = pd.read_parquet(dataset / "runs")  # every part-*.parquet
    runs = runs[runs.status == "finished"]
    traj = pd.read_parquet(dataset / "trajectories", columns=["run_id", "step", "sv_ratio2_z"])
    first = traj[traj.sv_ratio2_z < THRESHOLD].groupby("run_id").step.min()
    steps = runs.set_index("run_id")[CELL].join(first.rename("steps"))
    return steps.groupby(CELL)["steps"].median()


def with_polars(dataset: pathlib.Path) -> pl.DataFrame:
    """The same with polars, lazily: only the columns used are read."""
    runs = pl.scan_parquet(dataset / "runs" / "*.parquet").filter(pl.col("status") == "finished")
    first = (
        pl.scan_parquet(dataset / "trajectories" / "*.parquet")
        .filter(pl.col("sv_ratio2_z") < THRESHOLD)
        .group_by("run_id")
        .agg(pl.col("step").min().alias("steps"))
    )
    return (
        runs.select(["run_id", *CELL])
        .join(first, on="run_id", how="left")
        .group_by(CELL)
        .agg(pl.col("steps").median())
        .sort(CELL)
        .collect()
    )


def figure1(report: pathlib.Path, out: pathlib.Path) -> None:
    data = pd.read_parquet(report / "spectrum.parquet")
    panels = list(dict.fromkeys(data.panel))  # in the report's order
    cols = min(len(panels), 3)
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        for series, line in data[data.panel == panel].groupby("series", sort=False):
            line = line.dropna(subset=["y"]).sort_values("x")
            (drawn,) = ax.plot(line.x, line.y, label=series)
            ax.fill_between(line.x, line.y_q25, line.y_q75, color=drawn.get_color(), alpha=0.25)
        ax.set(xscale="symlog", yscale="log", title=panel, xlabel="step", ylabel="$s_k/s_1$ of Z")
        ax.title.set_fontsize(8)
        ax.legend(fontsize=7)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "figure1.png", dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=pathlib.Path, help="a sweep's --out")
    parser.add_argument("report", type=pathlib.Path, help="analyze's --report of it")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("analysis"))
    args = parser.parse_args()

    by_pandas = with_pandas(args.dataset)
    by_polars = with_polars(args.dataset)
    print(f"median step at which s2/s1 < {THRESHOLD:g}, finished runs (pandas):")
    print(by_pandas.to_string())
    print("the same with polars:")
    print(by_polars)
    assert by_pandas.dropna().tolist() == by_polars["steps"].drop_nulls().to_list(), (
        "pandas and polars disagree"
    )

    figure1(args.report, args.out)
    print(f"wrote {args.out / 'figure1.png'}")


if __name__ == "__main__":
    main()
