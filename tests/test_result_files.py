"""A benchmark's result file (benchmarks/result_files.py): standard JSON that names no machine's folders, with the
command and the hardware that made it, and rows that commands writing side by side keep; the hardware record."""
import json
import sys
import threading
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from common import hardware_line  # noqa: E402
from result_files import results_folder_lock, write_result  # noqa: E402

from genzoo import machine  # noqa: E402
from genzoo.threads import usable_cores  # noqa: E402


def test_a_result_files_command_names_no_machines_folders(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["benchmarks/vae_nll.py", "--data-root", "/srv/data/mnist", "--k", "50",
                                      "--out=/tmp/x.json", "--run-dir", "/tmp/runs"])
    record = json.loads(write_result(tmp_path / "r.json", {"values": {"nll": 1.0}}).read_text())
    assert record["command"] == "python benchmarks/vae_nll.py --data-root DIR --k 50 --out=DIR --run-dir DIR"
    assert record["values"] == {"nll": 1.0} and record["hardware"]["cores"] >= 1
    # a file of the repository, named from its root, is the same path on every machine; ../ and ~ are not
    monkeypatch.setattr(sys, "argv", ["benchmarks/aae_semi.py", "--out", "benchmarks/results/aae_semi_merge.json",
                                      "--data-root", "../shared/mnist", "--run-dir=~/runs"])
    record = json.loads(write_result(tmp_path / "r.json", {"protocol": "p"}).read_text())
    assert record["command"] == ("python benchmarks/aae_semi.py --out benchmarks/results/aae_semi_merge.json "
                                 "--data-root DIR --run-dir=DIR")


def test_a_result_file_is_standard_json_without_the_machines_folders(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["benchmarks/rbm_mnist.py", "--data-root", "/srv/data/mnist/"])
    result = {"protocol": "RBM on MNIST IDX files in /srv/data/mnist (60000 images)",
              "values": {"lo": float("-inf"), "kl": float("nan"), "hi": 2.5, "runs": [1.0, float("inf")]}}
    text = write_result(tmp_path / "r.json", result).read_text()
    strict = json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} is not standard JSON"))
    assert strict["values"] == {"lo": None, "kl": None, "hi": 2.5, "runs": [1.0, None]}
    assert strict["protocol"] == "RBM on MNIST IDX files in DIR (60000 images)"


def test_a_result_file_keeps_the_rows_another_command_wrote_meanwhile(tmp_path):
    path = tmp_path / "r.json"
    write_result(path, {"rows": {"a": {"err": 1.0}, "b": {"err": 2.0}}})
    # this command read the file before "b" was written; it replaces "a" and adds "c"
    record = json.loads(write_result(path, {"rows": {"a": {"err": 3.0}, "c": {"err": 4.0}}}, keep_rows=True).read_text())
    assert record["rows"] == {"b": {"err": 2.0}, "a": {"err": 3.0}, "c": {"err": 4.0}}
    record = json.loads(write_result(path, {"rows": {"d": {"err": 5.0}}}).read_text())
    assert record["rows"] == {"d": {"err": 5.0}}   # without keep_rows the file holds this command's rows only
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]   # no lock or temporary file left


def test_a_result_file_is_written_only_while_no_other_writer_holds_its_folder(tmp_path):
    path = tmp_path / "r.json"
    with results_folder_lock(tmp_path):
        writer = threading.Thread(target=write_result, args=(path, {"rows": {"a": {}}}), kwargs={"keep_rows": True})
        writer.start()
        writer.join(timeout=1.0)
        assert writer.is_alive() and not path.exists()   # waiting for the lock
    writer.join(timeout=30)
    assert not writer.is_alive() and json.loads(path.read_text())["rows"] == {"a": {}}


def test_the_hardware_record_names_the_cpu_its_cores_and_threads(monkeypatch):
    monkeypatch.setattr(machine, "cpu_name", lambda: "Intel(R) Xeon(R) Processor")
    record = machine.hardware("cpu")
    assert {k: record[k] for k in ("cpu", "cores", "torch_threads", "gpu")} == {
        "cpu": "Intel(R) Xeon(R) Processor", "cores": usable_cores(), "torch_threads": torch.get_num_threads(),
        "gpu": None}
    line = hardware_line(torch.device("cpu"))
    assert line == f"CPU Intel(R) Xeon(R) Processor, {torch.get_num_threads()} threads of {usable_cores()} cores"
