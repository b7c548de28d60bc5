"""Files that are not what they claim (a link to /dev/zero, a FIFO, a folder) get one clear line naming what
they are, never a misleading one or a hang."""
import os

import pytest

import genzoo
from genzoo.errors import GenzooError
from genzoo.safe_write import read_regular_file


def _model(tmp_path):
    model = tmp_path / "g.onnx"
    model.write_bytes(b"not read before the sidecar is checked")
    return model


@pytest.mark.parametrize("kind", ["devzero", "fifo", "folder"])
def test_export_sidecar_that_is_not_a_regular_file_is_named_so(tmp_path, kind):
    model = _model(tmp_path)
    side = tmp_path / "g.onnx.json"
    {"devzero": lambda: side.symlink_to("/dev/zero"), "fifo": lambda: os.mkfifo(side),
     "folder": side.mkdir}[kind]()
    with pytest.raises(GenzooError, match=r"g\.onnx\.json' cannot be read as a genzoo export sidecar "
                                          r"\(not a regular file\)") as e:
        genzoo.load_exported(model)
    assert "missing" not in str(e.value) and "\n" not in str(e.value)


def test_export_sidecar_missing_or_dangling_is_missing(tmp_path):
    model = _model(tmp_path)
    with pytest.raises(GenzooError, match="is missing: an exported model needs its JSON sidecar"):
        genzoo.load_exported(model)
    (tmp_path / "g.onnx.json").symlink_to(tmp_path / "nowhere.json")
    with pytest.raises(GenzooError, match="is missing"):
        genzoo.load_exported(model)


def test_exported_model_that_is_a_device_is_not_called_absent(tmp_path):
    (tmp_path / "g.onnx").symlink_to("/dev/zero")
    with pytest.raises(GenzooError, match="g.onnx' is not a regular file"):
        genzoo.load_exported(tmp_path / "g.onnx")
    with pytest.raises(GenzooError, match="does not exist"):
        genzoo.load_exported(tmp_path / "other.onnx")


def test_read_regular_file_follows_links_only_when_asked(tmp_path):
    real = tmp_path / "real.json"
    real.write_bytes(b"{}")
    (tmp_path / "link.json").symlink_to(real)
    (tmp_path / "zero.json").symlink_to("/dev/zero")
    assert read_regular_file(tmp_path / "link.json", 10) == (None, "a link, not a regular file")
    assert read_regular_file(tmp_path / "link.json", 10, follow_links=True) == (b"{}", None)
    assert read_regular_file(tmp_path / "zero.json", 10, follow_links=True) == (None, "not a regular file")
    assert read_regular_file(real, 1, follow_links=True) == (None, "over 1 bytes")


@pytest.mark.parametrize("earlier", ["not json", '{"fd": {"value": 1.0}}'])
def test_an_interrupted_eval_says_truly_whether_eval_json_was_kept(tmp_path, monkeypatch, earlier):
    from genzoo import evaluation

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    path, said = tmp_path / "eval.json", []
    path.write_text(earlier)
    monkeypatch.setattr(evaluation, "write_text", interrupted)
    with pytest.raises(KeyboardInterrupt):
        evaluation._merge_into_eval_json(path, {"toy": {"value": 2.0}}, said.append)
    assert '"toy"' in said[-1]   # the results are printed in full
    if earlier == "not json":    # moved aside before the write: nothing is left in place to call "kept"
        assert (tmp_path / "eval.json.corrupt").read_text() == earlier and not path.exists()
        assert "which was not written (there was none to keep)" in said[-1]
    else:
        assert path.read_text() == earlier and "which is kept as it was" in said[-1]


def test_an_eval_json_this_user_cannot_read_is_kept_and_the_results_printed(tmp_path, monkeypatch):
    from genzoo import evaluation
    path, said = tmp_path / "eval.json", []
    path.write_text('{"fd": {"value": 1.0}}')   # another user's results, mode 600
    path.chmod(0o600)
    # root reads any file: the refusal the other user meets is put in the reader's mouth
    monkeypatch.setattr(evaluation, "read_regular_file", lambda p, limit: (None, "Permission denied"))
    evaluation._merge_into_eval_json(path, {"toy": {"value": 2.0}}, said.append)
    assert path.read_text() == '{"fd": {"value": 1.0}}'
    assert said[-1].startswith(f"genzoo: notice: cannot read {path} (Permission denied), so it is kept as it is")
    assert "The results were not saved; here they are in full:" in said[-1] and '"toy"' in said[-1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eval.json"]   # nothing moved aside, no temporary


@pytest.mark.parametrize("setting, value, said", [
    ("train.threads", 100_000, "train.threads must be a whole number from 1 to 1,024, got 100,000"),
    ("train.grid_size", 100_000_000, "train.grid_size must be at most 10,000 samples, got 100,000,000")])
def test_a_thread_count_or_grid_too_large_to_run_is_one_line_before_any_work(tmp_path, capsys, setting, value,
                                                                            said):
    from genzoo.cli import main
    # 100,000 OpenMP threads crashed the process; a grid of 10^8 samples asked for 100 GB at the first grid
    out = tmp_path / "run"
    code = main(["train", "gan", "--data", "ring8", "--steps", "1", "--quiet", "--out", str(out),
                 "--set", f"{setting}={value}"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == f"genzoo: error: {said}" and not out.exists()


def test_threads_flag_beyond_any_cpu_is_one_line(capsys):
    from genzoo.cli import main
    assert main(["train", "gan", "--data", "ring8", "--steps", "1", "--threads", "5000"]) == 2
    assert capsys.readouterr().err.strip() == ("genzoo: error: --threads must be a whole number from 1 to 1,024, "
                                               "got 5,000")


@pytest.mark.parametrize("kind", ["devzero", "fifo", "folder"])
def test_a_text_file_that_is_not_a_file_is_named_so_not_missing(tmp_path, kind):
    from argparse import Namespace

    from genzoo.sample_command import _typed_captions
    path = tmp_path / "captions.txt"
    {"devzero": lambda: path.symlink_to("/dev/zero"), "fifo": lambda: os.mkfifo(path), "folder": path.mkdir}[kind]()
    with pytest.raises(GenzooError, match=r"captions.txt cannot be read as a text file of at most 1,048,576 bytes "
                                          r"\(not a regular file\)"):
        _typed_captions(Namespace(text=None, text_file=str(path), n=1))


def test_a_text_file_reached_through_a_link_is_read(tmp_path):
    from argparse import Namespace

    from genzoo.sample_command import _typed_captions
    (tmp_path / "real.txt").write_text("a red bird\n\nthe digit seven\n")
    (tmp_path / "captions.txt").symlink_to(tmp_path / "real.txt")
    args = Namespace(text=["two"], text_file=str(tmp_path / "captions.txt"), n=2)
    assert _typed_captions(args) == ["two", "a red bird", "the digit seven"]


@pytest.mark.parametrize("text", ["", "\n  \n\t\n"])
def test_a_text_file_without_captions_is_one_line_not_the_models_own_captions(tmp_path, text):
    from argparse import Namespace

    from genzoo.sample_command import _typed_captions
    (tmp_path / "captions.txt").write_text(text)
    with pytest.raises(GenzooError, match=r"captions.txt holds no captions \(it is empty or blank\)"):
        _typed_captions(Namespace(text=None, text_file=str(tmp_path / "captions.txt"), n=1))
