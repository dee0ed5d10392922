"""Writing a run's outputs without ever losing a file.

* ``--output DIR`` must be a new or empty folder; a folder holding anything is refused
  unless ``--overwrite`` is given, and even then only the files an earlier run wrote (listed
  in its manifest, ``.affectmetrics-manifest.json``) are removed: stale plots never stay
  beside a new report, and a file we did not write is never touched.
* Every file is created with ``O_CREAT | O_EXCL | O_NOFOLLOW``: an existing name (a symlink
  included) is never written through.
* CSV cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``,
  ``@``, tab or carriage return) are prefixed with ``'``; numbers, negative ones included,
  stay numbers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ._errors import _CliError

__all__: list[str] = []

MANIFEST = ".affectmetrics-manifest.json"
class _RunFolder:
    """The output folder of one run: checked first, written last, recorded in a manifest."""

    def __init__(self, folder: Path, overwrite: bool) -> None:
        self.folder = folder
        self.overwrite = overwrite
        self.files: dict[str, bytes] = {}

    def add(self, name: str, content: str | bytes) -> None:
        if name in self.files:
            raise _CliError(f"{self.folder / name}: two outputs of this run have the same "
                            "name")
        self.files[name] = content.encode() if isinstance(content, str) else content

    def _previous(self) -> list[str]:
        manifest = self.folder / MANIFEST
        if manifest.is_symlink() or not manifest.is_file():
            return []
        try:
            names = json.loads(manifest.read_text())["files"]
        except (ValueError, KeyError, TypeError, OSError):
            raise _CliError(f"{manifest}: not a manifest written by affectmetrics; remove "
                            "it or choose a new folder") from None
        return [n for n in names if isinstance(n, str) and "/" not in n and n not in ("..", ".")]

    def check(self) -> None:
        """Refuse before anything is written: a file there that this run would replace."""
        folder = self.folder
        if folder.exists() and not folder.is_dir():
            raise _CliError(f"{folder}: exists and is not a folder (--output)")
        if not folder.exists():
            return
        present = sorted(p.name for p in folder.iterdir())
        if not present:
            return
        if not self.overwrite:
            raise _CliError(f"{folder}: the output folder is not empty; pass --overwrite to "
                            "replace the outputs of an earlier run there, or give a new "
                            "folder to --output")
        ours = set(self._previous()) | {MANIFEST}
        foreign = [n for n in self.files if n in present and n not in ours]
        if foreign:
            raise _CliError(f"{folder / foreign[0]}: exists and was not written by "
                            "affectmetrics; not overwritten (--overwrite removes only the "
                            f"files listed in {MANIFEST})")

    def write(self) -> None:
        """Remove an earlier run's files (``--overwrite``), then create every file."""
        self.check()
        new_folder = not self.folder.exists()
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.overwrite:
            for name in [*self._previous(), MANIFEST]:
                target = self.folder / name
                if target.is_symlink() or target.is_file():
                    target.unlink()
        created: list[Path] = []
        try:
            for name, content in self.files.items():
                _create(self.folder / name, content)
                created.append(self.folder / name)
            _create(self.folder / MANIFEST,
                    (json.dumps({"files": sorted(self.files)}, indent=1) + "\n").encode())
        except BaseException:
            # A run that cannot write every file writes none: a half-written folder without
            # its manifest could not be reused with --overwrite.
            for path in created:
                path.unlink(missing_ok=True)
            if new_folder and not any(self.folder.iterdir()):
                self.folder.rmdir()
            raise


def _create(path: Path, content: bytes) -> None:
    """Create ``path`` (never an existing name, never through a symlink) and write it."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except FileExistsError:
        raise _CliError(f"{path}: exists; not overwritten") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
