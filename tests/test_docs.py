"""The README, CONTRIBUTING and the documentation site: every command they show exists as written,
a command that needs an extra names it, the site renders formulas without a network, and text
copied from the experiments' records reads as it does in them."""
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from genzoo.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```bash\n(.*?)^```", re.S | re.M)
#: what a command needs beyond `pip install -e .`, as a word of the command -> the extra
EXTRAS = {"explore": "explore", "onnx": "export", "--tensorboard": "tensorboard"}


def _page_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _split(line: str) -> list[list[str]]:
    """The simple commands of a shell line: split at && || ; | and ( ), redirections dropped, and the
    commands inside "$(...)" included."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.commenters = "#"
    lexer.wordchars += ",:+@%[]{}"   # fd,kid and 9,1,7 are one word each, as in a shell
    commands, words, skip = [], [], False
    for token in lexer:
        if skip:
            skip = False
        elif token in (">", ">>", "<", "2>", ">&"):
            skip = True
        elif set(token) <= set("&|;()<>"):
            commands, words = commands + [words], []
        elif token.startswith("$(") and token.endswith(")"):
            commands += _split(token[2:-1])
        else:
            words.append(token)
    return [c for c in commands + [words] if c]


def _paragraph(text: str, start: int, end: int) -> str:
    """text[start:end] widened to the blank lines around it."""
    before, after = text.rfind("\n\n", 0, start), text.find("\n\n", end)
    return text[before + 2 if before >= 0 else 0:after if after >= 0 else None]


def shown_commands(text: str) -> list[tuple[list[str], str, bool]]:
    """Every `genzoo` command a page shows: (words, the paragraph or block around it, whether it is in a
    bash block, where it must parse as written, or an inline span, which may leave out arguments)."""
    found = []
    for match in FENCE.finditer(text):
        context = _paragraph(text, match.start() - 1, match.end())   # the block and the paragraph above it
        for line in match.group(1).replace("\\\n", " ").splitlines():
            found += [(words, context, True) for words in _split(line) if words[0] == "genzoo"]
    prose = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    for match in re.finditer(r"`(genzoo [^`]*)`", prose):
        found.append((shlex.split(match.group(1)), _paragraph(prose, match.start(), match.end()), False))
    return found


def _subparsers() -> dict:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    return sub.choices


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_every_command_shown_has_its_subcommand_and_flags(page):
    subcommands = _subparsers()
    for words, _, in_block in shown_commands(page.read_text()):
        if in_block:   # a bash block is run as written: the parser must accept it whole
            try:
                build_parser().parse_args(words[1:])
            except SystemExit:
                pytest.fail(f"{_page_id(page)}: `{shlex.join(words)}` does not parse")
        if len(words) < 2 or words[1].startswith("-"):
            continue
        assert words[1] in subcommands, f"{_page_id(page)}: `{shlex.join(words)}`: no subcommand {words[1]}"
        flags = set(subcommands[words[1]]._option_string_actions)
        unknown = [w.split("=")[0] for w in re.findall(r"--[a-z][a-z-]*(?:=\S*)?", " ".join(words[2:]))
                   if w.split("=")[0] not in flags]
        assert not unknown, f"{_page_id(page)}: `{shlex.join(words)}`: genzoo {words[1]} has no {unknown}"


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_a_command_that_needs_an_extra_names_it_beside_it(page):
    for words, context, _ in shown_commands(page.read_text()):
        for word, extra in EXTRAS.items():
            if word in words[1:]:
                assert f".[{extra}]" in context or f"genzoo[{extra}]" in context, \
                    f"{_page_id(page)}: `{shlex.join(words)}` needs the [{extra}] extra; say so beside it"


def test_the_command_finder_reads_shell_lines_as_a_shell_would():
    text = ("Shell:\n```bash\ngenzoo list | head -3  # models first\neval \"$(genzoo completion bash)\"\n"
            "genzoo show-config vae > my.yaml && genzoo train --config my.yaml\n```\n\n"
            "Prose: `genzoo export RUN --format onnx` (`pip install -e \".[export]\"`).\n")
    found = shown_commands(text)
    assert [(words, in_block) for words, _, in_block in found] == [
        (["genzoo", "list"], True), (["genzoo", "completion", "bash"], True), (["genzoo", "show-config", "vae"], True),
        (["genzoo", "train", "--config", "my.yaml"], True), (["genzoo", "export", "RUN", "--format", "onnx"], False)]
    assert found[-1][1].startswith("Prose:") and ".[export]" in found[-1][1]


def _setup_lines(page: Path) -> list[str]:
    return [line for block in FENCE.findall(page.read_text()) for line in block.splitlines()
            if line.startswith("python3 -m venv")]


def test_the_readme_has_two_set_up_commands_and_contributing_repeats_the_tests_one():
    main_job, tests = _setup_lines(ROOT / "README.md")
    assert main_job.endswith("pip install torch==2.13.0 -e . && genzoo train dcgan")
    assert tests.endswith('-e ".[test]" && python -m pytest -m "not slow" -n 2')   # the fast lane first, in two processes
    assert _setup_lines(ROOT / "CONTRIBUTING.md") == [tests]
    for page in (ROOT / "README.md", ROOT / "CONTRIBUTING.md"):
        lanes = [line for block in FENCE.findall(page.read_text()) for line in block.splitlines()
                 if line.startswith("python -m pytest")]
        assert lanes and lanes[0].split("#")[0].strip() == "python -m pytest", page   # and the full suite


def test_the_site_renders_formulas_from_its_own_files():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    assets = config["extra_javascript"] + config["extra_css"]
    assert not [a for a in assets if "//" in a]                  # nothing fetched from a network
    assert config["theme"]["font"] is False                      # not even the theme's web fonts
    for asset in assets:
        assert (ROOT / "docs" / asset).is_file(), asset
    css = (ROOT / "docs" / "vendor" / "katex" / "katex.min.css").read_text()
    fonts = set(re.findall(r"url\((fonts/[^)]+\.woff2)\)", css))
    assert len(fonts) > 10 and all((ROOT / "docs" / "vendor" / "katex" / f).is_file() for f in fonts)


def _markdown_text(text: str) -> str:
    """Plain text as a Markdown page shows it: '*' escaped, so that D* or p*q never turns into italics."""
    return text.replace("*", r"\*")


def test_the_experiments_page_shows_each_record_as_written():
    page = (ROOT / "docs" / "experiments.md").read_text()
    records = [json.loads(p.read_text()) for p in sorted((ROOT / "docs" / "experiments").glob("*.json"))]
    assert len(records) >= 12
    for record in records:
        for key in ("claim", "measured", "rule"):
            assert _markdown_text(record[key]) in page, f"{record['name']}: its {key} is not on the page as written"


def test_no_emphasis_swallows_a_formula():
    """An unescaped '*' in prose (D*, p*q) pairs with the next one and sets what lies between in italics."""
    markdown = pytest.importorskip("markdown")
    for page in PAGES:
        text = re.sub(r"```.*?```|`[^`\n]*`|\\\(.*?\\\)|\\\[.*?\\\]|\$[^$\n]+\$", "", page.read_text(), flags=re.S)
        html = markdown.markdown(text)
        emphasized = [re.sub(r"<[^>]+>", "", em) for em in re.findall(r"<em>(.*?)</em>", html, re.S)]
        swallowed = [em for em in emphasized if re.search(r"[=|]", em)]
        assert not swallowed, f"{_page_id(page)}: escape the '*' around: {swallowed[0][:80]}"
