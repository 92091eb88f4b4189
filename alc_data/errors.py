"""The project's error types: every problem a user can fix is an :class:`AlcError` subclass.

Each subclass also inherits the builtin exception it refines (as ``huggingface_hub.errors`` does), so
library callers can catch ``LookupError`` or ``ValueError`` as usual. The command line prints any
``AlcError`` as ``error: <message>`` on one line and exits with code 2; anything else is a bug and is
reported as such (exit code 3, traceback with ``ALC_DEBUG=1``).

Library errors from sqlite3, PIL, csv or rich are translated where they arise, with the file and the
fix in the message, never by a catch-all in the CLI.
"""

from __future__ import annotations


class AlcError(Exception):
    """A problem the user can fix: the message names the file or value and the fix."""


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


class MissingDependency(AlcError, ImportError):
    """An optional package is needed; the message names the extra to install."""
