"""The workbook generator and the ``check``/``exercises`` commands, under their former path.

They now live in :mod:`pgkit.exercises.workbook` and :mod:`pgkit.exercises.commands`; this
module re-exports them and is kept for one release.
"""

from pgkit.exercises.commands import (
    check_command,
    exercises_command,
    load_function,
    workbook_command,
)
from pgkit.exercises.workbook import (
    FINGERPRINT_KEY,
    FINGERPRINT_PREFIX,
    LEGACY_FINGERPRINT,
    SOLUTION_BLOCK,
    SOLUTION_END,
    SOLUTION_START,
    stub_source,
    workbook_cells,
    write_workbook,
)

__all__ = [
    "FINGERPRINT_KEY",
    "FINGERPRINT_PREFIX",
    "LEGACY_FINGERPRINT",
    "SOLUTION_BLOCK",
    "SOLUTION_END",
    "SOLUTION_START",
    "check_command",
    "exercises_command",
    "load_function",
    "stub_source",
    "workbook_cells",
    "workbook_command",
    "write_workbook",
]
