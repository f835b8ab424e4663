"""pgkit.sweeps: grids of jobs, resumable runs, failures kept, both backends agree, reports."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pgkit import sweeps
from pgkit.checkpoints import load_run
from pgkit.sweeps import as_history, load_results, make_jobs, run_jobs, run_sweep, sweep_report

GRID = {"gamma": [0.9, 0.99], "lam": [0.9, 1.0]}
SMALL = dict(total_steps=800, seeds=2, eval_episodes=2, progress=False)
# Tiny networks keep each job well under a second.
TINY = {**GRID, "hidden": [[8]]}


def flaky(env_id, *, total_steps, seed, progress, **settings):
    """A training function that fails for seed 1 until the file named by $FLAKY_OK exists."""
    from pgkit.algos import a2c

    if seed == 1 and not Path(os.environ["FLAKY_OK"]).exists():
        raise RuntimeError("seed 1 is broken today")
    return a2c(env_id, total_steps=total_steps, seed=seed, progress=progress, **settings)


def test_jobs_cover_the_grid_times_the_seeds_with_stable_distinct_ids():
    jobs = make_jobs("a2c", "CartPole-v1", total_steps=100, grid=GRID, seeds=3)
    assert len(jobs) == 12 and len({job.id for job in jobs}) == 12
    again = make_jobs(
        "a2c", "CartPole-v1", total_steps=100, grid=dict(reversed(GRID.items())), seeds=3
    )
    assert [job.id for job in jobs] == [job.id for job in again]
    assert jobs[0].id.startswith("a2c_gamma=0.9_lam=0.9_seed=0-")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(algo="sac"), "cannot find the training function"),
        (dict(grid={"gamma": []}), "non-empty list"),
        (dict(grid={"gamma": 0.9}), "non-empty list"),
        (dict(grid={"seed": [1, 2]}), "cannot set 'seed'"),
        (dict(seeds=[1, 1]), "distinct"),
        (dict(seeds=0), ">= 1"),
    ],
)
def test_bad_sweeps_are_refused(kwargs, match):
    args = {"algo": "a2c", "env_id": "CartPole-v1", "total_steps": 100, **kwargs}
    with pytest.raises(ValueError, match=match):
        make_jobs(args.pop("algo"), args.pop("env_id"), **args)


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "local"
    records = run_sweep("a2c", "CartPole-v1", out=out, grid=TINY, workers=2, **SMALL)
    return out, records


def test_a_local_sweep_writes_one_file_per_job_and_the_tables(local_sweep):
    out, records = local_sweep
    assert len(records) == 8 and not any("error" in r for r in records.values())
    assert len(list((out / "jobs").glob("*.json"))) == 8
    record = next(iter(records.values()))
    assert {"history", "final_return", "wall_time", "config", "versions"} <= record.keys()
    assert record["versions"]["torch"].startswith("2.13")
    assert len(list((out / "runs").iterdir())) == 8
    summary = (out / "summary.csv").read_text().splitlines()
    assert summary[0] == "job,algo,env_id,gamma,hidden,lam,seed,final_return,mean_return,wall_time"
    assert len(summary) == 9
    rows = (out / "results.csv").read_text().splitlines()
    assert len(rows) == 1 + sum(len(r["history"]["steps"]) for r in records.values())


def test_rerunning_skips_finished_jobs(local_sweep, monkeypatch):
    out, records = local_sweep

    def must_not_run(job, out=None):
        raise AssertionError(f"{job.id} was run again")

    monkeypatch.setattr(sweeps, "run_job", must_not_run)
    again = run_sweep("a2c", "CartPole-v1", out=out, grid=TINY, workers=1, **SMALL)
    assert again == records


def test_one_process_gives_the_same_numbers_as_two(local_sweep, tmp_path):
    out, records = local_sweep
    one = run_sweep("a2c", "CartPole-v1", out=tmp_path, grid=TINY, workers=1, **SMALL)
    for job_id, record in one.items():
        assert record["history"]["episode_return"] == records[job_id]["history"]["episode_return"]
        assert record["final_return"] == records[job_id]["final_return"]


def test_a_failing_job_is_recorded_not_fatal_and_retried(tmp_path, monkeypatch):
    monkeypatch.setenv("FLAKY_OK", str(tmp_path / "ok"))
    out = tmp_path / "sweep"
    algo = f"{__name__}:flaky"
    first = run_sweep(algo, "CartPole-v1", out=out, grid={"hidden": [[8]]}, workers=1, **SMALL)
    failed = [r for r in first.values() if "error" in r]
    assert len(failed) == 1 and "seed 1 is broken today" in failed[0]["error"]
    assert "RuntimeError" in failed[0]["traceback"]
    assert len(list((out / "jobs").glob("*.error.json"))) == 1
    assert len(load_results(out)) == 1
    (tmp_path / "ok").touch()
    second = run_sweep(algo, "CartPole-v1", out=out, grid={"hidden": [[8]]}, workers=1, **SMALL)
    assert not any("error" in r for r in second.values())
    assert not list((out / "jobs").glob("*.error.json"))


def test_a_killed_sweep_resumes_where_it_stopped(tmp_path):
    out = tmp_path / "sweep"
    argv = [sys.executable, "-m", "pgkit", "sweep", "a2c", "--steps", "3000", "--seeds", "4",
            "--grid", "hidden=[8]", "--eval-episodes", "2", "--workers", "1", "--out", str(out),
            "--no-progress"]  # fmt: skip
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list((out / "jobs").glob("*seed=0*.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    done_before = {p.name for p in (out / "jobs").glob("*.json")}
    assert 1 <= len(done_before) < 4, "the kill should land while jobs are left"
    finished = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert "4 of 4 jobs finished" in finished.stdout
    assert len(load_results(out)) == 4


def test_the_report_draws_the_heatmap_and_curves(local_sweep):
    import matplotlib as mpl

    out, _ = local_sweep
    before = dict(mpl.rcParams)
    paths = sweep_report(out)
    assert [p.name for p in paths] == ["heatmap.png", "learning_curves.png"]
    assert all(p.stat().st_size > 1000 for p in paths)
    assert dict(mpl.rcParams) == before  # the caller's matplotlib settings are left alone


def test_ray_gives_the_same_numbers_as_local_processes(local_sweep, tmp_path):
    pytest.importorskip("ray")
    out, records = local_sweep
    on_ray = run_sweep(
        "a2c", "CartPole-v1", out=tmp_path, grid=TINY, backend="ray", workers=2, **SMALL
    )
    assert on_ray.keys() == records.keys()
    for job_id, record in on_ray.items():
        assert record["history"]["episode_return"] == records[job_id]["history"]["episode_return"]
        assert record["final_return"] == records[job_id]["final_return"]
    assert json.loads(next((tmp_path / "jobs").glob("*.json")).read_text())["id"]


def test_a_record_names_the_saved_networks_of_its_job(local_sweep):
    out, records = local_sweep
    record = next(iter(records.values()))
    run = load_run(out / record["run"])
    assert run.config == record["config"]
    history = as_history(record)
    assert history["steps"].dtype == float and len(history["steps"]) == len(
        record["history"]["steps"]
    )


def test_jobs_of_different_algorithms_run_together(tmp_path):
    small = dict(total_steps=600, seeds=[3], eval_episodes=2)
    jobs = make_jobs("ppo", "CartPole-v1", grid={"hidden": [[8]], "epochs": [2]}, **small)
    jobs += make_jobs("reinforce", "CartPole-v1", grid={"hidden": [[8]]}, **small)
    records = run_jobs(jobs, out=tmp_path, workers=2, progress=False)
    assert [records[job.id]["algo"] for job in jobs] == ["ppo", "reinforce"]
    assert not any("error" in r for r in records.values())
    with pytest.raises(ValueError, match="same job twice"):
        run_jobs(jobs + jobs[:1], out=tmp_path, progress=False)
    with pytest.raises(TypeError, match="Job"):
        run_jobs(["ppo"], out=tmp_path, progress=False)


def test_as_history_of_a_failed_job_says_why():
    with pytest.raises(ValueError, match="broken"):
        as_history({"id": "x", "error": "RuntimeError: broken"})


def test_the_report_keeps_two_algorithms_with_the_same_settings_apart(tmp_path):
    small = dict(total_steps=600, grid={"hidden": [[8]]}, seeds=[0], eval_episodes=2)
    # Two sweeps into one folder, as the command line does with one algorithm per call.
    run_jobs(make_jobs("a2c", "CartPole-v1", **small), out=tmp_path, workers=1, progress=False)
    run_jobs(
        make_jobs("reinforce", "CartPole-v1", **small), out=tmp_path, workers=1, progress=False
    )
    summary = (tmp_path / "summary.csv").read_text().splitlines()
    assert [row.split(",")[1] for row in summary] == ["algo", "a2c", "reinforce"]
    # No setting varies, so only the algorithm can be the heat map's axis.
    assert [p.name for p in sweep_report(tmp_path)] == ["heatmap.png", "learning_curves.png"]


def test_the_heat_map_of_several_algorithms_has_one_row_per_algorithm_and_setting():
    from pgkit.sweep_results import _heatmap_grid, _setting_labels

    def record(algo, settings, final):
        return {"algo": algo, "settings": settings, "final_return": final}

    records = [
        record("reinforce", {"reward_to_go": False}, 100.0),
        record("reinforce", {"reward_to_go": True}, 300.0),
        record("a2c", {"lam": 0.95}, 400.0),
        record("a2c", {"lam": 0.95}, 500.0),
    ]
    rows_name, rows, cols_name, cols, scores = _heatmap_grid(records, _setting_labels(records))
    # reward_to_go False and True stay two rows, not one mean of 200.
    assert rows == ["a2c, lam = 0.95", "reinforce, reward_to_go = False",
                    "reinforce, reward_to_go = True"]  # fmt: skip
    assert cols_name is None and scores[:, 0].tolist() == [450.0, 100.0, 300.0]
    # One algorithm: the grid's first two varied settings, the mean over the rest.
    one = [record("a2c", {"gamma": g, "lam": lam, "lr": lr}, g * 100 + lam * 10 + lr)
           for g in (0.9, 1.0) for lam in (0.5, 1.0) for lr in (1.0, 3.0)]  # fmt: skip
    rows_name, rows, cols_name, cols, scores = _heatmap_grid(one, _setting_labels(one))
    assert (rows_name, rows, cols_name, cols) == ("gamma", [0.9, 1.0], "lam", [0.5, 1.0])
    assert scores[0, 1] == pytest.approx(90 + 10 + 2)
