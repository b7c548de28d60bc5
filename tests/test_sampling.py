"""genzoo.sampling: truncation, interpolation, arithmetic, class grids and controllable generation."""
import math

import pytest
import torch
from torch import nn

from genzoo import sampling
from genzoo.cli import main
from genzoo.presets import resolve
from genzoo.errors import GenzooError
from genzoo.models.base import DataSpec
from genzoo.models.gan import GAN


pytestmark = pytest.mark.usefixtures("one_thread")


DIGITS = DataSpec("image", (1, 8, 8), num_classes=10)


def _gan(preset="dcgan", **sets):
    torch.manual_seed(0)
    return GAN(resolve(preset, overrides={"model.nets.width": 8, "model.nets.hidden": [32], "model.latent_dim": 16,
                                          **sets}).model, DIGITS)


class Linear(nn.Module):
    """A latent model whose generate is a fixed linear map: x = A z (easy to check by hand)."""

    def __init__(self, d=4):
        super().__init__()
        self.latent_dim = d
        self.A = nn.Linear(d, 3, bias=False)

    def generate(self, z, cond=None):
        return self.A(z)


def test_truncation_respects_the_bound_and_keeps_a_standard_normal_inside_it():
    z = sampling.truncated_normal(20000, 8, 0.5, generator=torch.Generator().manual_seed(0))
    assert z.shape == (20000, 8) and z.abs().max().item() <= 0.5
    # N(0, 1) truncated to [-b, b]: variance 1 - 2 b phi(b) / (2 Phi(b) - 1)
    b = 0.5
    phi = math.exp(-b * b / 2) / math.sqrt(2 * math.pi)
    big_phi = 0.5 * (1 + math.erf(b / math.sqrt(2)))
    assert z.var().item() == pytest.approx(1 - 2 * b * phi / (2 * big_phi - 1), rel=0.03)
    assert abs(z.mean().item()) < 0.01
    with pytest.raises(ValueError):
        sampling.truncated_normal(2, 2, 0.0)


def test_slerp_keeps_endpoints_and_norms_and_lerp_is_linear():
    g = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(5, 16, generator=g), torch.randn(5, 16, generator=g)
    z1 = z1 / z1.norm(dim=1, keepdim=True) * z0.norm(dim=1, keepdim=True)  # equal norms
    t = torch.linspace(0, 1, 7)
    path = sampling.slerp(z0, z1, t)
    assert path.shape == (7, 5, 16)
    torch.testing.assert_close(path[0], z0)
    torch.testing.assert_close(path[-1], z1)
    torch.testing.assert_close(path.norm(dim=-1), z0.norm(dim=-1).expand(7, 5))  # on the sphere all the way
    mid = sampling.lerp(z0, z1, 0.5)
    torch.testing.assert_close(mid, (z0 + z1) / 2)
    assert (mid.norm(dim=-1) < z0.norm(dim=-1)).all()  # the straight line cuts inside
    # the angle from z0 grows linearly with t
    cos = (path * z0).sum(-1) / (path.norm(dim=-1) * z0.norm(dim=-1))
    omega = torch.acos(((z0 * z1).sum(-1) / (z0.norm(dim=-1) * z1.norm(dim=-1))))
    torch.testing.assert_close(torch.acos(cos.clamp(-1, 1)), t[:, None] * omega, atol=1e-3, rtol=1e-3)
    # parallel endpoints fall back to lerp
    torch.testing.assert_close(sampling.slerp(z0, 2 * z0, 0.5), 1.5 * z0)


def test_interpolation_grid_shape_and_rows_start_and_end_at_random_latents():
    m = _gan()
    for mode in ("linear", "slerp"):
        x = sampling.interpolation_grid(m, rows=3, steps=5, mode=mode, generator=torch.Generator().manual_seed(1))
        assert x.shape == (15, 1, 8, 8)
    lin = Linear()
    x = sampling.interpolation_grid(lin, rows=2, steps=3, generator=torch.Generator().manual_seed(1))
    # a linear model along a linear path: the middle point is the mean of the ends
    x = x.view(2, 3, 3)
    torch.testing.assert_close(x[:, 1], (x[:, 0] + x[:, 2]) / 2)


def test_latent_arithmetic_is_generate_of_mean_a_minus_mean_b_plus_mean_c():
    lin = Linear()
    g = torch.Generator().manual_seed(0)
    za, zb, zc = (torch.randn(3, 4, generator=g) for _ in range(3))
    out = sampling.latent_arithmetic(lin, za, zb, zc, n_variations=2)
    assert out.shape == (3, 3)
    with torch.no_grad():
        torch.testing.assert_close(out[0], lin.A(za.mean(0) - zb.mean(0) + zc.mean(0)))


def test_arithmetic_by_class_averages_the_latents_the_classifier_is_surest_of():
    lin = Linear()
    with torch.no_grad():  # logits 3 z_0, 3 z_1, 3 z_2: each class has confident latents
        lin.A.weight.copy_(3 * torch.eye(3, 4))
    classifier = nn.Identity()  # the 3 outputs of A z are the logits of classes 0, 1, 2
    g = torch.Generator().manual_seed(1)
    out = sampling.arithmetic_by_class(lin, classifier, (0, 1, 2), per_group=5, pool=200, generator=g)
    assert out.shape == (4 * 5, 3)
    rows = out.view(4, 5, 3)
    for i, c in enumerate((0, 1, 2)):  # each row's samples are the most confident of its class
        assert (torch.log_softmax(rows[i], 1)[:, c] > math.log(0.5)).all()
    z = sampling.prior(lin, 200, torch.Generator().manual_seed(1))
    with torch.no_grad():
        log_p = torch.log_softmax(lin.A(z), 1)
        picked = [z[log_p[:, c].topk(5).indices].mean(0) for c in (0, 1, 2)]
        torch.testing.assert_close(rows[3, 0], lin.A(picked[0] - picked[1] + picked[2]))
    with pytest.raises(GenzooError, match="out of range"):
        sampling.arithmetic_by_class(lin, classifier, (0, 1, 7), per_group=2, pool=20)


def test_class_grid_rows_are_classes_and_columns_share_z():
    m = _gan("cgan")
    x = sampling.class_grid(m, 3, generator=torch.Generator().manual_seed(0))
    assert x.shape == (30, 1, 8, 8)
    assert not torch.allclose(x[0], x[3])  # same z, classes 0 and 1
    with pytest.raises(GenzooError, match="not conditional"):
        sampling.class_grid(_gan(), 2)


def test_sampling_never_changes_batch_norm_statistics_or_the_mode():
    m = _gan()
    m.train()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    sampling.sample_truncated(m, 8, 0.5)
    sampling.interpolation_grid(m, 2, 3)
    assert m.training
    for k, v in m.state_dict().items():
        assert torch.equal(v, before[k]), k


@pytest.mark.slow
def test_controllable_generation_raises_the_target_logit_and_leaves_the_generator_untouched():
    m = _gan()
    torch.manual_seed(1)
    classifier = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))  # any differentiable scorer of images
    before = {k: v.clone() for k, v in m.state_dict().items()}
    z0 = torch.randn(6, m.latent_dim, generator=torch.Generator().manual_seed(2))
    path = sampling.steer(m, classifier, z0, target=2, steps=15, step_size=0.2, return_path=True)
    with torch.no_grad(), sampling.eval_mode(m):
        logit = lambda z: classifier(m.generate(z))[:, 2]  # noqa: E731
        assert (logit(path[-1]) > logit(path[0])).all()
    assert torch.equal(path[0], z0)
    for k, v in m.state_dict().items():  # weights and buffers bitwise unchanged, no gradient left behind
        assert torch.equal(v, before[k]), k
    assert all(p.grad is None for p in m.parameters())
    d = sampling.classifier_direction(m, classifier, z0, target=2)
    torch.testing.assert_close(d.norm(dim=1), torch.ones(6))


def test_models_without_a_latent_space_get_a_clear_error():
    with pytest.raises(GenzooError, match="no latent space"):
        sampling.sample_truncated(nn.Linear(2, 2), 4)


@pytest.mark.slow
def test_cli_sample_modes_write_files(tmp_path, capsys):
    run = tmp_path / "run"
    sets = ["--set", "model.nets.width=8", "--set", "train.sample_every=0", "--set", "model.latent_dim=8"]
    assert main(["train", "cgan", "--data", "digits", "--steps", "2", "--batch-size", "10", "--quiet", "--out",
                 str(run), "--set", "model.nets.hidden=[16]", "--set", "model.nets.d_hidden=[16]", *sets]) == 0
    for argv, name in ([["--mode", "truncated", "--truncation", "0.3"], "truncated0.3-seed0.png"],
                       [["--mode", "slerp", "--rows", "2", "--cols", "4"], "slerp-seed0.png"],
                       [["--mode", "interpolate"], "interpolate-seed0.png"],
                       [["--mode", "class-grid", "--cols", "3"], "class-grid-seed0.png"],
                       [["--n", "9", "--cond", "3"], "sample-seed0.png"],
                       [["--mode", "steer", "--target", "7", "--rows", "2", "--cols", "3"], "steer-seed0.png"],
                       [["--mode", "arithmetic", "--classes", "1,2,3", "--cols", "4"], "arithmetic-seed0.png"]):
        assert main(["sample", str(run), *argv]) == 0, argv
        assert (run / "samples" / name).is_file(), name
    capsys.readouterr()
    assert main(["sample", str(run), "--cond", "12"]) == 2
    assert "--cond 12 is not a class of this run: its data has classes 0..9" in capsys.readouterr().err
    assert main(["sample", str(run), "--mode", "arithmetic", "--classes", "1,2"]) == 2
    assert "--classes A,B,C" in capsys.readouterr().err
    assert main(["sample", str(run), "--mode", "steer"]) == 2
    assert "--target CLASS" in capsys.readouterr().err
    plain = tmp_path / "plain"
    assert main(["train", "dcgan", "--data", "digits", "--steps", "1", "--batch-size", "8", "--quiet", "--out",
                 str(plain), *sets]) == 0
    capsys.readouterr()
    assert main(["sample", str(plain), "--mode", "class-grid"]) == 2
    err = capsys.readouterr().err
    assert "not conditional" in err and len(err.strip().splitlines()) == 1
    for percentile in ("none", "80"):
        assert main(["sample", str(plain), "--mode", "rejection", "--n", "9", "--percentile", percentile]) == 0
        assert "discriminator rejection sampling kept" in capsys.readouterr().out
        assert (plain / "samples" / "rejection-seed0.png").is_file()
    assert main(["sample", str(run), "--mode", "rejection"]) == 2  # cgan: D needs the labels
    err = capsys.readouterr().err
    assert "model.conditional=false" in err and len(err.strip().splitlines()) == 1
    assert main(["sample", str(plain), "--mode", "rejection", "--truncation", "0.5"]) == 2
    assert "drop --cond and --truncation" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["sample", str(plain), "--mode", "rejection", "--percentile", "120"])
    assert "must be a number in [0, 100] or 'none'" in capsys.readouterr().err


class KnownRatio(nn.Module):
    """Proposals x ~ N(0, 1) (1-D) and the exact log ratio of the target N(0, s^2) to them:
    log N(x; 0, s^2) - log N(x; 0, 1) = -log s - x^2 (1/s^2 - 1) / 2, largest at x = 0 (log M = -log s)."""

    def __init__(self, s=0.5):
        super().__init__()
        self.latent_dim, self.s = 1, s

    def generate(self, z, cond=None):
        return z

    def log_density_ratio(self, x):
        return -math.log(self.s) - x[:, 0] ** 2 * (1 / self.s ** 2 - 1) / 2


def test_exact_discriminator_rejection_turns_the_proposal_into_the_target():
    model = KnownRatio(0.5)
    out = sampling.discriminator_rejection_sample(model, 20_000, percentile=None, epsilon=1e-9,
                                                  generator=torch.Generator().manual_seed(0))
    assert out.samples.shape == (20_000, 1)
    assert out.samples.std().item() == pytest.approx(0.5, rel=0.03)
    assert out.acceptance == pytest.approx(0.5, abs=0.02)  # 1 / M with M = 2
    assert out.log_ratio_max == pytest.approx(math.log(2), abs=0.01)


def test_the_percentile_shift_sets_how_strict_the_rejection_is():
    model = KnownRatio(0.5)
    g = torch.Generator().manual_seed(0)
    loose = sampling.discriminator_rejection_sample(model, 5_000, percentile=0.0, generator=g)
    strict = sampling.discriminator_rejection_sample(model, 5_000, percentile=95.0, generator=g)
    # gamma = min F: every proposal is kept with probability >= 1/2, nearly all of them here: the proposal stays
    assert loose.acceptance > 0.9 and loose.samples.std().item() > 0.9
    # gamma = the 95th percentile of F: only proposals near the ratio's peak at 0 survive
    assert strict.acceptance < 0.3 and strict.samples.std().item() < 0.3


def test_discriminator_rejection_on_a_gan_uses_its_discriminator_logits():
    m = _gan("gan", **{"model.nets.generator": "mlp", "model.nets.discriminator": "mlp"})
    x = m.sample(5, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():  # D in eval mode (no dropout), on G's [-1, 1] scale; the mode is restored
        expected = m.D.eval()(x * 2 - 1)
        m.train()
        torch.testing.assert_close(m.log_density_ratio(x), expected)
    assert m.D.training
    out = sampling.discriminator_rejection_sample(m, 10, burn_in=50, batch_size=20,
                                                  generator=torch.Generator().manual_seed(0))
    assert out.samples.shape == (10, 1, 8, 8) and 0 < out.acceptance <= 1


@pytest.mark.parametrize("sets, message", [
    ({"model.loss": "hinge"}, "cross-entropy"),
    ({"model.pack": 2}, "packing"),
    # optimal D = (1 - s) p_data / (p_data + p_G): its logit is not log p_data / p_G
    ({"model.label_smoothing": 0.1}, "label smoothing"),
    # D learns the ratio of the noised densities, not of p_data and p_G
    ({"model.instance_noise.std": 0.1, "model.instance_noise.anneal_steps": 100}, "instance noise"),
])
def test_rejection_sampling_refuses_a_discriminator_that_is_no_density_ratio(sets, message):
    m = _gan("gan", **{"model.nets.generator": "mlp", "model.nets.discriminator": "mlp", **sets})
    with pytest.raises(GenzooError, match=message):
        sampling.discriminator_rejection_sample(m, 4, burn_in=8)


def test_rejection_sampling_needs_a_discriminator():
    with pytest.raises(GenzooError, match="discriminator"):
        sampling.discriminator_rejection_sample(Linear(), 4)


def _truncated_latents(model, n, bound):
    """The latents sample_truncated hands to the model's generate."""
    seen, generate = [], model.generate
    model.generate = lambda z, cond=None: seen.append(z) or generate(z, cond)
    sampling.sample_truncated(model, n, bound, generator=torch.Generator().manual_seed(0))
    return seen[0]


def _model(algorithm, preset, data=DIGITS, **sets):
    from genzoo.models import get_algorithm
    torch.manual_seed(0)
    return get_algorithm(algorithm)(resolve(preset, overrides=sets).model, data)


# a standard normal truncated to [-b, b] has variance 1 - 2 b phi(b) / (2 Phi(b) - 1); at b = 0.5: 0.0797
TRUNCATED_STD_AT_HALF = math.sqrt(1 - 2 * 0.5 * math.exp(-0.125) / math.sqrt(2 * math.pi) / math.erf(0.5 / math.sqrt(2)))


def test_truncation_of_an_autoencoders_fitted_gaussian_is_in_its_units():
    ae = _model("ae", "ae", **{"model.hidden": [16], "model.latent_dim": 4})
    ae.code_mean.fill_(3.0)
    ae.code_var.fill_(4.0)          # std 2: |z - 3| <= 2 * 0.5
    z = _truncated_latents(ae, 4000, 0.5)
    assert (z - 3).abs().max().item() <= 1.0 + 1e-6
    assert z.mean().item() == pytest.approx(3.0, abs=0.02)
    assert z.std().item() == pytest.approx(2 * TRUNCATED_STD_AT_HALF, rel=0.05)


def test_truncation_of_an_aae_gaussian_prior_scales_with_its_std():
    aae = _model("aae", "aae", **{"model.hidden": [16], "model.disc_hidden": [16], "model.prior_std": 5.0})
    z = _truncated_latents(aae, 4000, 0.5)
    assert z.abs().max().item() <= 2.5 + 1e-6
    assert z.std().item() == pytest.approx(5 * TRUNCATED_STD_AT_HALF, rel=0.05)


def test_truncation_of_the_aae_mixture_keeps_each_component_inside_its_bound():
    aae = _model("aae", "aae-mixture", **{"model.hidden": [16], "model.disc_hidden": [16]})
    z = _truncated_latents(aae, 4000, 0.5)
    # component c: mean 1.4 (cos a_c, sin a_c), std 0.5 along the radius and 0.05 across it
    a = (torch.atan2(z[:, 1], z[:, 0]) / (2 * math.pi / 10)).round() * (2 * math.pi / 10)
    radial = z[:, 0] * torch.cos(a) + z[:, 1] * torch.sin(a) - 1.4
    across = -z[:, 0] * torch.sin(a) + z[:, 1] * torch.cos(a)
    assert radial.abs().max().item() <= 0.25 + 1e-5 and across.abs().max().item() <= 0.025 + 1e-5
    assert radial.std().item() == pytest.approx(0.5 * TRUNCATED_STD_AT_HALF, rel=0.05)
    assert len(torch.unique(torch.remainder(a, 2 * math.pi).mul(10 / (2 * math.pi)).round())) == 10


def test_truncation_of_the_swiss_roll_keeps_the_middle_of_each_segment():
    aae = _model("aae", "aae-swissroll", **{"model.hidden": [16], "model.disc_hidden": [16]})
    z = _truncated_latents(aae, 4000, 0.5)
    u = (z.norm(dim=1) / 3) ** 2                     # r = 3 sqrt(u)
    segment, within = (u * 10).floor(), u * 10 - (u * 10).floor()
    kept = math.erf(0.5 / math.sqrt(2))              # the mass of N(0, 1) inside [-0.5, 0.5]: 0.383
    assert (within - 0.5).abs().max().item() <= kept / 2 + 1e-4
    assert sorted(torch.unique(segment).tolist()) == list(range(10))
    angle = 4 * math.pi * u.sqrt()                   # the points lie on the roll
    torch.testing.assert_close(z, 3 * u.sqrt()[:, None] * torch.stack([angle.cos(), angle.sin()], 1), atol=1e-4,
                               rtol=0)


def test_truncation_of_a_gaussian_vae_prior_is_the_standard_one():
    vae = _model("vae", "vae", **{"model.hidden": [16], "model.latent_dim": 4})
    z = _truncated_latents(vae, 4000, 0.5)
    assert z.abs().max().item() <= 0.5 and z.std().item() == pytest.approx(TRUNCATED_STD_AT_HALF, rel=0.05)


def test_truncation_is_refused_for_the_one_hot_prior_of_a_gumbel_vae(tmp_path, capsys):
    vae = _model("vae", "gumbel-vae", **{"model.hidden": [16], "model.latent_dim": 3, "model.categories": 4})
    with pytest.raises(GenzooError, match="one-hot.*no meaning"):
        sampling.sample_truncated(vae, 4, 0.5)


def test_a_cpu_generator_draws_the_same_latents_for_a_model_on_another_device():
    """Benchmarks seed a CPU generator for every model: the draw happens on the generator's device and only the
    result moves (on CUDA, torch.randn refuses a CPU generator). Here the other device is `meta`: the CPU
    stream must advance by the 5 x 3 normals, exactly as a draw on the CPU does."""
    g, same = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    z = sampling.standard_normal(5, 3, generator=g, device="meta")
    torch.randn(5, 3, generator=same)
    assert z.device.type == "meta" and z.shape == (5, 3)
    assert torch.equal(torch.randn(4, generator=g), torch.randn(4, generator=same))
    labels = sampling.on_device(torch.randint, 10, (6,), generator=g, device="meta")   # the AAE's and VAE's classes
    torch.randint(10, (6,), generator=same)
    assert labels.dtype == torch.int64 and torch.equal(torch.rand(3, generator=g), torch.rand(3, generator=same))
    model = _gan()
    assert torch.equal(sampling.prior(model, 2, torch.Generator().manual_seed(1)),
                       torch.randn(2, model.latent_dim, generator=torch.Generator().manual_seed(1)))
