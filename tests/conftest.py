"""Shared pytest settings: deterministic, single-threaded torch for small networks, and
derandomised property tests."""

import os

from hypothesis import settings

os.environ.setdefault("MPLBACKEND", "Agg")

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # torch-free tests still run
    pass

# Property tests draw the same examples on every run (the suite stays deterministic) and have no
# per-example deadline (a loaded CI machine must not turn a slow example into a failure).
settings.register_profile("book", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("book")
