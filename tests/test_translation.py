"""pix2pix and CycleGAN: the losses against their equations, the image history, training on a small
problem, the trainer, checkpoints and the errors a user meets."""
import math

import pytest
import torch
import torch.nn.functional as F

from PIL import Image

import genzoo
from genzoo.cli import main
from genzoo.presets import resolve
from genzoo.evaluation import evaluate_run
from genzoo.errors import ConfigError, GenzooError
from genzoo.models.base import Batch, DataSpec, Optimizers
from genzoo.metrics.translation import digit_scores
from genzoo.models.translation import TRANSLATION_LOSSES, CycleGAN, ImagePool, Pix2Pix
from genzoo.runs.build import build_model
from genzoo.training.trainer import train

pytestmark = pytest.mark.usefixtures("one_thread")

PAIRS = DataSpec("pair", (2, 1, 16, 16))
UNPAIRED = DataSpec("unpaired", (2, 1, 16, 16))
TINY_P2P = {"model.width": 8, "model.discriminator.width": 8, "model.discriminator.n_layers": 1}
TINY_CYCLE = {**TINY_P2P, "model.n_blocks": 1}
QUICK = {"train.log_every": 1, "train.sample_every": 0, "train.checkpoint_every": 0, "train.grid_size": 6}


def _model(cls, preset, spec=PAIRS, **sets):
    torch.manual_seed(0)
    tiny = TINY_P2P if cls is Pix2Pix else TINY_CYCLE
    return cls(resolve(preset, overrides={**tiny, **sets}).model, spec)


def _pairs(n=8, seed=0):
    """Pairs (a, b) of binary noise and its negative, b = 1 - a: a translation a U-Net's skip connections
    make quick to learn, and one no constant output comes near (L1 1/2 for a constant 1/2)."""
    a = torch.rand(n, 1, 16, 16, generator=torch.Generator().manual_seed(seed)).round()
    return Batch(torch.stack([a, 1 - a], 1))


# ------------------------------------------------------------------ the losses, by hand


def test_cross_entropy_game_is_halved_for_d_only():
    d, g = TRANSLATION_LOSSES["cross-entropy"]
    zero = torch.zeros(3, 1, 4, 4)  # D(.) = 1/2 on every patch
    # 1/2 [-log 1/2 - log(1 - 1/2)] = log 2; G: -log 1/2 = log 2
    assert d(zero, zero).item() == pytest.approx(math.log(2))
    assert g(zero).item() == pytest.approx(math.log(2))
    big = torch.full((2, 1, 3, 3), 50.0)  # D certain the pair is real: J(D) on reals ~ 0
    assert d(big, -big).item() == pytest.approx(0.0, abs=1e-6)


def test_least_squares_game_matches_cyclegan():
    d, g = TRANSLATION_LOSSES["least-squares"]
    real, fake = torch.full((2, 1, 3, 3), 0.5), torch.full((2, 1, 3, 3), 0.25)
    # J(D) = 1/2 (0.5 - 1)^2 + 1/2 (0.25)^2 = 0.125 + 0.03125
    assert d(real, fake).item() == pytest.approx(0.15625)
    # J(G) = (0.25 - 1)^2 = 0.5625, with no factor 1/2
    assert g(fake).item() == pytest.approx(0.5625)


# ------------------------------------------------------------------ the image history


def test_image_pool_returns_the_first_images_then_swaps_half_on_average():
    torch.manual_seed(0)
    pool = ImagePool(4, (1, 2, 2))
    first = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 1, 2, 2)
    assert torch.equal(pool.query(first), first) and int(pool.count) == 4
    assert torch.equal(pool.images, first)
    swapped = 0
    for i in range(200):
        new = torch.full((1, 1, 2, 2), 100.0 + i)
        before = pool.images.clone()
        out = pool.query(new)
        if torch.equal(out, new):
            assert torch.equal(pool.images, before)          # kept: the pool is unchanged
        else:
            swapped += 1
            assert any(torch.equal(out[0], img) for img in before)   # an older image ...
            assert (pool.images == 100.0 + i).all(dim=(1, 2, 3)).sum() == 1  # ... replaced by the new one
    assert 70 < swapped < 130   # probability 1/2


def test_image_pool_of_size_zero_is_off_and_the_pool_is_in_the_state_dict():
    x = torch.rand(3, 1, 2, 2)
    assert torch.equal(ImagePool(0, (1, 2, 2)).query(x), x)
    m = _model(CycleGAN, "cyclegan", UNPAIRED)
    keys = m.state_dict().keys()
    assert {"pool_A.images", "pool_A.count", "pool_B.images", "pool_B.count"} <= set(keys)


# ------------------------------------------------------------------ the algorithm boxes


class _Recorder(Optimizers):
    """Optimizers that also keep each loss they step."""

    def __init__(self, opts):
        super().__init__(opts)
        self.losses = {}

    def step(self, name, loss):
        self.losses[name] = loss.item()
        super().step(name, loss)


def test_pix2pix_generator_descends_the_cgan_term_plus_100_l1():
    m = _model(Pix2Pix, "pix2pix", **{"model.dropout": 0.0})
    batch = _pairs()
    a, b = batch.x[:, 0] * 2 - 1, batch.x[:, 1] * 2 - 1
    with torch.no_grad():
        l1 = F.l1_loss(m.G(a), b).item()   # the L1 of eq. 3, in the nets' [-1, 1] units
    opt = _Recorder(m.configure_optimizers())
    logs = m.train_step(batch, opt, 0)
    assert m.cfg.l1_weight == 100.0
    assert float(logs["l1"]) == pytest.approx(l1 / 2, rel=1e-5)   # logged in [0, 1] pixel units
    assert opt.losses["G"] == pytest.approx(float(logs["g_gan"]) + 100.0 * l1, rel=1e-5)


@pytest.mark.slow
def test_pix2pix_learns_a_paired_translation():
    m = _model(Pix2Pix, "pix2pix", **{"model.dropout": 0.0, "model.optim.lr": 1e-3})  # a faster rate for a test
    batch = _pairs(16)
    opt = Optimizers(m.configure_optimizers())
    src, tgt = batch.x[:, 0], batch.x[:, 1]
    before = F.l1_loss(m.translate(src), tgt).item()
    for step in range(200):
        m.train_step(batch, opt, step)
    after = F.l1_loss(m.translate(src), tgt).item()
    assert before > 0.4 and after < 0.15


def test_cyclegan_generator_loss_is_gan_plus_cycle_plus_identity():
    m = _model(CycleGAN, "cyclegan", UNPAIRED)
    batch = _pairs()
    a, b = batch.x[:, 0] * 2 - 1, batch.x[:, 1] * 2 - 1
    d, g = TRANSLATION_LOSSES["least-squares"]
    with torch.no_grad():
        gan = g(m.D_B(m.G(a))) + g(m.D_A(m.F(b)))
        cycle = F.l1_loss(m.F(m.G(a)), a) + F.l1_loss(m.G(m.F(b)), b)
        identity = F.l1_loss(m.G(b), b) + F.l1_loss(m.F(a), a)
    opt = _Recorder(m.configure_optimizers())
    m.train_step(batch, opt, 0)
    assert opt.losses["G"] == pytest.approx((gan + 10 * cycle + 0.5 * 10 * identity).item(), rel=1e-5)


def test_cyclegan_reduces_its_cycle_loss():
    m = _model(CycleGAN, "cyclegan", UNPAIRED, **{"model.optim.lr": 2e-3})  # a faster rate for a test
    batch = _pairs(4)
    opt = Optimizers(m.configure_optimizers())
    first = [float(m.train_step(batch, opt, s)["cycle"]) for s in range(5)]
    # 40 steps on 4 pairs take the cycle loss to about 0.17 of its start, well below the half asked
    last = [float(m.train_step(batch, opt, s)["cycle"]) for s in range(5, 40)][-5:]
    assert sum(last) < 0.5 * sum(first)


def test_direction_btoa_swaps_the_roles_of_the_domains():
    m = _model(Pix2Pix, "pix2pix", **{"model.direction": "BtoA"})
    batch = _pairs()
    src, tgt = m.domains(batch)
    assert torch.equal(src, batch.x[:, 1] * 2 - 1) and torch.equal(tgt, batch.x[:, 0] * 2 - 1)


def test_translation_is_reproducible_with_a_generator_and_leaves_the_global_stream_alone():
    m = _model(Pix2Pix, "pix2pix", **{"model.max_levels": 4, "model.dropout": 0.5})
    x = _pairs(4).x[:, 0]
    torch.manual_seed(1)
    state = torch.get_rng_state()
    out1 = m.translate(x, generator=torch.Generator().manual_seed(3))
    out2 = m.translate(x, generator=torch.Generator().manual_seed(3))
    assert torch.equal(out1, out2) and torch.equal(torch.get_rng_state(), state)
    assert out1.shape == x.shape and 0 <= out1.min() and out1.max() <= 1


# ------------------------------------------------------------------ the trainer, checkpoints, errors


@pytest.mark.slow
@pytest.mark.parametrize("preset,tiny", [("pix2pix", TINY_P2P), ("cyclegan", TINY_CYCLE)])
def test_presets_train_on_the_offline_digits_save_grids_and_round_trip(preset, tiny, tmp_path, capsys, monkeypatch,
                                                                      fx_cache):
    # the digits metric reads translations with the test module's small cached mnist5k classifier
    monkeypatch.setattr("genzoo.metrics.features.get_feature_extractor", lambda *a, **k: fx_cache[0])
    sets = {**QUICK, **tiny, "train.steps": 3, "train.batch_size": 4, "data.n_samples": 16, "data.image_size": 16}
    run = train(resolve(preset, overrides=sets), out=tmp_path / preset, progress=False, log=lambda *_: None)
    assert all(math.isfinite(v) for v in run.last_metrics.values())
    assert (run.dir / "samples" / "step-0000003.png").exists()
    grid = tmp_path / "grid.png"
    assert main(["sample", str(run.dir), "--n", "4", "--out", str(grid)]) == 0
    columns = 3 if preset == "pix2pix" else 6   # two pairs per line of the grid
    scale = 4   # 16x16 images are enlarged to 64 px by default
    assert Image.open(grid).size == (scale * (2 * columns * 18 + 2), scale * (2 * 18 + 2))
    assert main(["sample", str(run.dir), "--mode", "slerp"]) == 2
    assert "has no latent space" in capsys.readouterr().err
    assert main(["sample", str(run.dir), "--input", str(tmp_path / "nowhere")]) == 2
    assert "is not a directory of images" in capsys.readouterr().err
    r = evaluate_run(run.dir, n=20, log=lambda *_: None)   # the digits' test pairs are aligned: L1 applies
    assert set(r) == {"l1", "digits"} and 0 <= r["digits"]["label_accuracy"] <= 1
    assert 0 < r["l1"]["l1"] < 1 and r["l1"]["n"] == 20 and r["l1"]["l1_of_the_source"] > 0
    loaded = genzoo.load(run.dir)
    run.model.cpu()   # load() reads onto the CPU; "auto" may have trained on a GPU
    x = torch.rand(2, 1, 16, 16)
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    assert torch.equal(loaded.translate(x, generator=g()), run.model.translate(x, generator=g()))
    for (k, v), (k2, v2) in zip(loaded.state_dict().items(), run.model.state_dict().items()):
        assert k == k2 and torch.equal(v.cpu(), v2.cpu()), k


def test_presets_hold_the_papers_hyperparameters():
    p = resolve("pix2pix", overrides={"data.name": "image-pairs"})
    assert (p.model.l1_weight, p.model.loss, p.model.discriminator.n_layers) == (100.0, "cross-entropy", 3)
    assert (p.model.optim.lr, tuple(p.model.optim.betas), p.train.batch_size) == (2e-4, (0.5, 0.999), 1)
    c = resolve("cyclegan", overrides={"data.name": "image-unpaired"})
    assert (c.model.loss, c.model.cycle_weight, c.model.identity_weight, c.model.pool_size) == (
        "least-squares", 10.0, 0.5, 50)
    assert (c.model.n_blocks, c.model.norm, c.train.lr_decay, c.train.batch_size) == (9, "instance", 0.5, 1)
    assert p.train.epochs == c.train.epochs == 200 and p.train.steps is None
    small = resolve("cyclegan")   # the offline digits: 32x32, 6 blocks, 16x16 patches, a step budget
    assert (small.data.image_size, small.model.n_blocks, small.model.discriminator.n_layers) == (32, 6, 1)
    assert (small.train.steps, small.train.epochs) == (800, None)


def test_wrong_data_and_settings_get_clear_errors():
    with pytest.raises(ConfigError, match="pix2pix learns from aligned pairs"):
        build_model(resolve("pix2pix", overrides={"data.name": "digits"}), DataSpec("image", (1, 8, 8), 10),
                    torch.device("cpu"))
    with pytest.raises(ConfigError, match="pix2pix learns from aligned pairs"):
        build_model(resolve("pix2pix"), UNPAIRED, torch.device("cpu"))
    for preset in ("vae", "rbm", "dcgan", "stacked-ae"):   # the other models refuse pairs of images
        with pytest.raises(ConfigError, match="holds pairs of images for translation models"):
            build_model(resolve(preset, overrides={"data.name": "mnist-edges"}), PAIRS, torch.device("cpu"))
    with pytest.raises(ConfigError, match="model.direction must be one of 'AtoB', 'BtoA'"):
        resolve("cyclegan", overrides={"model.direction": "AB"})
    with pytest.raises(ConfigError, match="model.loss must be one of"):
        resolve("pix2pix", overrides={"model.loss": "hinge"})
    m = _model(Pix2Pix, "pix2pix")
    with pytest.raises(ValueError, match="pix2pix translates images: pass cond"):
        m.sample(4)
    with pytest.raises(ValueError, match=r"shaped like its training data, \(N, 1, 16, 16\)"):
        m.translate(torch.rand(2, 3, 16, 16))
    with pytest.raises(ValueError, match="one direction only"):
        m.translate(torch.rand(1, 1, 16, 16), reverse=True)


def test_pix2pix_ablations_l1_alone_and_cgan_alone():
    batch = _pairs()
    a, b = batch.x[:, 0] * 2 - 1, batch.x[:, 1] * 2 - 1
    for sets, expected in [({"model.gan_weight": 0.0}, lambda gan, l1: 100 * l1),
                           ({"model.l1_weight": 0.0}, lambda gan, l1: gan)]:
        m = _model(Pix2Pix, "pix2pix", **{"model.dropout": 0.0, **sets})
        with torch.no_grad():
            l1 = F.l1_loss(m.G(a), b).item()
        opt = _Recorder(m.configure_optimizers())
        logs = m.train_step(batch, opt, 0)
        assert opt.losses["G"] == pytest.approx(expected(float(logs["g_gan"]), l1), rel=1e-5)
    with pytest.raises(ConfigError, match="not both 0"):
        resolve("pix2pix", overrides={"model.gan_weight": 0.0, "model.l1_weight": 0.0})


@pytest.mark.slow
def test_digit_scores_of_the_targets_themselves_and_of_noise(fx_cache, splits):
    fx = fx_cache[0]
    digits, labels = splits.test_x[:300].float().div(255), splits.test_y[:300]
    target = F.interpolate(digits, size=(32, 32), mode="bilinear")   # the 32x32 translation sets
    same = digit_scores(target, target, labels, extractor=fx)
    assert same["fd_to_targets"] == pytest.approx(0.0, abs=1e-3)
    assert same["label_accuracy"] == same["label_accuracy_of_real_targets"] > 0.8
    noise = digit_scores(torch.rand_like(target), target, labels, extractor=fx)
    assert noise["label_accuracy"] < 0.3 and noise["fd_to_targets"] > 10 * max(same["fd_to_targets"], 1.0)


@pytest.mark.slow
def test_pix2pix_on_a_folder_of_rgb_pairs_trains_and_is_scored(tmp_path):
    g = torch.Generator().manual_seed(0)
    for split, count in (("train", 8), ("test", 4)):
        (tmp_path / "pairs" / split).mkdir(parents=True)
        for i in range(count):
            a = (torch.rand(32, 32, 3, generator=g) * 255).to(torch.uint8)
            Image.fromarray(torch.cat([a, 255 - a], dim=1).numpy()).save(tmp_path / "pairs" / split / f"{i}.png")
    sets = {**QUICK, **TINY_P2P, "data.name": "image-pairs", "data.root": str(tmp_path / "pairs"),
            "train.steps": 2, "train.batch_size": 2, "model.discriminator.n_layers": 3}   # 70x70-style D on 32x32
    run = train(resolve("pix2pix", overrides=sets), out=tmp_path / "run", progress=False, log=lambda *_: None)
    assert run.model.image_shape == (3, 32, 32) and run.model.G.levels == 5
    r = evaluate_run(run.dir, n=4, log=lambda *_: None)
    assert set(r) == {"l1"} and r["l1"]["n"] == 4   # no digit classifier for a folder of photos
    with pytest.raises(GenzooError, match=r"applies to mnist-edges \(AtoB\), .* not image-pairs \(AtoB\)"):
        evaluate_run(run.dir, n=4, metrics=["digits"], log=lambda *_: None)
    # genzoo sample --input: a folder of the user's own images, translated one file each (resized to 32x32)
    (tmp_path / "mine" / "sub").mkdir(parents=True)
    Image.new("RGB", (48, 40), (200, 10, 10)).save(tmp_path / "mine" / "a.jpg")
    Image.new("L", (32, 32), 128).save(tmp_path / "mine" / "sub" / "b.png")
    assert main(["sample", str(run.dir), "--input", str(tmp_path / "mine"), "--out", str(tmp_path / "out")]) == 0
    outs = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.png"))
    assert outs == ["a.png", "sub/b.png"] and Image.open(tmp_path / "out" / "a.png").size == (32, 32)
    assert Image.open(tmp_path / "out" / "a.png").mode == "RGB"


@pytest.mark.slow
def test_cyclegan_resume_is_bitwise_identical_with_its_image_history(tmp_path):
    from genzoo.runs.checkpoint import list_checkpoints, read_checkpoint
    # lr_decay 0: the cut run below is a 3-step run, so under a decay its first steps would follow a
    # 3-step schedule (the decay's own resume is checked in test_train)
    sets = {**QUICK, **TINY_CYCLE, "model.pool_size": 4, "train.steps": 6, "train.checkpoint_every": 3,
            "train.batch_size": 2, "data.n_samples": 16, "data.image_size": 16, "train.lr_decay": 0.0,
            "train.device": "cpu"}   # bitwise on the CPU; cuDNN's convolution backward is not deterministic
    quiet = dict(progress=False, log=lambda *_: None)
    whole = train(resolve("cyclegan", overrides=sets), out=tmp_path / "whole", **quiet)
    cut = train(resolve("cyclegan", overrides={**sets, "train.steps": 3}), out=tmp_path / "cut", **quiet)
    resumed = train(resume=cut.dir, steps=6, **quiet)
    a, _ = read_checkpoint(list_checkpoints(whole.dir / "checkpoints")[-1][1])
    b, _ = read_checkpoint(list_checkpoints(resumed.dir / "checkpoints")[-1][1])
    assert a.keys() == b.keys() and any(k.endswith("pool_A.images") for k in a)
    assert int(resumed.model.pool_A.count) == 4   # full: the later steps swapped images in and out
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_cyclegan_on_an_unpaired_folder_gets_no_l1_by_default_and_a_clear_error_when_asked(tmp_path):
    g = torch.Generator().manual_seed(0)
    for folder, count in (("trainA", 4), ("trainB", 3), ("testA", 2), ("testB", 2)):
        (tmp_path / "set" / folder).mkdir(parents=True)
        for i in range(count):
            img = (torch.rand(16, 16, generator=g) * 255).to(torch.uint8).numpy()
            Image.fromarray(img).save(tmp_path / "set" / folder / f"{i}.png")
    sets = {**QUICK, **TINY_CYCLE, "data.name": "image-unpaired", "data.root": str(tmp_path / "set"),
            "train.steps": 1, "train.batch_size": 2}
    run = train(resolve("cyclegan", overrides=sets), out=tmp_path / "run", progress=False, log=lambda *_: None)
    assert evaluate_run(run.dir, n=2, log=lambda *_: None) == {}   # the test images are not aligned pairs
    with pytest.raises(GenzooError, match="has no aligned pairs"):
        evaluate_run(run.dir, n=2, metrics=["l1"], log=lambda *_: None)
