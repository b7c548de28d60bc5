"""A preset's comments give the paper's setting and one line per deviation from it; what genzoo measured (scores,
timings, seeds) lives in docs/results and benchmarks/results, and a preset's pointer there must lead somewhere."""
import re
from pathlib import Path

import pytest

from genzoo.presets import list_presets, preset_text

ROOT = Path(__file__).resolve().parents[1]

# a number followed by a unit of time, a score, a likelihood, a share or a mode count, or a seed that missed
MEASURED = re.compile(
    r"\d[\d.,]*\s*(?:minutes?|mins?|seconds?|ms|s|hours?)\b"
    r"|\b(?:FID|FD|KID|IS)\b(?:@\S+)?\s*[:=]?\s*\d[\d.,]*"
    r"|\d[\d.,]*\s*nats\b"
    r"|\d[\d.,]*\s*%"
    r"|\d[\d.]*\s+(?:of\s+\d+\s+)?modes\b"
    r"|\d[\d.]*\s*x\s+(?:faster|slower)\b"
    r"|\bseeds?\b[^;)]*?\bmiss\w*|\bmiss\w*\b[^;)]*?\bseeds?\b",
    re.IGNORECASE)
# the papers' own settings that read like a measurement
ALLOWED = {"30 % of the values zeroed"}
REFERENCE = re.compile(r"(docs/results/[\w.-]+\.md)(?:#([\w-]+))?|(benchmarks/results/[\w.-]+\.json)")


def comments(text: str) -> list[str]:
    """The comment of each line: the whole line, or what follows ' #' after a value."""
    found = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            found.append(stripped[1:])
        elif " #" in line:
            found.append(line.split(" #", 1)[1])
    return found


def measurements(comment: str) -> list[str]:
    for allowed in ALLOWED:
        comment = comment.replace(allowed, "")
    return [m.group(0) for m in MEASURED.finditer(comment)]


def anchors(page: Path) -> set[str]:
    """The ids a results page links to: its explicit <a id> anchors and its headings' slugs."""
    text = page.read_text(encoding="utf-8")
    ids = set(re.findall(r'<a id="([\w-]+)"', text))
    for heading in re.findall(r"^#+\s+(.+)$", text, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\s-]", "", heading).strip().lower()
        ids.add(re.sub(r"[-\s]+", "-", slug))
    return ids


@pytest.mark.parametrize("line, found", [
    ("this preset reached FD 67 with all 10 classes after 3,000 steps", ["FD 67"]),
    ("30 epochs: about 30 minutes per seed on one thread", ["30 minutes"]),
    ("(ring8, one seed: 2.7% high quality at 0.01)", ["2.7%"]),
    ("AIS estimate -86.34 nats after long training", ["86.34 nats"]),
    ("it finds 5 of 8 modes", ["5 of 8 modes"]),
    ("the constant rate missed their 6.7 on each of 3 seeds", ["missed their 6.7 on each of 3 seeds"]),
    ("Adam 2e-4, beta1 0.5, batch 64; paper: 128", []),
    ("every shallow AE reconstructs a copy with 30 % of the values zeroed", []),
])
def test_the_check_finds_measurements(line, found):
    assert measurements(line) == found


@pytest.mark.parametrize("name", list_presets())
def test_preset_comments_hold_no_measurements(name):
    hits = [(c.strip(), m) for c in comments(preset_text(name)) for m in measurements(c)]
    assert not hits, (f"preset '{name}' states a measurement in a comment; move it to the results and point there "
                      f"(docs/results/PAGE.md#anchor): {hits}")


@pytest.mark.parametrize("name", list_presets())
def test_preset_references_exist(name):
    for page, anchor, result in REFERENCE.findall(preset_text(name)):
        path = ROOT / (page or result)
        assert path.is_file(), f"preset '{name}' points to {page or result}, which does not exist"
        if anchor:
            assert anchor in anchors(path), f"preset '{name}' points to {page}#{anchor}, which has no such anchor"


def test_anchor_reading_matches_the_pages():
    # the GAN page has an explicit id and a heading slug for its first section
    ids = anchors(ROOT / "docs/results/gans.md")
    assert {"lucic", "against-lucic-et-al-2018-inception-fid-after-20-epochs"} <= ids
    assert "no-such-section" not in ids
