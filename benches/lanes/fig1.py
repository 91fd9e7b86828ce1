#!/usr/bin/env python3
"""What continuous batching buys in [G24]'s Figure-1 setting: the 64-seed
grid at (m, d, n) = (10, 3, 3), sigma = sqrt(0.03), on one worker thread,
at eta = 0.05 (about two thirds of the seeds diverge within a few dozen
steps) and at the stable eta = 0.01, and one single run of the survivors'
summed steps. Not part of the test suite; see docs/performance.md
("Continuous batching: the Figure-1 grid") for results.

    benches/lanes/fig1.py [--steps 3000000] [--bin target/release/sharpsweep]

Prints, for each, user + system CPU seconds (of the whole process, from
wait4: the machine may be shared, and CPU time is distorted by other load
much less than wall time), the useful run-steps (provenance.json's
run_steps) and the CPU per useful run-step, the lane occupancy, and the
ratios the targets are stated in.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

GRID = """seed = 0
log_points = 30
[[grid]]
eta = {eta}
sigma = 0.17320508075688773
steps = {steps}
seeds = 64
"""


def cpu_of(cmd):
    """Runs cmd; returns its user + system CPU seconds."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd)} failed: {proc.stderr.read().decode()}")
    return usage.ru_utime + usage.ru_stime


def sweep(binary, tmp, eta, steps):
    """(CPU seconds, useful run-steps, lane occupancy, runs finished) of the grid at eta."""
    grid = os.path.join(tmp, f"fig1-{eta}.toml")
    with open(grid, "w") as f:
        f.write(GRID.format(eta=eta, steps=steps))
    out = os.path.join(tmp, f"ds-{eta}")
    cpu = cpu_of([binary, "sweep", grid, "--out", out, "--threads", "1", "--quiet"])
    with open(os.path.join(out, "provenance.json")) as f:
        session = json.load(f)["sessions"][-1]
    finished = subprocess.run(
        [binary, "status", out], capture_output=True, text=True, check=True
    ).stdout
    return cpu, session["run_steps"], session["lane_occupancy"], finished.strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=3_000_000)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "sharpsweep"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = {}
        for eta in (0.05, 0.01):
            cpu, steps, occupancy, status = sweep(args.bin, tmp, eta, args.steps)
            rows[eta] = (cpu, steps)
            print(
                f"eta = {eta}: {cpu:.2f} CPU s, {steps:.4g} useful run-steps, "
                f"{1e9 * cpu / steps:.1f} ns per useful run-step, "
                f"lane occupancy {100 * occupancy:.1f} %"
            )
            print("  " + status.replace("\n", "\n  "))
        survivors = rows[0.05][1]
        single = cpu_of(
            # At the stable eta, so that it cannot diverge: a step costs the same.
            [args.bin, "run", "--steps", str(survivors), "--eta", "0.01",
             "--sigma", "0.17320508075688773", "--log-points", "30",
             "--out", os.path.join(tmp, "single"), "--quiet"]
        )
        print(
            f"one run of {survivors} steps: {single:.2f} CPU s, "
            f"{1e9 * single / survivors:.1f} ns per step"
        )
        per_step = {eta: cpu / steps for eta, (cpu, steps) in rows.items()}
        print(f"eta 0.05 / eta 0.01 per useful run-step: {per_step[0.05] / per_step[0.01]:.3f}x")
        print(f"eta 0.05 grid / one single run of its steps: {rows[0.05][0] / single:.3f}x")


if __name__ == "__main__":
    main()
