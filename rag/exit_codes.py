"""How a run of the `rag` command ends: its exit statuses, in one place (docs/cli.md lists them for users)."""

from __future__ import annotations

from rag.errors import RagError

OK = 0
FAILED = 1  # a runtime error: it could not be done (no index, a damaged one, a busy one, a model missing, a bug)
USAGE = 2  # the command line is wrong: an unknown flag, a bad argument or setting (argparse's own status too)
PARTIAL = 3  # done, but not all of it: files `rag index` could not read, questions `rag eval` could not score
INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as shells report it


class UsageError(RagError):
    """The command line itself is wrong: fixing the flags, arguments or settings is what it takes."""


def exit_code_of(error: BaseException) -> int:
    """The status an error that ended a run exits with."""
    if isinstance(error, UsageError):
        return USAGE
    if isinstance(error, KeyboardInterrupt):
        return INTERRUPTED
    return FAILED
