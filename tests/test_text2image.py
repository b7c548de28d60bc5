"""GAN-INT-CLS and StackGAN: their losses against the equations, captions in and out, checkpoints."""
import math

import pytest
import torch

from genzoo.presets import resolve
from genzoo.data.captions import CaptionError
from genzoo.errors import ConfigError
from genzoo.losses import d_loss_matching_aware, d_loss_minimax, mode_seeking_loss, symmetric_matching_loss
from genzoo.models.text2image import ConditioningAugmentation, GanIntCls, conditioning_kl
from genzoo.runs.checkpoint import list_checkpoints, read_checkpoint
from genzoo.training.trainer import Trainer, load, train

TINY = {"model.width": 8, "model.latent_dim": 4, "model.projected_dim": 8, "model.text.embed_dim": 16,
        "model.text.steps": 2, "data.download": False, "data.n_samples": 64, "train.batch_size": 8,
        "train.log_every": 1, "train.sample_every": 0, "train.checkpoint_every": 0, "train.grid_size": 4,
        "train.device": "cpu"}
TINY_STACK = {**TINY, "model.c_dim": 8, "model.stage1_steps": 2, "model.n_residual": 1}
QUIET = dict(progress=False, log=lambda *_: None)


def test_matching_aware_d_loss_is_its_three_terms():
    # s_r = D(x, h) = 1/2, s_w = D(x, h^) = 3/4 (logit ln 3), s_f = D(x^, h) = 1/4 (logit -ln 3):
    # -log s_r - 1/2 [log(1 - s_w) + log(1 - s_f)] = ln 2 + 1/2 (ln 4 + ln 4/3)
    loss = d_loss_matching_aware(torch.zeros(3), torch.full((3,), math.log(3)), torch.full((3,), -math.log(3)))
    assert loss.item() == pytest.approx(math.log(2) + 0.5 * (math.log(4) + math.log(4 / 3)))
    # at chance (all logits 0): ln 2 + 1/2 (ln 2 + ln 2) = 2 ln 2, as the plain GAN's D loss
    assert d_loss_matching_aware(torch.zeros(2), torch.zeros(2), torch.zeros(2)).item() == pytest.approx(2 * math.log(2))


def test_the_plain_gan_baseline_ignores_the_mismatched_text():
    from genzoo.data.captions import VOCAB
    from genzoo.models import DataSpec
    cfg = resolve("gan-int-cls", overrides={"model.discriminator": "plain", "model.width": 8}).model
    model = GanIntCls(cfg, DataSpec("captioned", (1, 32, 32), None, len(VOCAB)))
    s_r, s_f = torch.tensor([0.3, -1.0]), torch.tensor([2.0, 0.1])
    for s_w in (torch.zeros(2), torch.full((2,), 9.0)):
        assert model.d_loss(s_r, s_w, s_f).item() == pytest.approx(d_loss_minimax(s_r, s_f).item())


@pytest.mark.parametrize("share, hard", [(0.0, 0), (1.0, 4)])
def test_hard_mismatched_texts_are_the_captions_with_their_digits_changed(share, hard):
    from genzoo.data.captions import VOCAB, encode, with_digits_swapped, with_other_digits
    from genzoo.models import DataSpec
    cfg = resolve("gan-int-cls", overrides={"model.hard_mismatch": share, "model.width": 8}).model
    model = GanIntCls(cfg, DataSpec("captioned", (1, 32, 32), None, len(VOCAB)))
    tokens = encode(["a big 7 is below a small 2", "the digit 0 is at the top left", "a small 1 is at the top right",
                     "a big 5 is above a big 6"], 11)
    h = model.embed(tokens)
    torch.manual_seed(4)
    wrong = model.mismatched(h, tokens)
    torch.manual_seed(4)
    torch.rand(4)   # the draw that picks the hard ones
    other = with_other_digits(tokens)
    swap = torch.rand(4) < 0.5   # the draw that picks the swapped ones, among captions with two different digits
    swap &= torch.tensor([True, False, False, True])
    changed = torch.where(swap[:, None], with_digits_swapped(tokens), other)
    # share 0: the next example's caption (Reed et al.); share 1: every caption with its digits changed
    assert sum(torch.allclose(w, e) for w, e in zip(wrong, model.embed(changed))) == hard
    assert sum(torch.equal(w, r) for w, r in zip(wrong, h.roll(1, 0))) == 4 - hard
    if hard:   # with this seed both kinds occur
        assert 0 < int(swap.sum()) < 4


def test_mode_seeking_loss_on_a_hand_computed_case():
    # images differ by 0.5 in every pixel, noises by 2 in every entry: ratio 1/4, loss 1 / (1/4 + eps)
    fake_1, fake_2 = torch.zeros(2, 1, 3, 3), torch.full((2, 1, 3, 3), 0.5)
    z_1, z_2 = torch.zeros(2, 4), torch.full((2, 4), -2.0)
    assert mode_seeking_loss(fake_1, fake_2, z_1, z_2, eps=0.0).item() == pytest.approx(4.0)
    # identical samples for different noises: the loss is 1 / eps, its largest
    assert mode_seeking_loss(fake_1, fake_1, z_1, z_2, eps=1e-2).item() == pytest.approx(100.0)


def test_conditioning_augmentation_kl_on_a_hand_computed_case():
    # KL(N(mu, sigma^2) || N(0, I)) = 1/2 sum (mu^2 + sigma^2 - 1 - log sigma^2)
    # mu = (1, 0), sigma^2 = (1, 2): 1/2 [(1 + 1 - 1 - 0) + (0 + 2 - 1 - ln 2)] = 1 - ln(2) / 2
    mu, logvar = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, math.log(2)]])
    assert conditioning_kl(mu, logvar).item() == pytest.approx(1 - math.log(2) / 2)
    # a map of 2x2 regions, each that Gaussian: each region's KL, averaged over the regions, is the same
    assert conditioning_kl(mu[:, :, None, None].expand(1, 2, 2, 2), logvar[:, :, None, None].expand(1, 2, 2, 2)
                           ).item() == pytest.approx(1 - math.log(2) / 2)
    # c = mu + sigma * eps with the generator's eps
    ca = ConditioningAugmentation(3, 2)
    h = torch.randn(5, 3)
    c, mu, logvar = ca(h, torch.Generator().manual_seed(1))
    eps = torch.randn(5, 2, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(c, mu + (0.5 * logvar).exp() * eps)


def test_symmetric_matching_loss_on_a_hand_computed_case():
    # two orthogonal unit pairs, tau = 1: scores = I, each row's CE = log(1 + e^-1), both directions alike
    eye = torch.eye(2)
    assert symmetric_matching_loss(eye, eye, temperature=1.0).item() == pytest.approx(math.log(1 + math.exp(-1)))


@pytest.mark.usefixtures("one_thread")   # tiny nets: one thread is fastest
def test_the_generators_moving_average_follows_its_equation_and_samples():
    from genzoo.data.captions import VOCAB, encode
    from genzoo.models import DataSpec
    from genzoo.models.base import Batch, Optimizers
    cfg = resolve("gan-int-cls", overrides={**TINY, "model.ema": 0.75}).model
    model = GanIntCls(cfg, DataSpec("captioned", (1, 32, 32), None, len(VOCAB)))
    before = [p.clone() for p in model.G_ema.parameters()]
    tokens = encode(["a big 7 is below a small 2", "the digit 0 is at the top left"], 11)
    batch = Batch(torch.rand(2, 1, 32, 32), tokens)
    model.train_step(batch, Optimizers(model.configure_optimizers()), step=cfg.text.steps)   # one GAN step
    # G_ema <- b G_ema + (1 - b) G, from G_ema = G at the start; the GAN's first step: b = min(0.75, 1 / 10)
    for pa, p, p0 in zip(model.G_ema.parameters(), model.G.parameters(), before):
        assert torch.allclose(pa, 0.1 * p0 + 0.9 * p, atol=1e-6)
    before = [p.clone() for p in model.G_ema.parameters()]
    model.train_step(batch, Optimizers(model.configure_optimizers()), step=cfg.text.steps + 100)
    for pa, p, p0 in zip(model.G_ema.parameters(), model.G.parameters(), before):   # past the warm-up: b = 0.75
        assert torch.allclose(pa, 0.75 * p0 + 0.25 * p, atol=1e-6)
    assert any(not torch.equal(pa, p) for pa, p in zip(model.G_ema.parameters(), model.G.parameters()))
    # sampling draws from the average, not from G
    h = model.embed(tokens)
    z = model.prior(2, torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = model.from_net(model.G_ema(z, h))
    assert torch.equal(model.generate_from_embedding(h, torch.Generator().manual_seed(0)), expected)
    with pytest.raises(ConfigError, match=r"model.ema is a decay in \[0, 1\)"):
        resolve("gan-int-cls", overrides={"model.ema": 1.0})


@pytest.mark.usefixtures("one_thread")
def test_each_stackgan_stage_averages_its_own_generator_and_samples_from_both_averages():
    from genzoo.data.captions import VOCAB, encode
    from genzoo.models import DataSpec
    from genzoo.models.base import Batch, Optimizers
    from genzoo.models.text2image import StackGAN
    cfg = resolve("stackgan", overrides={**TINY_STACK, "model.ema": 0.75}).model
    model = StackGAN(cfg, DataSpec("captioned", (1, 32, 32), None, len(VOCAB)))
    tokens = encode(["a big 7 is below a small 2", "the digit 0 is at the top left"], 11)
    batch = Batch(torch.rand(2, 1, 32, 32), tokens)

    def params(net):
        return [p.clone() for p in net.parameters()]

    def step(at):
        before = params(model.G0_ema), params(model.G1_ema)
        model.train_step(batch, Optimizers(model.configure_optimizers()), step=at)
        return before

    # Stage I's first step (b = min(0.75, 1 / 10)): G0's average moves, G1's stays its initial copy of G1
    g0_before, g1_before = step(cfg.text.steps)
    for pa, p, p0 in zip(model.G0_ema.parameters(), model.G0.parameters(), g0_before):
        assert torch.allclose(pa, 0.1 * p0 + 0.9 * p, atol=1e-6)
    assert all(torch.equal(pa, p) for pa, p in zip(model.G1_ema.parameters(), g1_before))
    # Stage II's first step counts from Stage II's start (b = 1 / 10 again); G0's average holds still
    g0_before, g1_before = step(cfg.text.steps + cfg.stage1_steps)
    for pa, p, p0 in zip(model.G1_ema.parameters(), model.G1.parameters(), g1_before):
        assert torch.allclose(pa, 0.1 * p0 + 0.9 * p, atol=1e-6)
    assert all(torch.equal(pa, p) for pa, p in zip(model.G0_ema.parameters(), g0_before))
    # sampling: Stage I's average draws s0 and Stage II's average refines it
    h = model.embed(tokens)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        s0 = model.G0_ema(model.prior(2, gen), h, gen)[0]
        expected = model.from_net(model.G1_ema(s0, h, gen)[0])
    assert torch.equal(model.generate_from_embedding(h, torch.Generator().manual_seed(0)), expected)


def test_a_swapped_caption_is_one_more_negative_for_its_image():
    # scores = I (tau = 1); image 0's extra caption scores 0 with it, image 1's is masked out:
    # image -> text: row 0 log(e + 2) - 1, row 1 log(e + 1) - 1; text -> image as without: log(1 + e^-1) each
    eye = torch.eye(2)
    loss = symmetric_matching_loss(eye, eye, 1.0, hard_negatives=eye.flip(0), hard_valid=torch.tensor([True, False]))
    e = math.e
    assert loss.item() == pytest.approx(0.5 * ((math.log(e + 2) - 1 + math.log(e + 1) - 1) / 2 + math.log(1 + 1 / e)))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("t2i")
    return {"gan-int-cls": train(resolve("gan-int-cls", overrides={**TINY, "train.steps": 4}),
                                 out=base / "gic", **QUIET),
            "stackgan": train(resolve("stackgan", overrides={**TINY_STACK, "train.steps": 6}),
                              out=base / "sg", **QUIET)}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["gan-int-cls", "stackgan"])
def test_a_checkpoint_reloads_to_the_same_samples_for_typed_captions(runs, name):
    run = runs[name]
    loaded = load(run.dir)
    captions = ["a small 4 is above a big 9", "the digit 3 is at the top left"]
    a = run.model.eval().sample(4, cond=captions, generator=torch.Generator().manual_seed(0))
    b = loaded.sample(4, cond=captions, generator=torch.Generator().manual_seed(0))
    assert a.shape == (4, 1, 32, 32) and torch.equal(a, b)
    assert 0 <= float(a.min()) and float(a.max()) <= 1
    grid = loaded.interpolate_text(*captions, rows=2, cols=3, generator=torch.Generator().manual_seed(0))
    assert grid.shape == (6, 1, 32, 32)
    # the text encoder sees a batch of two captions here and of one there: kernels may round differently
    assert torch.allclose(grid[0], loaded.sample(1, cond=captions[:1], generator=torch.Generator().manual_seed(
        int(torch.randint(2 ** 62, (2,), generator=torch.Generator().manual_seed(0))[0])))[0], atol=1e-6)


@pytest.mark.slow
def test_words_outside_the_vocabulary_stop_sampling_with_the_vocabulary(runs):
    with pytest.raises(CaptionError, match="'purple'.*vocabulary"):
        runs["gan-int-cls"].model.sample(2, cond=["a purple 4 is above a big 9"])


@pytest.mark.slow
@pytest.mark.parametrize("name, sets, steps", [("gan-int-cls", TINY, 6), ("stackgan", TINY_STACK, 8),
                                               ("gan-int-cls", {**TINY, "model.hard_mismatch": 0.5}, 6),
                                               ("gan-int-cls", {**TINY, "model.ema": 0.9}, 6),
                                               ("gan-int-cls", {**TINY, "model.text.spatial": False}, 6),
                                               ("stackgan", {**TINY_STACK, "model.text.spatial": False,
                                                             "model.ema": 0.0, "train.lr_decay": 0.0}, 8)])
def test_resume_is_bitwise_identical(tmp_path, name, sets, steps):
    # the run stops 2 steps before its end, inside the GAN phase (stackgan: inside Stage II), after the
    # text encoder's, and is resumed; the preset's learning-rate decay follows the run's planned steps
    cfg = resolve(name, overrides={**sets, "train.checkpoint_every": 3, "train.steps": steps})
    whole = train(cfg, out=tmp_path / "whole", **QUIET)
    cut = Trainer(cfg, out=tmp_path / "cut", **QUIET)
    cut.setup()
    for _ in range(steps - 2):
        cut.step()
    cut.save()
    cut.close()
    resumed = train(resume=tmp_path / "cut", **QUIET)
    a, _ = read_checkpoint(list_checkpoints(whole.dir / "checkpoints")[-1][1])
    b, _ = read_checkpoint(list_checkpoints(resumed.dir / "checkpoints")[-1][1])
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.mark.slow
def test_the_text_encoder_is_frozen_after_its_phase(tiny_run, runs):
    run = runs["gan-int-cls"]
    first = load(run.dir, step=4)
    # steps 2 and 3 were GAN steps: the encoder's weights are those trained by steps 0 and 1
    retrained = tiny_run("gan-int-cls", TINY, {"train.steps": 2}, out=run.dir.parent / "two")
    for (k, v), (k2, v2) in zip(first.text_encoder.state_dict().items(), retrained.model.text_encoder.state_dict().items()):
        assert k == k2 and torch.equal(v, v2), k


def test_a_one_word_caption_gives_every_region_that_words_value():
    from genzoo.data.captions import TOKEN_ID, VOCAB
    from genzoo.nets.text import SpatialTextEncoder
    encoder = SpatialTextEncoder(len(VOCAB), dim=5, size=4)
    tokens = torch.tensor([[TOKEN_ID["7"], 0, 0]])   # one word, then padding: the softmax over words is 1 on it
    regions = encoder(tokens)
    assert regions.shape == (1, 5, 4, 4)
    assert torch.allclose(regions[0].flatten(1).t(), encoder.value.weight[TOKEN_ID["7"]].expand(16, 5))


def test_the_spatial_discriminator_is_its_joint_layers_plus_a_match_per_region():
    from genzoo.nets.text import SpatialTextDiscriminator
    torch.manual_seed(0)
    D = SpatialTextDiscriminator(1, text_dim=3, size=8, width=4).eval()
    x, text_map = torch.rand(2, 1, 32, 32), torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        D.joint[-1].weight.zero_()   # the joint layers then give their last bias alone
        f = D.body(x)
        # mean over the 64 regions of <P M_q, f_q>, P the 1x1 projection: sum over channels, then regions
        projected = torch.einsum("oc,nchw->nohw", D.project.weight[:, :, 0, 0], text_map) + D.project.bias[:, None, None]
        expected = D.joint[-1].bias + (projected * f).sum(1).sum((1, 2)) / 64
        assert torch.allclose(D(x, text_map), expected, atol=1e-5)


def test_text_models_refuse_uncaptioned_data_and_bad_settings():
    with pytest.raises(ConfigError, match="captioned images"):
        train(resolve("gan-int-cls", overrides={**TINY, "data.name": "mnist", "train.steps": 1}), **QUIET)
    with pytest.raises(ConfigError, match="must be one of"):
        resolve("gan-int-cls", overrides={"model.discriminator": "cls"})
    with pytest.raises(ConfigError, match="model.hard_mismatch is a share between 0 and 1"):
        resolve("stackgan", overrides={"model.hard_mismatch": 1.5})
    with pytest.raises(ConfigError, match="stage1_size"):
        train(resolve("stackgan", overrides={**TINY_STACK, "model.stage1_size": 12, "train.steps": 1}), **QUIET)
    with pytest.raises(ConfigError, match="Stage I draws at half the canvas: set model.stage1_size=16"):
        train(resolve("stackgan", overrides={**TINY_STACK, "model.text.spatial": True, "model.stage1_size": 8,
                                             "train.steps": 1}), **QUIET)


@pytest.mark.slow
def test_genzoo_sample_draws_typed_captions_and_walks_between_two(runs, tmp_path, capsys):
    from PIL import Image

    from genzoo.cli import main
    run = runs["gan-int-cls"].dir
    assert main(["sample", str(run), "--text", "a small 4 is above a big 9", "--n", "3", "--scale", "3", "--out",
                 str(tmp_path / "one.png")]) == 0
    grid = Image.open(tmp_path / "one.png")
    # one row of 3: (32 px + 2 px padding) each, enlarged 3 times, after a margin that holds the caption
    margin = grid.size[0] - 3 * (3 * 34 + 2)
    assert grid.size[1] == 3 * (34 + 2) and margin > 100
    assert grid.crop((0, 0, margin, grid.size[1])).convert("L").getextrema()[0] < 128   # the caption in dark ink on white
    out = capsys.readouterr().out
    assert "spread between the samples of each caption" in out and "a small 4 is above a big 9" in out
    (tmp_path / "captions.txt").write_text("the digit 1 is at the top right\n\na big 2 is below a small 3\n")
    assert main(["sample", str(run), "--text-file", str(tmp_path / "captions.txt"), "--n", "2", "--out",
                 str(tmp_path / "file.png")]) == 0
    assert (tmp_path / "file.txt").read_text().splitlines() == ["the digit 1 is at the top right",
                                                                "a big 2 is below a small 3"]
    assert main(["sample", str(run), "--mode", "interpolate-text", "--text", "a big 0 is at the top left",
                 "--text", "a big 8 is at the top left", "--rows", "2", "--cols", "4", "--out",
                 str(tmp_path / "walk.png")]) == 0
    # 4 steps x 2 walks of 32 x 32 canvases with 2-pixel borders, enlarged twice as every grid of small images
    assert Image.open(tmp_path / "walk.png").size == (2 * (4 * 34 + 2), 2 * (2 * 34 + 2))
    capsys.readouterr()
    (tmp_path / "latin1.txt").write_bytes("a big 2 is below a small 3 \u00e9\n".encode("latin-1"))
    assert main(["sample", str(run), "--text-file", str(tmp_path / "latin1.txt")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is not UTF-8 text (byte 0xe9 at position 27)" in err
    assert main(["sample", str(run), "--text", "a tiny 4 is above a big 9"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'tiny'" in err and "above below to of 0 1 2" in err
    assert main(["sample", str(run), "--mode", "interpolate-text", "--text", "a big 0 is at the top left"]) == 2
    assert main(["sample", str(run), "--mode", "slerp"]) == 2


def test_the_spread_between_samples_is_their_mean_pixel_difference():
    from genzoo.metrics.captions import sample_spread

    black, white, grey = torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2), torch.full((1, 1, 2, 2), 0.25)
    assert sample_spread(torch.cat([black, white])) == pytest.approx(1.0)
    # pairs: (black, black) 0, (black, grey) 0.25 twice -> 0.5 / 3
    assert sample_spread(torch.cat([black, black, grey])) == pytest.approx(0.5 / 3)
    assert sample_spread(torch.cat([grey] * 4)) == 0.0


@pytest.mark.slow
def test_genzoo_eval_of_a_text_to_image_run_reports_caption_accuracy(runs, fx_cache, capsys, monkeypatch):
    import json

    from genzoo.cli import main
    from genzoo.metrics import captions

    # genzoo's MNIST classifier (offline: mnist5k's), as the short-trained one of the fx_cache fixture
    monkeypatch.setattr(captions, "dataset_classifier", lambda ev, dataset: fx_cache[0])
    for name, stages in (("gan-int-cls", ["final"]), ("stackgan", ["final", "stage1"])):
        run = runs[name].dir
        assert main(["eval", str(run), "--n", "40"]) == 0
        out = capsys.readouterr().out
        saved = json.loads((run / "eval.json").read_text())
        assert list(saved) == ["captions"] and saved["captions"]["protocol_level"] == "quick"
        r = saved["captions"]
        assert [s for s in ("final", "stage1") if s in r] == stages and r["n"] == 40
        seen = r["final"]["seen"]
        assert 0 <= seen["caption_accuracy"] <= 1 and seen["n"] + r["final"].get("held_out", {}).get("n", 0) == 40
        assert f"seen {100 * seen['caption_accuracy']:.1f}% (real {100 * seen['real_caption_accuracy']:.1f}%)" in out


@pytest.mark.slow
def test_caption_scores_of_the_real_canvases_are_the_ceiling(runs, fx_cache):
    from genzoo.data import load_dataset
    from genzoo.metrics.captions import evaluate_captions

    test = load_dataset("mnist-captions", "test", download=False)

    class Replay:   # a "model" that returns the real test canvases, in order
        shown = 0

        def sample(self, n, cond=None, generator=None):
            x = test.x[self.shown:self.shown + n].float() / 255
            self.shown += n
            return x

    r = evaluate_captions(Replay(), test, 200, seed=0, extractor=fx_cache[0])
    for split in ("seen", "held_out"):
        assert r["final"][split]["caption_accuracy"] == r["final"][split]["real_caption_accuracy"] > 0.5
    assert r["final"]["seen"]["n"] + r["final"]["held_out"]["n"] == 200 and r["final"]["fd_digits"] < 1e-6
    # the accuracies on one-digit and on two-digit captions make up each split's accuracy
    two, held = test.digits[:200, 1] >= 0, test.held_out[:200]
    for split, mask in (("seen", ~held), ("held_out", held)):
        f = r["final"][split]
        parts = int((mask & ~two).sum()) * f["one_digit_accuracy"] + int((mask & two).sum()) * f["two_digit_accuracy"]
        assert parts == pytest.approx(f["n"] * f["caption_accuracy"])
    stack = evaluate_captions(runs["stackgan"].model, test, 20, seed=0, extractor=fx_cache[0])
    assert stack["stage1"]["resolution"] == [16, 16] and "fd_digits" in stack["final"]


def test_the_quick_preset_departs_from_gan_int_cls_only_where_it_says():
    from genzoo.typed import to_dict

    def flat(d, prefix=""):
        for k, v in d.items():
            yield from flat(v, f"{prefix}{k}.") if isinstance(v, dict) else [(prefix + k, v)]

    quick, full = (dict(flat(to_dict(resolve(name)))) for name in ("gan-int-cls-quick", "gan-int-cls"))
    assert {k: (full[k], quick[k]) for k in full if quick[k] != full[k]} == {
        "name": ("gan-int-cls", "gan-int-cls-quick"), "description": (full["description"], quick["description"]),
        "model.width": (32, 16), "model.optim.lr": (2e-4, 1.2e-3), "model.ema": (0.999, 0.99),
        "model.mode_seeking": (1.0, 0.0), "model.text.spatial": (True, False), "model.text.embed_dim": (64, 128),
        "model.text.steps": (1500, 500), "train.steps": (9500, 2600), "train.lr_decay": (0.3, 0.5)}
