#!/usr/bin/env python3
"""How true the sweep's ETA is: runs a sweep of a grid mixing 10^5- and
3·10^6-step runs, reads its progress lines (stderr is a pipe, so it writes a
line per interval), and compares the ETA shown once 30 % of the work is done
with the time the sweep then actually took. Not part of the test suite; see
docs/performance.md ("Progress and ETA") for results.

    benches/eta/check.py [--threads N] [--long 64] [--short 1920] [--diverging F]

Builds the release binary first. Exits 0 when the ETA at 30 % is within
1.5x of the remaining time (either way), 1 when not.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# "sweep 1.2G/3.4G run-steps (35%), 12/178 runs, 25.0M/s, elapsed 1m02s, ETA 2m03s"
LINE = re.compile(
    r"^sweep (\S+)/(\S+) run-steps \((\d+)%\), (\d+)/(\d+) runs, \S+/s, "
    r"elapsed (\S+), ETA (\S+)$"
)


def number(text):
    """'12.3M' -> 12.3e6 (src/cli/progress.rs's human())."""
    scale = {"k": 1e3, "M": 1e6, "G": 1e9}.get(text[-1])
    return float(text[:-1]) * scale if scale else float(text)


def seconds(text):
    """'1h02m03s', '2m03s' or '3.4s' -> seconds; '?' -> None."""
    if text == "?":
        return None
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?([\d.]+)s", text)
    h, mi, s = m.groups()
    return int(h or 0) * 3600 + int(mi or 0) * 60 + float(s)


def grid(long_runs, short_runs, diverging):
    """Figure 1's problem (m, d, n) = (10, 3, 3) at a stable step size; a
    fraction `diverging` of the long runs at eta = 0.05, sigma = sqrt(0.03)
    (where most seeds diverge within a few steps)."""
    unstable = round(long_runs * diverging)
    text = f"""seed = 0
log_points = 200

[[grid]]
steps = 3_000_000
eta = 0.01
sigma = 0.1
seeds = {long_runs - unstable}

[[grid]]
steps = 100_000
eta = 0.01
sigma = 0.1
seeds = {short_runs}
"""
    if unstable:
        text += f"""
[[grid]]
steps = 3_000_000
eta = 0.05
sigma = 0.17320508075688773
seeds = {unstable}
"""
    return text


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--long", type=int, default=64, help="runs of 3·10^6 steps")
    ap.add_argument("--short", type=int, default=1920, help="runs of 10^5 steps")
    ap.add_argument(
        "--diverging", type=float, default=0.0,
        help="fraction of the long runs at an unstable step size",
    )
    ap.add_argument("--every", type=float, default=0.5, help="seconds between lines")
    args = ap.parse_args()

    subprocess.run(["cargo", "build", "--release", "--workspace", "--quiet"], cwd=ROOT, check=True)
    exe = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")),
                       "release", "sharpsweep")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "grid.toml")
        with open(path, "w") as f:
            f.write(grid(args.long, args.short, args.diverging))
        command = [exe, "sweep", path, "--out", os.path.join(tmp, "ds"),
                   "--threads", str(args.threads), "--progress-secs", str(args.every)]
        print("$", " ".join(command[1:]), file=sys.stderr)
        start = time.monotonic()
        proc = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                text=True)
        lines = []  # (seconds since start, fraction done, ETA shown)
        for raw in proc.stderr:
            m = LINE.match(raw.strip())
            if m:
                done, total = number(m[1]), number(m[2])
                lines.append((time.monotonic() - start, done / total, seconds(m[7])))
        proc.wait()
        end = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"the sweep failed (exit {proc.returncode})")

    print(f"{'t':>7} {'done':>6} {'ETA':>8} {'left':>8} {'ETA/left':>8}")
    at_30 = None
    for t, frac, eta in lines[:-1]:
        left = end - t
        ratio = eta / left if eta is not None and left > 0 else float("nan")
        print(f"{t:7.1f} {100 * frac:5.1f}% {eta if eta is not None else float('nan'):8.1f}"
              f" {left:8.1f} {ratio:8.2f}")
        if at_30 is None and frac >= 0.30 and eta is not None:
            at_30 = (t, frac, eta, left, ratio)
    print(f"sweep took {end:.1f} s, {len(lines)} progress lines")
    if at_30 is None:
        sys.exit("no progress line at 30 % or more: use a larger grid or a smaller --every")
    t, frac, eta, left, ratio = at_30
    ok = 1 / 1.5 <= ratio <= 1.5
    print(f"at {100 * frac:.1f} % ({t:.1f} s): ETA {eta:.1f} s, actually {left:.1f} s left: "
          f"ETA/actual = {ratio:.2f} ({'within' if ok else 'NOT within'} 1.5x)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
