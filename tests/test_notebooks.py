"""The course (docs/notebooks/): every notebook opens with its install line and a parameter cell, is committed
with its figures and small, runs from top to bottom offline at the quick budget (GENZOO_QUICK=1), and a
changed parameter changes the figure a learner sees."""
from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "docs" / "notebooks").glob("*.ipynb"))
MAX_BYTES = 1_000_000


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _parameter_cell(cells: list[dict]) -> int:
    tagged = [i for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "one code cell tagged 'parameters'"
    return tagged[0]


def test_there_is_one_notebook_per_lecture_topic():
    assert len(NOTEBOOKS) >= 7


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_notebook_opens_with_its_install_line_and_its_parameters(path):
    cells = _cells(path)
    code = [c for c in cells if c["cell_type"] == "code"]
    install = _source(code[0])
    assert 'find_spec("genzoo") is None' in install and 'run_line_magic("pip", "install -q genzoo")' in install
    params = _source(cells[_parameter_cell(cells)])
    assert 'os.environ.get("GENZOO_QUICK")' in params and "SEED" in params


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_notebook_is_committed_with_its_figures_and_is_small(path):
    assert path.stat().st_size < MAX_BYTES, f"{path.name}: strip large outputs"
    code = [c for c in _cells(path) if c["cell_type"] == "code"]
    assert all(c.get("execution_count") for c in code), f"{path.name}: run every cell before committing it"
    assert not [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for c in code for o in c.get("outputs", []))


# ----------------------------------------------------------------------------- execution (slow lane)

@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    """The quick budget, and one cache of the runs the experiments train (shared by the executions)."""
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GENZOO_QUICK", "1")
        mp.setenv("GENZOO_CACHE", str(tmp_path_factory.mktemp("cache")))
        mp.setenv("OMP_NUM_THREADS", "1")   # one thread: a shared CI machine never makes threads wait on each other
        cwd = tmp_path_factory.mktemp("cwd")
        mp.setenv("TMPDIR", str(cwd))         # the notebooks' run folders go where pytest cleans up
        yield cwd


def execute(path: Path, cwd: Path, **parameters) -> list[dict]:
    """Run a notebook in a fresh kernel, with `parameters` set after its parameter cell, as papermill does;
    return its cells with their outputs. A cell that raises fails the test with the cell's traceback."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    if parameters:
        lines = "\n".join(f"{name} = {value!r}" for name, value in parameters.items())
        nb.cells.insert(_parameter_cell(nb.cells) + 1, nbformat.v4.new_code_cell(lines))
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    return nb.cells


_executed: dict[Path, list[dict]] = {}


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_notebook_runs_offline_at_the_quick_budget(path, kernel_env):
    cells = execute(path, kernel_env)
    _executed[path] = cells
    assert any("image/png" in o.get("data", {}) for c in cells for o in c.get("outputs", []))


def _outputs_of(cells: list[dict], marker: str) -> tuple[str, list[bytes]]:
    """(printed text, PNG images) of the code cell whose source contains `marker`."""
    (cell,) = [c for c in cells if c["cell_type"] == "code" and marker in _source(c)]
    text = "".join(o.get("text", "") for o in cell["outputs"] if o["output_type"] == "stream")
    images = [base64.b64decode(o["data"]["image/png"]) for o in cell["outputs"] if "image/png" in o.get("data", {})]
    return text, images


@pytest.mark.slow
def test_changing_a_learning_rate_changes_the_figure(kernel_env):
    """The promise of every parameter cell, on the GAN theory notebook: gradient play on V(x, y) = x y moves
    away from its equilibrium by sqrt(1 + lr^2) per simultaneous step, so lr 0.3 ends farther than lr 0.1."""
    path = ROOT / "docs" / "notebooks" / "03-gan-theory.ipynb"
    base = _executed.get(path) or execute(path, kernel_env)
    changed = execute(path, kernel_env, LR=0.3)
    (text_a, png_a), (text_b, png_b) = _outputs_of(base, "def play("), _outputs_of(changed, "def play(")
    assert png_a and png_b and png_a != png_b
    # from (1, 1), 100 simultaneous steps: sqrt(2) (1 + lr^2)^50 = 2.326 (lr 0.1) and 105.157 (lr 0.3)
    for text, lr in ((text_a, 0.1), (text_b, 0.3)):
        assert f"simultaneous: distance to (0, 0) after 100 steps {math.sqrt(2) * (1 + lr ** 2) ** 50:.3f}" in text
