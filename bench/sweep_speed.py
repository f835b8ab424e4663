"""How much a sweep gains from parallel workers, and what each backend costs per job.

Runs the same 8 equal jobs (A2C on CartPole-v1) one after another in this process, then
with 2 local worker processes, then (if Ray is installed) as Ray tasks on a local Ray
instance, each into a fresh temporary folder. Prints the wall times, the ratio of the
2-worker time to the sequential one (the target is at most 0.6 on a 2-core machine), and the
overhead per job of each backend with start-up included and excluded.

    python bench/sweep_speed.py [--steps 20000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from pgkit.sweeps import run_sweep


def one_run(backend: str, workers: int, steps: int, jobs: int) -> tuple[float, float]:
    """(wall seconds of the whole sweep, sum of the jobs' own training seconds)."""
    with tempfile.TemporaryDirectory(prefix="pg-sweep-bench-") as out:
        start = time.perf_counter()
        records = run_sweep(
            "a2c", "CartPole-v1", total_steps=steps, out=out, grid={"hidden": [[64, 64]]},
            seeds=jobs, eval_episodes=2, backend=backend, workers=workers, progress=False,
        )  # fmt: skip
        wall = time.perf_counter() - start
    return wall, sum(r["wall_time"] for r in records.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000, help="environment steps per job")
    parser.add_argument("--repeats", type=int, default=3, help="runs per configuration (median)")
    args = parser.parse_args()
    configurations = [("local", 1), ("local", 2)]
    try:
        import ray  # noqa: F401

        configurations.append(("ray", 2))
    except ImportError:
        print("Ray is not installed: skipping the ray backend")
    rows = {}
    for backend, workers in configurations:
        runs = [one_run(backend, workers, args.steps, 8) for _ in range(args.repeats)]
        # Start-up: a sweep of `workers` near-empty jobs, less those jobs' own time.
        starts = [one_run(backend, workers, 40, workers) for _ in range(args.repeats)]
        rows[backend, workers] = (
            statistics.median(w for w, _ in runs),
            statistics.median(j for _, j in runs),
            statistics.median(w - j / workers for w, j in starts),
        )
    sequential = rows["local", 1][0]
    print(
        "| Backend | Workers | Wall s (median) | Ratio to sequential | Start-up s | "
        "Overhead per job, s (start-up included) | Overhead per job, s (excluded) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for (backend, workers), (wall, job_seconds, startup) in rows.items():
        # Overhead: wall time beyond the jobs' own time spread evenly over the workers.
        overhead = (wall - job_seconds / workers) / 8
        print(
            f"| {backend} | {workers} | {wall:.1f} | {wall / sequential:.2f} | {startup:.1f} | "
            f"{overhead:.2f} | {overhead - startup / 8:.2f} |"
        )
    print(
        f"\n8 jobs of A2C, {args.steps} steps each; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
