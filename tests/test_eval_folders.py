"""`genzoo eval --images DIR --against DATASET|DIR2`: folders of images made by any tool, scored like a run."""
import json

import numpy as np
import pytest
from PIL import Image

from genzoo.cli import main
from genzoo.data import load_dataset
from genzoo.folder_eval import read_folder

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny nets: one thread is fastest, and spares a busy CPU


def _digits_folder(folder, start, n=30, size=8):
    """n of the 8x8 test digits as PNG files (enlarged to size x size)."""
    folder.mkdir()
    for i, x in enumerate(load_dataset("digits", "test").x[start:start + n]):
        Image.fromarray(x[0].numpy()).resize((size, size)).save(folder / f"{i:03d}.png")
    return folder


def _noise_folder(folder, n=30):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(folder / f"{i:03d}.png")
    return folder


def _eval(capsys, *argv):
    code = main(["eval", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_folder_against_itself_is_at_distance_zero_beside_the_floor(tmp_path, capsys):
    folder = _digits_folder(tmp_path / "samples", 0)
    code, out, _ = _eval(capsys, "--images", str(folder), "--against", str(folder), "--features", "digits",
                         "--metrics", "fd,prdc")
    assert code == 0
    assert "comparing 30 samples with 30 real images (the 30 images in" in out
    saved = json.loads((tmp_path / "samples-vs-samples.eval.json").read_text())
    assert saved["fd"]["value"] == pytest.approx(0, abs=1e-6)
    assert saved["prdc"]["precision"] == 1 and saved["prdc"]["coverage"] == 1
    assert saved["fd"]["real_floor"]["value"] > 0   # two real sets of 30 digits are not at distance 0
    assert saved["fd"]["n_fake"] == saved["fd"]["n_real"] == 30
    images = saved["fd"]["protocol"]["images"]
    assert images["image_files"] == 30 and images["conversion"] == "none (already 8x8 gray)"


def test_real_digits_score_far_better_than_noise(tmp_path, capsys):
    digits, noise = _digits_folder(tmp_path / "digits", 100, size=24), _noise_folder(tmp_path / "noise")
    fd = {}
    for name, folder in (("digits", digits), ("noise", noise)):
        out = tmp_path / f"{name}.json"
        code, text, _ = _eval(capsys, "--images", str(folder), "--against", "digits", "--metrics", "fd",
                              "--out", str(out))
        assert code == 0 and "comparing 30 samples with 297 real images (test split of digits)" in text
        fd[name] = json.loads(out.read_text())["fd"]
    assert fd["noise"]["value"] > 5 * fd["digits"]["value"]
    assert fd["noise"]["value"] > 10 * fd["noise"]["real_floor"]["value"]
    assert fd["digits"]["protocol"]["images"]["conversion"].startswith("24x24 resized to 8x8 (bilinear, antialiased)")
    assert fd["noise"]["protocol"]["images"]["conversion"].startswith("30 color image(s) to gray")


def test_json_to_stdout_and_the_log_to_stderr(tmp_path, capsys):
    folder = _digits_folder(tmp_path / "samples", 0, n=10)
    code, out, err = _eval(capsys, "--images", str(folder), "--against", "digits", "--metrics", "fd", "--out", "-")
    assert code == 0 and json.loads(out)["fd"]["n_fake"] == 10 and "comparing 10 samples" in err


def test_sixteen_bit_and_color_images_are_converted_not_clipped(tmp_path):
    folder = tmp_path / "wide"
    folder.mkdir()
    for i, value in enumerate((0, 257 * 100, 65535)):
        Image.fromarray(np.full((4, 6), value, dtype=np.uint16)).save(folder / f"{i}.png")   # a 16-bit gray PNG
    images = read_folder(folder, (1, 4, 4), n=10, seed=0, flag="--images")
    assert images.x[:, 0, 0, 0].tolist() == [0, 100, 255]   # 65535 -> 255 and 25700 -> 100, not clipped at 255
    assert images.conversion == ("16-bit gray scaled to 8 bits (65535 -> 255); 6x4 center-cropped to 4x4 "
                                 "(the dataset's format: 4x4 gray)")


def _bad_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("no images here")
    mixed = _digits_folder(tmp_path / "mixed", 0, n=3)
    Image.new("L", (242, 242)).save(mixed / "grid.png")
    corrupt = _digits_folder(tmp_path / "corrupt", 0, n=3)
    (corrupt / "broken.png").write_bytes(b"\x89PNG not really")
    _digits_folder(tmp_path / "good", 0, n=3)


@pytest.mark.parametrize("images, against, extra, message", [
    ("missing", "digits", [], "--images {t}/missing: no such folder"),
    ("empty", "digits", [], "--images {t}/empty is empty"),
    ("notes", "digits", [], "--images {t}/notes holds 1 file(s) but none is an image"),
    ("mixed", "digits", [], "mixes image sizes (3 are 8x8, grid.png is 242x242)"),
    ("corrupt", "digits", [], "cannot read image {t}/corrupt/broken.png"),
    ("good", "digts", [], "--against digts: no such folder, and unknown dataset 'digts'. Did you mean 'digits'?"),
    ("good", "{t}/elsewhere", [], "--against {t}/elsewhere: no such folder"),
    ("good", "digits", ["--metrics", "nll"], "nll needs a trained run; a folder of images is scored with fd,"),
    ("good", "digits", ["--metrics", "fd,prdc"], "--images {t}/good holds 3 images; precision and recall (prdc) "
                                                  "compare each with its 5 nearest neighbours in the set, so they "
                                                  "need at least 6"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, images, against, extra, message):
    _bad_folders(tmp_path)
    t = str(tmp_path)
    code, _, err = _eval(capsys, "--images", f"{t}/{images}", "--against", against.format(t=t), *extra)
    assert code == 2 and err.count("\n") == 1 and message.format(t=t) in err, err
