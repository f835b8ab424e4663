import os

import pytest

from pgkit.seeds import run_seeds


def _job(seed, scale=1):
    return seed * scale, os.getpid()


def test_sequential_keeps_order_and_kwargs():
    results = run_seeds(_job, [3, 1, 2], processes=1, scale=10)
    assert [r[0] for r in results] == [30, 10, 20]
    assert {r[1] for r in results} == {os.getpid()}


def test_parallel_gives_the_same_results_in_other_processes():
    results = run_seeds(_job, [0, 1, 2, 3], processes=2, scale=2)
    assert [r[0] for r in results] == [0, 2, 4, 6]
    assert os.getpid() not in {r[1] for r in results}


def test_parallel_accepts_a_closure():
    offset = 5
    assert run_seeds(lambda seed: seed + offset, [1, 2], processes=2) == [6, 7]


@pytest.mark.parametrize(
    "seeds, processes, match",
    [([], None, "empty"), ([1, 1], None, "duplicates"), ([1], 0, "positive")],
)
def test_errors(seeds, processes, match):
    with pytest.raises(ValueError, match=match):
        run_seeds(_job, seeds, processes=processes)
