"""The repository speaks of the product: no tracked text file names how genzoo was developed
(numbered work sessions, tickets and their targets) or a development machine's absolute path."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEXT_SUFFIXES = {".py", ".md", ".toml", ".yml", ".yaml", ".txt", ".cfg", ".ini", ".json", ".js", ".css", ".sh", ".ipynb", ""}

# Built from pieces, so that this file does not match its own patterns.
_S = "sess" + "ion"
HOST_OR_DAY = f"a work {_S}'s host or day"
FORBIDDEN = {
    "a numbered work session": rf"\b{_S}s? ?[-#]?\d",
    HOST_OR_DAY: rf"\b(this|that|the same|earlier|later|each|every) {_S}\b",
    "a ticket's checklist": r"\bmust" + r"[- ]show",
    "a ticket": r"\b(the|this|an|of the) iss" + r"ue\b|\biss" + r"ues? #?\d",
    "a loaned machine": r"\bGPU (was )?le" + r"nt\b|\b(no|an?) \w+ le" + r"nt\b",
    "discarded experiments": r"\bthrow" + r"away\b",
    "the people who built it": r"\bthe te" + r"am\b",
    "numbered stretches of work": r"\bwork perio" + r"ds?\b",
    "a development machine's path": r"/wo" + r"rk/|/ho" + r"me/|/ro" + r"ot/",
}


def tracked_text_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the tracked files are unknown")
    paths = [ROOT / p for p in out.decode().split("\0") if p]
    return [p for p in paths if p.suffix in TEXT_SUFFIXES and p.is_file()]


def offending_lines(text: str) -> list[tuple[int, str, str]]:
    """(line number, what it names, the line) for every line that matches a forbidden pattern."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for what, pattern in FORBIDDEN.items():
            if re.search(pattern, line, flags=re.IGNORECASE):
                found.append((number, what, line.strip()))
    return found


@pytest.mark.parametrize("text, what", [
    ("the run of " + _S + " 18", "a numbered work session"),
    ("on " + "this " + _S + "'s CPU", HOST_OR_DAY),
    ("Must" + "-show 2 on a small budget", "a ticket's checklist"),
    ("the target of the iss" + "ue", "a ticket"),
    ("(iss" + "ue 7)", "a ticket"),
    ("an H100 le" + "nt for the day", "a loaned machine"),
    ("a throw" + "away script", "discarded experiments"),
    ("default=\"/wo" + "rk/sh" + "ared/data\"", "a development machine's path"),
])
def test_each_pattern_catches_what_it_names(text, what):
    assert [w for _, w, _ in offending_lines(text)] == [what]


@pytest.mark.parametrize("text", [
    '@pytest.fixture(scope="' + _S + '")',          # pytest's word, not a work session
    "GitHub issues of other reimplementations",     # plural, about other projects
    "~/.cache/genzoo/data/mnist",
])
def test_ordinary_text_passes(text):
    assert offending_lines(text) == []


def test_no_tracked_file_speaks_of_development():
    problems = []
    for path in tracked_text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        problems += [f"{path.relative_to(ROOT)}:{n}: {what}: {line[:120]}" for n, what, line in offending_lines(text)]
    assert not problems, "tracked files speak of how genzoo was developed:\n" + "\n".join(problems)


def test_readme_test_commands_are_what_ci_runs():
    """CI installs what the README's test set-up installs, in the same venv, and runs the README's full suite."""
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    install, full_suite = 'pip install torch==2.13.0 -e ".[test]"', "python -m pytest"
    assert f"{install} && {full_suite}" in ci
    readme = (ROOT / "README.md").read_text()
    assert f"\npython3 -m venv .venv && . .venv/bin/activate && {install} && " in readme
    assert f"\n{full_suite}  " in readme   # its own line, with a comment
