"""The shape of the code: no function of genzoo (the trainer, the evaluation, the command line, the models,
metrics and data included) is longer than 60 lines."""
import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "genzoo"
SHORT = sorted(SRC.rglob("*.py"))
CORE = [SRC / "training" / "trainer.py", SRC / "evaluation.py", SRC / "bench.py", SRC / "outputs.py",
        SRC / "models" / "gan.py", SRC / "metrics" / "registry.py", SRC / "data" / "base.py", SRC / "cli.py",
        SRC / "sample_command.py", SRC / "folder_eval.py"]
MAX_LINES = 60


def _functions(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node.end_lineno - node.lineno + 1


def test_no_function_of_genzoo_is_longer_than_60_lines():
    assert all(p in SHORT for p in CORE) and all(p.is_file() for p in CORE)
    long = [f"{p.relative_to(SRC)}:{name} ({n} lines)" for p in SHORT for name, n in _functions(p) if n > MAX_LINES]
    assert long == []


def test_the_line_count_sees_a_long_function(tmp_path):
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_LINES))
    (tmp_path / "m.py").write_text(f"def short():\n    pass\n\n\ndef long():\n{body}")
    assert dict(_functions(tmp_path / "m.py")) == {"short": 2, "long": MAX_LINES + 1}
