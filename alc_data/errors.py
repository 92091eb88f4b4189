"""The one exception type the command line turns into a one-line message."""


class AlcError(Exception):
    """A problem the user can fix: the message names the file or value and the fix.

    The CLI prints ``error: <message>`` on one line and exits with code 2 (no traceback unless
    ``ALC_DEBUG=1``).
    """
