"""The shape of the code: no function of the repository (genzoo itself, its benchmarks, tests and documentation
examples) is longer than 60 lines, and no file longer than 600."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "genzoo"
FOLDERS = [SRC, ROOT / "benchmarks", ROOT / "tests", ROOT / "docs"]
SHORT = sorted(p for folder in FOLDERS for p in folder.rglob("*.py"))
CORE = [SRC / "training" / "trainer.py", SRC / "evaluation.py", SRC / "runs" / "samples.py", SRC / "models" / "gan.py",
        SRC / "metrics" / "registry.py", SRC / "data" / "base.py", SRC / "cli.py", SRC / "sample_command.py",
        SRC / "folder_eval.py", ROOT / "benchmarks" / "throughput.py", ROOT / "benchmarks" / "render_results.py",
        ROOT / "benchmarks" / "toy_modes.py"]
MAX_LINES = 60
MAX_FILE_LINES = 600


def _functions(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node.end_lineno - node.lineno + 1


def test_no_function_is_longer_than_60_lines():
    assert all(p in SHORT for p in CORE) and all(p.is_file() for p in CORE)
    long = [f"{p.relative_to(ROOT)}:{name} ({n} lines)" for p in SHORT for name, n in _functions(p) if n > MAX_LINES]
    assert long == []


def test_no_file_is_longer_than_600_lines():
    long = [f"{p.relative_to(ROOT)} ({n} lines)" for p in SHORT if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES]
    assert long == []


def test_the_line_count_sees_a_long_function(tmp_path):
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_LINES))
    (tmp_path / "m.py").write_text(f"def short():\n    pass\n\n\ndef long():\n{body}")
    assert dict(_functions(tmp_path / "m.py")) == {"short": 2, "long": MAX_LINES + 1}
