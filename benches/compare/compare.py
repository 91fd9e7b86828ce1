"""Times one label-noise step in numpy, JAX (jit + lax.scan, and vmap over
runs) and PyTorch, all float64 on one thread, and prints the ratio of
sharpsweep's rate to each (docs/performance.md, "Comparison").

The step is the same everywhere: full batch, cubic-linear phi = z^3 + z,
Gaussian label noise sigma = 0.03 drawn every step,
    Z = X Theta^T,  r = sum_j phi(Z) - y - xi,
    Theta -= (2 eta / n) (phi'(Z) * r)^T X.
Each rate is the best of five timed repetitions after a warm-up (which also
absorbs JAX's compilation).

Usage: compare.py --sharpsweep PATH/TO/step_rate [--quick]
(benches/compare/run.sh sets everything up and calls this).
"""

import argparse
import json
import os
import subprocess
import sys
import time

SIZES = [(10, 3, 3), (100, 50, 20), (512, 512, 128)]
RUNS = 1024  # runs in the batched (vmap / LaneTrainer) comparison, at (10, 3, 3)
SIGMA = 0.03


def steps_for(m, d, n, per_step_python):
    """Steps per timed repetition: ~0.2 s of work, at least 2."""
    flops = 4 * m * d * n
    return max(2, min(200_000, int(2e8 / max(flops, 1)) if not per_step_python else 2000))


def eta_for(m):
    return 0.1 / (m * 4.0)


def problem(np, m, d, n, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = rng.uniform(size=n)
    theta = rng.normal(size=(m, d)) / np.sqrt(d)
    return x, y, theta


def best_of(fn, reps=5):
    fn()
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def numpy_rate(m, d, n, steps):
    import numpy as np

    x, y, theta = problem(np, m, d, n, 0)
    rng = np.random.default_rng(1)
    scale = 2 * eta_for(m) / n

    def run():
        nonlocal theta
        for _ in range(steps):
            xi = SIGMA * rng.standard_normal(n)
            z = x @ theta.T
            r = (z * z * z + z).sum(axis=1) - y - xi
            c = (3 * z * z + 1) * (scale * r)[:, None]
            theta -= c.T @ x

    return steps / best_of(run)


def jax_step(jnp, x, y, eta):
    n = x.shape[0]
    scale = 2 * eta / n

    def step(theta, noise):
        z = x @ theta.T
        r = (z * z * z + z).sum(axis=1) - y - noise
        c = (3 * z * z + 1) * (scale * r)[:, None]
        return theta - c.T @ x

    return step


def jax_scan_rate(m, d, n, steps):
    import jax
    import jax.numpy as jnp
    import numpy as np

    x, y, theta = (jnp.asarray(a) for a in problem(np, m, d, n, 0))
    step = jax_step(jnp, x, y, eta_for(m))

    @jax.jit
    def run(theta, key):
        def body(carry, _):
            th, k = carry
            k, sub = jax.random.split(k)
            return (step(th, SIGMA * jax.random.normal(sub, (n,), dtype=jnp.float64)), k), None

        (theta, key), _ = jax.lax.scan(body, (theta, key), None, length=steps)
        return theta, key

    state = [theta, jax.random.PRNGKey(1)]

    def go():
        th, k = run(*state)
        th.block_until_ready()
        state[:] = [th, k]

    return steps / best_of(go)


def jax_vmap_rate(m, d, n, steps, runs):
    import jax
    import jax.numpy as jnp
    import numpy as np

    probs = [problem(np, m, d, n, s) for s in range(runs)]
    xs, ys, thetas = (jnp.asarray(np.stack(a)) for a in zip(*probs))
    etas = jnp.asarray([eta_for(m) * (1 + 0.01 * i) for i in range(runs)])

    def one(x, y, eta, theta, key):
        step = jax_step(jnp, x, y, eta)

        def body(carry, _):
            th, k = carry
            k, sub = jax.random.split(k)
            return (step(th, SIGMA * jax.random.normal(sub, (n,), dtype=jnp.float64)), k), None

        (theta, key), _ = jax.lax.scan(body, (theta, key), None, length=steps)
        return theta, key

    run = jax.jit(jax.vmap(one))
    state = [thetas, jax.random.split(jax.random.PRNGKey(1), runs)]

    def go():
        th, k = run(xs, ys, etas, *state)
        th.block_until_ready()
        state[:] = [th, k]

    return runs * steps / best_of(go)


def torch_rate(m, d, n, steps):
    import numpy as np
    import torch

    torch.set_num_threads(1)
    x, y, theta = (torch.from_numpy(a) for a in problem(np, m, d, n, 0))
    gen = torch.Generator().manual_seed(1)
    scale = 2 * eta_for(m) / n

    def run():
        with torch.no_grad():
            for _ in range(steps):
                xi = SIGMA * torch.randn(n, generator=gen, dtype=torch.float64)
                z = x @ theta.T
                r = (z * z * z + z).sum(dim=1) - y - xi
                c = (3 * z * z + 1) * (scale * r)[:, None]
                theta.sub_(c.T @ x)

    return steps / best_of(run)


def sharpsweep_rate(exe, m, d, n, steps, runs=1):
    out = subprocess.run([exe, str(m), str(d), str(n), str(steps), str(runs)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["run_steps_per_s"]


def blas_info():
    try:
        from threadpoolctl import threadpool_info
        return [{k: i.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
                for i in threadpool_info()]
    except ImportError:
        return "threadpoolctl not installed"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sharpsweep", required=True, help="path to the step_rate example binary")
    ap.add_argument("--quick", action="store_true", help="only (10, 3, 3)")
    args = ap.parse_args()
    import jax

    jax.config.update("jax_enable_x64", True)
    import numpy, torch

    print(f"# numpy {numpy.__version__}, jax {jax.__version__}, torch {torch.__version__}")
    print(f"# BLAS: {blas_info()}")
    print(f"# OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')} "
          f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE')}")
    rows = []
    for (m, d, n) in SIZES[:1] if args.quick else SIZES:
        fast = steps_for(m, d, n, False)
        slow = steps_for(m, d, n, True) if m * d * n < 10_000 else max(2, fast // 4)
        ours = sharpsweep_rate(args.sharpsweep, m, d, n, fast)
        rates = {
            "numpy": numpy_rate(m, d, n, slow),
            "jax jit+scan": jax_scan_rate(m, d, n, fast),
            "torch": torch_rate(m, d, n, slow),
        }
        for name, r in rates.items():
            rows.append(((m, d, n), 1, name, r, ours))
        if (m, d, n) == SIZES[0]:
            steps = 2000
            ours = sharpsweep_rate(args.sharpsweep, m, d, n, steps * 10, RUNS)
            rows.append(((m, d, n), RUNS, "jax vmap", jax_vmap_rate(m, d, n, steps, RUNS), ours))
        sys.stdout.flush()
    print(f"{'(m, d, n)':>16} {'runs':>5} {'framework':>14} {'its run-steps/s':>16} "
          f"{'sharpsweep':>14} {'ratio':>8}")
    for size, runs, name, theirs, ours in rows:
        print(f"{str(size):>16} {runs:>5} {name:>14} {theirs:>16.4g} {ours:>14.4g} {ours / theirs:>8.1f}x")
        print(json.dumps({"m": size[0], "d": size[1], "n": size[2], "runs": runs, "framework": name,
                          "run_steps_per_s": theirs, "sharpsweep_run_steps_per_s": ours}),
              file=sys.stderr)


if __name__ == "__main__":
    main()
