#!/usr/bin/env python3
"""The experiments behind docs/fidelity.md: [G24] Figure 1 with sigma read as
a standard deviation and as a variance, divergence at eta = 0.05, and the
steps each surviving seed needs to reach s2/s1 < 1e-2.

Usage: python3 docs/fidelity/experiments.py [path/to/sharpsweep] > table.md
Needs pyarrow. Runs `sharpsweep run` once per (setting, seed).
"""
import math
import os
import subprocess
import sys
import tempfile

import pyarrow.parquet as pq

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/sharpsweep"
SEEDS_DIVERGENCE = range(256)
SEEDS_COLLAPSE = range(16)
SETTINGS = [
    # (label, eta, sigma, steps)
    ("Figure 1, sigma = 0.03 as std", 0.05, 0.03, 60_000_000),
    ("Figure 1, sigma = sqrt(0.03) (0.03 as variance)", 0.05, math.sqrt(0.03), 10_000_000),
]


def run(out, seed, eta, sigma, steps, log_points=300):
    subprocess.run(
        [BIN, "run", "--quiet", "--force", "--out", out, "--seed", str(seed),
         "--eta", repr(eta), "--sigma", repr(sigma), "--steps", str(steps),
         "--log-points", str(log_points)],
        check=True,
    )
    runs = pq.read_table(os.path.join(out, "runs.parquet")).to_pylist()[0]
    traj = pq.read_table(os.path.join(out, "trajectory.parquet"),
                         columns=["step", "sv_ratio2_z"]).to_pylist()
    return runs, traj


def first_below(traj, threshold):
    for row in traj:
        r = row["sv_ratio2_z"]
        if r is not None and r < threshold:
            return row["step"]
    return None


def main():
    tmp = tempfile.mkdtemp()
    print("| setting | seeds | diverged | median steps to s2/s1 < 1e-2 (survivors) | reached within budget |")
    print("|---|---|---|---|---|")
    for label, eta, sigma, steps in SETTINGS:
        diverged = 0
        for seed in SEEDS_DIVERGENCE:
            runs, _ = run(os.path.join(tmp, "d"), seed, eta, sigma, 2000, log_points=5)
            diverged += runs["status"] == "diverged"
        times = []
        reached = 0
        survivors = 0
        for seed in SEEDS_COLLAPSE:
            runs, traj = run(os.path.join(tmp, "c"), seed, eta, sigma, steps)
            if runs["status"] == "diverged":
                continue
            survivors += 1
            t = first_below(traj, 1e-2)
            print(f"  seed {seed}: s2/s1<1e-2 at step {t}, final s2/s1 {runs['sv_ratio2_z']:.2e}", file=sys.stderr)
            if t is not None:
                reached += 1
                times.append(t)
        times.sort()
        median = times[len(times) // 2] if times else None
        n = len(SEEDS_DIVERGENCE)
        print(f"| {label} (eta = {eta}, {steps:.0e} steps) | {n} | {diverged}/{n} = {100 * diverged / n:.0f}% "
              f"| {median:.2e} | {reached}/{survivors} of the surviving seeds among {len(SEEDS_COLLAPSE)} |"
              if median else f"| {label} | {n} | {diverged}/{n} | - | 0/{survivors} |")
        print(f"  steps to 1e-2 per surviving seed: {times}", file=sys.stderr)


if __name__ == "__main__":
    main()
