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


def test_book_seed_adds_the_offset_from_the_environment(monkeypatch):
    from pgkit.seeds import SEED_OFFSET_VARIABLE, book_seed, book_seeds

    monkeypatch.delenv(SEED_OFFSET_VARIABLE, raising=False)
    assert book_seed(0) == 0 and book_seeds(3) == [0, 1, 2]
    monkeypatch.setenv(SEED_OFFSET_VARIABLE, "1000")
    assert book_seed(7) == 1007
    assert book_seeds(2, start=5) == [1005, 1006]
    monkeypatch.setenv(SEED_OFFSET_VARIABLE, " ")
    assert book_seed(3) == 3


@pytest.mark.parametrize("value, match", [("ten", "not an integer"), ("-1", "negative")])
def test_bad_seed_offset_is_named(monkeypatch, value, match):
    from pgkit.seeds import SEED_OFFSET_VARIABLE, book_seed

    monkeypatch.setenv(SEED_OFFSET_VARIABLE, value)
    with pytest.raises(ValueError, match=f"PGKIT_SEED_OFFSET.*{match}"):
        book_seed(0)


@pytest.mark.parametrize("base", [-1, 1.5, True, "0"])
def test_book_seed_rejects_non_seeds(base):
    from pgkit.seeds import book_seed

    with pytest.raises(ValueError, match="non-negative integer"):
        book_seed(base)


@pytest.mark.parametrize("n", [0, -2, 2.0, True])
def test_book_seeds_rejects_a_bad_count(n):
    from pgkit.seeds import book_seeds

    with pytest.raises(ValueError, match="positive integer"):
        book_seeds(n)
