"""The command line's one error type: a problem with the user's files or flags."""

from __future__ import annotations

__all__: list[str] = []


class _CliError(Exception):
    """A problem with the user's files or options: one line on stderr, exit status 2."""


class _CliNote(UserWarning):
    """Something the user should know about how a file was read: a note on stderr."""
