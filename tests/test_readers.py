"""What `genzoo report` reads from a run directory (a stranger's, or one left broken by a crash) is checked
before use: only regular files inside the run, of bounded size, rows and keys, each malformed part skipped
and named, never a traceback, a hang or another file's contents in the page."""
import base64
import contextlib
import json
import os
import shutil
import signal

import pytest

from genzoo.cli import main

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny nets: one thread is fastest, and spares a busy CPU


@contextlib.contextmanager
def _deadline(seconds=120):
    """Fail, rather than hang the suite, when the command blocks (a FIFO)."""
    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _report(run, tmp_path, capsys):
    """The page `genzoo report RUN` writes, and what it printed; it must succeed."""
    out = tmp_path / "r.html"
    with _deadline():
        code = main(["report", str(run), "--out", str(out), "--no-floor"])
    printed = capsys.readouterr()
    assert code == 0 and "Traceback" not in printed.err, printed.err
    return out.read_text(), printed.out + printed.err


@pytest.fixture
def run(toy_run, tmp_path):  # noqa: F811
    copy = tmp_path / "run"
    shutil.copytree(toy_run, copy)
    (copy / "samples").mkdir(exist_ok=True)
    return copy


def test_report_embeds_only_regular_files_inside_the_run(run, tmp_path, capsys):
    """A planted link to a private key, a FIFO and a link to /dev/zero among the sample grids."""
    grids = len(list((run / "samples").glob("step-*.png")))   # the run's own grids, regular files
    key = tmp_path / "id_ed25519"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n")
    (run / "samples" / "step-1.png").symlink_to(key)
    os.mkfifo(run / "samples" / "step-2.png")
    (run / "samples" / "step-3.png").symlink_to("/dev/zero")
    html, said = _report(run, tmp_path, capsys)
    samples = html.split('id="samples-0"')[1].split('id="evaluation-0"')[0]
    assert base64.b64encode(key.read_bytes()).decode()[:40] not in html
    # the run's own grids in the strip, and the latest beside it: none of the three planted files
    assert samples.count("data:image/png") == grids + 1
    assert "skipped" in said and "step-1.png" in said and "not a regular file" in said


def test_report_skips_a_sample_grid_above_the_size_limit(run, tmp_path, capsys, monkeypatch):
    from genzoo.report import runs
    monkeypatch.setattr(runs, "MAX_GRID_BYTES", 1000)
    (run / "samples" / "step-1.png").write_bytes(b"\x89PNG" + bytes(2000))
    html, said = _report(run, tmp_path, capsys)
    samples = html.split('id="samples-0"')[1].split('id="evaluation-0"')[0]
    assert "data:image/png" not in samples and "over 1,000 bytes" in said


@pytest.mark.parametrize("text", ["[1, 2]", "{not json", '{"fd": {"value": 3.0, "n_real": "many"}}',
                                  '{"fd": {"value": 1e400, "n_real": 1e400}}', '{"fd": [1]}', "\xff\xfe"])
def test_report_on_a_malformed_eval_json_is_a_page_and_a_note(text, run, tmp_path, capsys):
    (run / "eval.json").write_bytes(text.encode("utf-8", "surrogateescape") if text != "\xff\xfe" else b"\xff\xfe")
    html, said = _report(run, tmp_path, capsys)
    assert 'id="evaluation-0"' in html and "inf" not in html.split('id="evaluation-0"')[1].split("</section>")[0]


def test_report_on_a_numeric_eval_json_shows_its_number(run, tmp_path, capsys):
    (run / "eval.json").write_text(json.dumps({"toy": {"value": 0.25, "n": 100}}))
    html, _ = _report(run, tmp_path, capsys)
    assert ">0.25<" in html


def test_report_skips_metrics_rows_that_are_not_records_and_names_them(run, tmp_path, capsys):
    rows = ["[1, 2]", "3", '{"loss": 1.0}', '{"step": "x", "loss": 1.0}', '{"step": 1, "loss": 0.5}',
            '{"step": 2, "$\\\\frac{": 0.1}', '{"step": 3, "loss": 0.25}']
    (run / "metrics.jsonl").write_text("\n".join(rows) + "\n")
    from genzoo.report.runs import read_run
    record = read_run(run, log=lambda *_: None)
    assert record.curves()["loss"] == ([1, 3], [0.5, 0.25])
    html, said = _report(run, tmp_path, capsys)
    assert "skipped 4 rows of" in said and "metrics.jsonl" in said


def test_report_bounds_the_keys_of_a_metrics_row(run, tmp_path, capsys, monkeypatch):
    from genzoo.report import runs
    row = {"step": 1, **{f"k{i}": float(i) for i in range(3000)}}
    (run / "metrics.jsonl").write_text(json.dumps(row) + "\n")
    record = runs.read_run(run, log=lambda *_: None)
    assert len(record.curves()) == runs.MAX_CURVES
    _report(run, tmp_path, capsys)


@pytest.mark.parametrize("value", ['"abc"', "-5", "1e400", "null"])
def test_report_on_a_config_with_a_bad_total_steps_still_draws(value, run, tmp_path, capsys):
    text = (run / "config.json").read_text()
    record = json.loads(text)
    record["total_steps"] = "PLACEHOLDER"
    (run / "config.json").write_text(json.dumps(record).replace('"PLACEHOLDER"', value))
    html, _ = _report(run, tmp_path, capsys)
    assert 'id="curves"' in html
