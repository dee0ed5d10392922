"""Documentation that cannot go stale: every code block of README.md and docs/*.md runs.

For each page, its fenced blocks run in order, in one namespace, in a fresh temporary
working directory (so a block can use the files an earlier block of the page wrote):

* every ```python block is executed as written (matplotlib on its Agg backend);
* in every ```bash block, each command line starting with ``affectmetrics`` is run through
  :func:`affectmetrics.cli.main` in-process and must exit with status 0. Other lines are not
  run: installation (``pip install``), ``make`` targets and ``python -m baselines`` take
  minutes or the network, and are exercised by CI's own steps and tests/test_baselines.py.

A ```text or untagged block is output, never run. Pseudo-output inside a python block goes
in comments.
"""

import contextlib
import io
import os
import re
import shlex
import warnings
from pathlib import Path

import matplotlib
import pytest

from affectmetrics.cli import main

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)


def blocks(page: Path) -> list[tuple[str, str, int]]:
    """(language, code, first line) of each fenced block of the page, in order."""
    text = page.read_text()
    return [(m.group(1), m.group(2), text[:m.start()].count("\n") + 2)
            for m in FENCE.finditer(text)]


def cli_lines(code: str) -> list[list[str]]:
    """The ``affectmetrics ...`` command lines of a bash block, as argument lists."""
    commands = []
    for line in code.splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0] == "affectmetrics":
            commands.append(words[1:])
    return commands


def test_the_runner_finds_blocks_and_commands():
    assert ROOT / "README.md" in PAGES and len(PAGES) >= 5
    page = [(lang, code) for lang, code, _ in blocks(ROOT / "docs" / "evaluation.md")]
    assert any(lang == "python" for lang, _ in page)
    assert cli_lines("affectmetrics evaluate a.csv --ci 0.95  # comment\npip install x\n") == [
        ["evaluate", "a.csv", "--ci", "0.95"]]


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_runs(page, tmp_path, monkeypatch):
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    for lang, code, line in blocks(page):
        where = f"{page.name}, block at line {line}"
        if lang == "python":
            # Pages show undefined values on purpose ("nan, with a warning saying why").
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(compile(code, where, "exec"), namespace)
        elif lang in ("bash", "sh", "console"):
            for args in cli_lines(code):
                out, err = io.StringIO(), io.StringIO()
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                    status = main(args)
                assert status == 0, f"{where}: affectmetrics {shlex.join(args)}: " \
                    f"{err.getvalue()}"
    assert os.getcwd() == str(tmp_path)
