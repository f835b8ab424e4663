r"""Ctrl-C and SIGTERM during ``python -m pgkit train``: the first stops, the second abandons.

The first signal stops training: it arrives as a KeyboardInterrupt (:class:`Terminated` for
SIGTERM), which the training functions of :mod:`pgkit.algos` turn into the partial run that
the command saves. A second signal stops at once, as :class:`Abort`, saving nothing more. A
signal while the command imports or saves is only noted, so the import or the save finishes
first. The exit codes are those a shell reports for a process ended by the signal, 128 plus
its number: ``EXIT_SIGINT`` (130) and ``EXIT_SIGTERM`` (143).

:class:`Signals` is the handler, installed for the length of the command and removed after
it; nothing here is kept between commands.
"""

from __future__ import annotations

import signal
from typing import Any

__all__ = ["EXIT_SIGINT", "EXIT_SIGTERM", "Abort", "Signals", "Terminated", "exit_code"]

# Exit codes of a run stopped by a signal, as a shell reports them (128 + the signal's number).
EXIT_SIGINT, EXIT_SIGTERM = 130, 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an interruption so that training stops the same way as on Ctrl-C."""


class Abort(BaseException):
    """A second Ctrl-C or SIGTERM: stop at once.

    Not a KeyboardInterrupt, so that training does not turn it into a partial run to save,
    and no ``except Exception`` swallows it.

    Parameters
    ----------
    signum : int
        The signal that came second.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def exit_code(signum: int | None) -> int:
    """The exit code of a command stopped by ``signum``: 143 for SIGTERM, else 130.

    Parameters
    ----------
    signum : int or None
        The signal that stopped the command; None (a KeyboardInterrupt raised by something
        other than a signal handler) counts as Ctrl-C.

    Returns
    -------
    int
        ``EXIT_SIGTERM`` or ``EXIT_SIGINT``.
    """
    return EXIT_SIGTERM if signum == signal.SIGTERM else EXIT_SIGINT


class Signals:
    """SIGINT and SIGTERM during ``train``: the first stops the work, the second abandons it.

    Used as a context manager, which installs the handler for both signals and puts back the
    previous handlers on leaving. ``phase`` says what the command is doing. In
    ``"training"`` the first signal raises KeyboardInterrupt (:class:`Terminated` for
    SIGTERM), which the training functions turn into their partial run. In ``"setup"``
    (imports) and ``"saving"`` it is only noted: the import or the save finishes first. The
    second signal raises :class:`Abort`, except during setup, where an exception inside the
    import of a compiled module can crash the interpreter. Nothing is raised after that, so
    the clean-up that :class:`Abort` starts (removing the half-written folder) cannot itself
    be cut short by yet another signal.
    """

    def __init__(self) -> None:
        self.phase = "setup"
        self.first: int | None = None  # the signal that stopped the work, once one has
        self.stopped = False
        self.aborted = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Signals:
        self._previous = {
            signum: signal.signal(signum, self._handle)
            for signum in (signal.SIGINT, signal.SIGTERM)
        }
        return self

    def __exit__(self, *exc_info) -> None:
        for signum, handler in self._previous.items():
            if handler is not None:  # None: installed from C, which Python cannot restore
                signal.signal(signum, handler)

    def stop(self) -> None:
        """Note a stop that came as a KeyboardInterrupt from elsewhere than this handler."""
        self.stopped = True

    def _handle(self, signum: int, frame: Any) -> None:
        if not self.stopped:
            self.stopped, self.first = True, signum
            if self.phase == "training":
                if signum == signal.SIGTERM:
                    raise Terminated("terminated (SIGTERM)")
                raise KeyboardInterrupt
        elif not self.aborted and self.phase != "setup":
            self.aborted = True
            raise Abort(signum)
