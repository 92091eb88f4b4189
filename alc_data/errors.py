"""The project's error types: every problem a user can fix is an :class:`AlcError` subclass.

Each subclass also inherits the builtin exception it refines (as ``huggingface_hub.errors`` does), so
library callers can catch ``LookupError`` or ``ValueError`` as usual. Code raises a subclass, never the
base class (``tests/test_errors.py`` checks it). Each class carries the command line's exit code
(:attr:`AlcError.exit_code`) and the line it prints (:meth:`AlcError.report`): the CLI prints
``error: <message>`` on one line and exits with code 2; :class:`ChecksFailed` (``alc-data check``
found problems) exits 1. Anything else is a bug and is reported as such (exit code 3, traceback with
``ALC_DEBUG=1``).

Library errors from sqlite3, PIL, csv or rich are translated where they arise, with the file and the
fix in the message, never by a catch-all in the CLI.
"""

from __future__ import annotations

from typing import ClassVar

#: exit codes of the command line: 1 = checks failed, 2 = a problem the user can fix, 3 = a bug
EXIT_CHECKS_FAILED = 1
EXIT_USER_ERROR = 2
EXIT_BUG = 3


class AlcError(Exception):
    """A problem the user can fix: the message names the file or value and the fix.

    Abstract: raise one of the subclasses below.
    """

    #: the command line's exit status for this error
    exit_code: ClassVar[int] = EXIT_USER_ERROR
    #: whether ``ALC_DEBUG=1`` shows this error's traceback
    debug_traceback: ClassVar[bool] = True

    def report(self) -> str:
        """The line the command line prints on stderr ("" prints nothing)."""
        return f"error: {self}"


class InvalidInput(AlcError, ValueError):
    """A value, option or file content that is not acceptable (bad class name, bad CSV row, bad size)."""


class NotFound(AlcError, LookupError):
    """Something named does not exist: a file, an image id, a label version, a round."""


class AlreadyExists(AlcError, FileExistsError):
    """The target exists and the command will not overwrite it (pass ``--overwrite`` where offered)."""


class Conflict(AlcError):
    """The request contradicts the workspace's state (an answer already recorded, a set in use, a
    round with unapplied answers)."""


class WorkspaceBusy(AlcError, TimeoutError):
    """Another command holds the workspace's write lock."""


class WorkspaceDamaged(AlcError, OSError):
    """The workspace's database or files are damaged or unreadable; ``alc-data check`` says what."""


class WriteFailed(AlcError, OSError):
    """A write failed for want of space (ENOSPC), over the file-size limit (EFBIG, ``ulimit -f``), over a
    quota (EDQUOT) or on a read-only file system (EROFS). Nothing is damaged: the message says what was
    kept and the command that goes on. ``errno`` and ``filename`` are those of the failed write."""

    def __str__(self) -> str:  # the message alone, not OSError's "[Errno N] ...: 'file'"
        return str(self.args[0]) if self.args else ""


class MissingDependency(AlcError, ImportError):
    """An optional package is needed; the message names the extra to install."""


class HubError(AlcError):
    """The Hugging Face hub refused a request or could not be reached (network, token, permissions)."""


class ChecksFailed(AlcError):
    """``alc-data check`` found problems: the command has listed them; the message is its last line
    (empty with ``--json``, whose report says it all). Exit code 1."""

    exit_code: ClassVar[int] = EXIT_CHECKS_FAILED
    debug_traceback: ClassVar[bool] = False

    def report(self) -> str:
        return str(self)
