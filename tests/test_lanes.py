"""The two test lanes: `python -m pytest -m "not slow"` is the fast lane, the whole suite adds the slow one.
Both must hold tests: a marker that no test carries, or a fast lane emptied by marking everything slow,
would let the lanes drift apart silently."""
from __future__ import annotations

import ast
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _is_slow_mark(node: ast.expr) -> bool:
    """`pytest.mark.slow`, called or not, alone or in a list (a module's pytestmark)."""
    if isinstance(node, (ast.List, ast.Tuple)):
        return any(_is_slow_mark(e) for e in node.elts)
    if isinstance(node, ast.Call):
        node = node.func
    return isinstance(node, ast.Attribute) and node.attr == "slow" and ast.unparse(node) == "pytest.mark.slow"


def lanes(folder: Path = TESTS) -> dict[str, list[str]]:
    """Test functions of the test files in `folder`, by lane: {'slow': [...], 'fast': [...]}, each
    named FILE::FUNCTION (parametrized cases count once)."""
    out = {"slow": [], "fast": []}
    for path in sorted(folder.glob("test_*.py")):
        tree = ast.parse(path.read_text())
        module_slow = any(isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "pytestmark" for t in n.targets)
                          and _is_slow_mark(n.value) for n in tree.body)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
                slow = module_slow or any(_is_slow_mark(d) for d in node.decorator_list)
                out["slow" if slow else "fast"].append(f"{path.name}::{node.name}")
    return out


def test_both_lanes_hold_tests_and_the_marker_is_declared():
    found = lanes()
    assert found["slow"], "no test is marked @pytest.mark.slow: the fast lane is the whole suite"
    assert len(found["fast"]) >= len(found["slow"]), f"the fast lane holds only {len(found['fast'])} tests"
    assert re.search(r'^markers = \[[^\]]*"slow:', (TESTS.parent / "pyproject.toml").read_text(), re.M)


def test_the_lane_reader_sees_marks_on_functions_and_modules(tmp_path):
    (tmp_path / "test_a.py").write_text("import pytest\n\n@pytest.mark.slow\ndef test_x():\n    pass\n\n"
                                        "@pytest.mark.parametrize('a', [1])\ndef test_y(a):\n    pass\n")
    (tmp_path / "test_b.py").write_text("import pytest\npytestmark = [pytest.mark.slow]\n\ndef test_z():\n    pass\n")
    (tmp_path / "test_c.py").write_text("import pytest\n\n@pytest.mark.slowish\ndef test_w():\n    pass\n")
    assert lanes(tmp_path) == {"slow": ["test_a.py::test_x", "test_b.py::test_z"],
                               "fast": ["test_a.py::test_y", "test_c.py::test_w"]}


def test_lane_times_keeps_the_names_of_failing_tests():
    import sys
    sys.path.insert(0, str(TESTS.parent / "benchmarks"))
    from lane_times import lane_outcome

    failing = ("..F.s..E [ 50%]\n"
               "x.....   [100%]\n"
               "=================================== FAILURES ===================================\n"
               "___ test_b ___\n"
               "E   assert 1 == 2\n"
               "=========================== short test summary info ============================\n"
               "FAILED tests/test_a.py::test_b - assert 1 == 2\n"
               "ERROR tests/test_c.py::test_d[x-1] - RuntimeError: boom\n")
    assert lane_outcome(failing, 1) == {
        "outcome": "2 of 14 tests failed: test_a.py::test_b, test_c.py::test_d[x-1]", "passed": False, "tests": 14,
        "failed": ["tests/test_a.py::test_b", "tests/test_c.py::test_d[x-1]"]}
    assert lane_outcome("....s [100%]\n", 0) == {"outcome": "5 tests, every test passed", "passed": True,
                                                 "tests": 5, "failed": []}
    # interrupted before a summary: the exit status says so
    assert lane_outcome("... [ 30%]\n", 2)["outcome"] == "exit status 2 after 3 tests"
