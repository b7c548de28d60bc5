"""genzoo explore: the latent explorer's computations, and the page driven by a real browser."""
import io
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from urllib.parse import urlparse

import numpy as np
import pytest
import torch
from PIL import Image

import genzoo
from genzoo.cli import main
from genzoo.errors import GenzooError
from genzoo.explore.latent import LatentExplorer

CHROMIUM = os.environ.get("GENZOO_CHROMIUM", "/usr/bin/chromium")
SETS = {"data.name": "digits", "model.nets.width": 8, "model.latent_dim": 8, "train.steps": 2,
        "train.batch_size": 16, "train.sample_every": 0, "train.checkpoint_every": 0, "train.grid_size": 4,
        "train.precision": "fp32"}


@pytest.fixture
def run_dir(tiny_run, one_thread):
    return tiny_run("dcgan", SETS).dir


def test_sliders_move_z_along_the_priors_principal_axes(run_dir):
    model = genzoo.load(run_dir)
    ex = LatentExplorer(model, directions="pca", k=3)
    # N(0, I) in 8 dimensions: orthonormal axes, a spread of about 1 along each
    torch.testing.assert_close(ex.directions @ ex.directions.T, torch.eye(3), atol=1e-5, rtol=0)
    assert ex.spread.shape == (3,) and ((ex.spread - 1).abs() < 0.1).all()
    z = ex.latent(seed=4)
    moved = ex.moved(z, [2.0, 0.0, 0.0])
    torch.testing.assert_close(moved - z, 2.0 * ex.spread[0] * ex.directions[:1])
    raw = LatentExplorer(model, directions="raw", k=2)
    assert torch.equal(raw.directions, torch.eye(8)[:2])
    step = raw.moved(z, [0.0, 1.0]) - z
    assert step[0, 1] == pytest.approx(float(raw.spread[1])) and step[0, [0, 2, 3]].abs().max() == 0


def test_seed_truncation_and_interpolation_images(run_dir):
    ex = LatentExplorer(genzoo.load(run_dir), k=2)
    assert torch.equal(ex.latent(3), ex.latent(3)) and not torch.equal(ex.latent(3), ex.latent(4))
    assert ex.latent(3, truncation=0.5).abs().max() <= 0.5
    a, b = np.asarray(ex.image(3)), np.asarray(ex.image(4))
    assert a.shape == b.shape and not np.array_equal(a, b)
    strip = ex.interpolation(3, 4, steps=5)
    assert strip.width > 4 * strip.height   # one row of five 8x8 samples


def test_explore_refuses_a_run_whose_checkpoint_fails_its_checks(run_dir, capsys):
    ckpt = next((run_dir / "checkpoints").glob("step-*.safetensors"))
    ckpt.write_bytes(ckpt.read_bytes()[:100])   # truncated
    assert main(["explore", str(run_dir), "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "truncated" in err and len(err.strip().splitlines()) == 1


def _browser_missing() -> str | None:
    try:
        import gradio  # noqa: F401
        import playwright.sync_api  # noqa: F401
    except ImportError as e:
        return f"needs genzoo[explore] and playwright ({e.name} is missing)"
    if not shutil.which(CHROMIUM):
        return f"needs Chromium at {CHROMIUM} (apt-get install chromium; or set GENZOO_CHROMIUM)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, proc: subprocess.Popen, seconds: float = 240) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"genzoo explore exited: {proc.stdout.read()}")
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except OSError:
            time.sleep(1)
    raise AssertionError(f"genzoo explore did not answer at {url} within {seconds} s")


@pytest.mark.slow
def test_browser_changes_the_seed_and_a_slider_and_sees_the_image_change(run_dir):
    if (missing := _browser_missing()) is not None:   # asked here, not at collection: Gradio takes seconds to import
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    proc = subprocess.Popen([sys.executable, "-m", "genzoo", "explore", str(run_dir), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(url, proc)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page()
            hosts = set()
            page.on("request", lambda r: hosts.add(urlparse(r.url).hostname))
            page.goto(url)
            page.wait_for_selector("#sample img", timeout=120_000)
            first = _image(page)
            page.locator("#seed input").fill("5")
            page.locator("#seed input").press("Enter")
            second = _image(page, after=first)
            page.locator("#direction-0 input[type=number]").fill("2.5")
            page.locator("#direction-0 input[type=number]").press("Enter")
            third = _image(page, after=second)
            browser.close()
        assert not np.array_equal(first[1], second[1]) and not np.array_equal(second[1], third[1])
        assert hosts == {"127.0.0.1"}, f"the page reached other hosts: {hosts}"
        model = genzoo.load(run_dir)
        expected = np.asarray(LatentExplorer(model).image(5))
        # the page shows the seed's sample (to a grey level: two processes may round a float differently)
        assert np.abs(second[1].astype(int) - expected.astype(int)).max() <= 1
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _image(page, after=None) -> tuple[str, np.ndarray]:
    """(src, pixels) of the sample image, waiting for a new one if `after` is given."""
    if after is not None:
        page.wait_for_function("old => { const i = document.querySelector('#sample img');"
                               " return i && i.src !== old; }", arg=after[0], timeout=120_000)
    src = page.get_attribute("#sample img", "src")
    data = page.request.get(src).body()
    return src, np.asarray(Image.open(io.BytesIO(data)).convert("L"))


def test_without_gradio_explore_says_how_to_install_it(run_dir, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "gradio", None)   # import gradio raises ImportError
    assert main(["explore", str(run_dir)]) == 2
    assert "pip install 'genzoo[explore]'" in capsys.readouterr().err


@pytest.mark.slow
def test_explorer_page_is_built_for_a_conditional_model(tiny_run, one_thread):
    pytest.importorskip("gradio")
    from genzoo.explore import build_app
    sets = {**SETS, "model.nets.hidden": [16], "model.nets.d_hidden": [16]}
    model = genzoo.load(tiny_run("cgan", sets, name="c").dir)
    ex = LatentExplorer(model, k=2)
    assert ex.num_classes == 10
    assert not np.array_equal(np.asarray(ex.image(0, label=1)), np.asarray(ex.image(0, label=7)))
    app = build_app(model)
    labels = [getattr(b, "label", None) for b in app.blocks.values()]
    assert "class" in labels and "second seed" in labels


def test_translation_models_translate_an_uploaded_image(tiny_run, one_thread):
    from genzoo.explore.latent import translator
    sets = {**SETS, "data.name": "mnist-edges", "data.n_samples": 16, "data.image_size": 16, "train.batch_size": 4,
            "model.width": 8, "model.discriminator.width": 8, "model.discriminator.n_layers": 1}
    for key in ("model.nets.width", "model.latent_dim"):
        sets.pop(key)
    model = genzoo.load(tiny_run("pix2pix", sets, name="p").dir)
    upload = np.zeros((40, 40, 3), np.uint8)   # any size and colour: resized to 16x16 grey
    upload[10:30, 18:22] = 255
    shown = translator(model)(upload)
    # source and translation side by side: a 38 x 20 grid (16 px images, 2 px padding) scaled 512 // 38 = 13 times
    assert shown.size == (38 * 13, 20 * 13)
    with pytest.raises(GenzooError, match="upload an image"):
        translator(model)(None)


T2I = {"model.width": 8, "model.latent_dim": 4, "model.projected_dim": 8, "model.text.embed_dim": 16,
       "model.text.steps": 2, "data.download": False, "data.n_samples": 64, "train.batch_size": 8,
       "train.sample_every": 0, "train.checkpoint_every": 0, "train.grid_size": 4, "train.steps": 2,
       "train.precision": "fp32"}


def test_a_text_to_image_run_draws_the_typed_caption_and_says_what_it_asks_for(tiny_run, one_thread):
    from genzoo.explore import CaptionExplorer

    run = tiny_run("gan-int-cls", T2I)
    ex = CaptionExplorer(genzoo.load(run.dir))
    assert ex.vocabulary == "a the digit big small is at top bottom left right above below to of 0 1 2 3 4 5 6 7 8 9"
    shown = ex.images("a big 2 is above a small 3", seed=4, n=3)
    expected = genzoo.load(run.dir).sample(3, cond=["a big 2 is above a small 3"],
                                           generator=torch.Generator().manual_seed(4))
    # three 32 px canvases in a row with 2 px padding: 104 x 36, scaled 768 // 104 = 7 times
    assert shown.size == (104 * 7, 36 * 7)
    first = np.asarray(shown.convert("L"))[2 * 7:34 * 7:7, 2 * 7:34 * 7:7]
    assert np.abs(first.astype(int) - (expected[0, 0].numpy() * 255).round().astype(int)).max() <= 1
    assert ex.reading("a big 2 is above a small 3") == ("a big 2 at the top; a small 3 at the bottom (seen: training "
                                                         "showed each of these digits in its place)")
    # the mnist-captions split never shows a 4 at the top (data/captions.py's BANNED_SLOT)
    assert ex.reading("a small 4 is above a small 1") == ("a small 4 at the top; a small 1 at the bottom (held out: "
                                                           "training never showed a 4 at the top)")
    assert ex.reading("3 2 a").startswith("Not a sentence of the training captions' grammar; the model draws it "
                                          "anyway (cannot parse the caption '3 2 a'")


@pytest.mark.slow
def test_the_caption_page_refuses_a_bad_caption_with_the_clis_one_line(tiny_run, one_thread, capsys):
    gr = pytest.importorskip("gradio")
    from genzoo.explore import build_app

    run = tiny_run("gan-int-cls", T2I)
    assert main(["sample", str(run.dir), "--text", "a big 2 is near a 3", "--out", str(run.dir / "s.png")]) == 2
    cli_line = capsys.readouterr().err.strip()
    app = build_app(genzoo.load(run.dir))
    labels = [getattr(b, "label", None) for b in app.blocks.values()]
    assert "caption (Enter to draw)" in labels and "samples" in labels
    draw = next(f.fn for f in app.fns.values() if f.fn.__name__ == "draw")
    with pytest.raises(gr.Error) as refused:
        draw("a big 2 is near a 3", 0, 4)
    assert cli_line == f"genzoo: error: {refused.value.message}" and len(cli_line.splitlines()) == 1
    image, reading = draw("a big 2 is above a small 3", 0, 4)
    assert image.size[0] > image.size[1] and "a big 2 at the top" in reading
