"""RBMs: free energy by hand, CD-k against the exact log-likelihood gradient, PCD chains, training."""
import copy
import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from genzoo.errors import ConfigError
from genzoo.metrics.ais import exact_log_likelihood_gradient, exact_log_z_rbm, rbm_log_likelihood
from genzoo.models.base import Batch, DataSpec, OptimConfig, Optimizers
from genzoo.models.rbm import RBM, RBMConfig


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_rbm(D=10, H=8, std=0.5, seed=0, **kw) -> RBM:
    torch.manual_seed(seed)
    rbm = RBM(RBMConfig(hidden=H, **kw), DataSpec("points", (D,)))
    with torch.no_grad():
        rbm.W.normal_(0, std)
        rbm.b.normal_(0, std)
        rbm.c.normal_(0, std)
    return rbm.double()


def all_states(n):
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)), dtype=torch.float64)


def bars_and_stripes(n=3) -> torch.Tensor:
    """The 2^n + 2^n - 2 bars-and-stripes patterns of an n x n grid (MacKay 2003)."""
    pats = set()
    for bits in itertools.product([0, 1], repeat=n):
        rows = torch.tensor(bits, dtype=torch.float32)[:, None].expand(n, n)
        pats.add(tuple(rows.flatten().tolist()))
        pats.add(tuple(rows.t().flatten().tolist()))
    return torch.tensor(sorted(pats)).reshape(-1, 1, n, n)


# ---- the energy function ----------------------------------------------------------------------

def test_free_energy_hand_computed():
    # W = [[1], [2]], b = [0.5, -1], c = [0.3], v = [1, 0]:
    # F = -b.v - softplus(c + v W) = -0.5 - log(1 + e^1.3)
    rbm = RBM(RBMConfig(hidden=1), DataSpec("points", (2,)))
    with torch.no_grad():
        rbm.W.copy_(torch.tensor([[1.0], [2.0]]))
        rbm.b.copy_(torch.tensor([0.5, -1.0]))
        rbm.c.copy_(torch.tensor([0.3]))
    v = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    expected = [-0.5 - math.log(1 + math.exp(1.3)), -(0.5 - 1.0) - math.log(1 + math.exp(3.3))]
    assert rbm.free_energy(v).tolist() == pytest.approx(expected, abs=1e-6)


def test_gaussian_free_energy_hand_computed():
    # F(v) = ||v - b||^2 / 2 - softplus(c + v W): v = [2, 0], b = [1, 1], W = [[0.5], [1]], c = [0]
    rbm = RBM(RBMConfig(hidden=1, visible="gaussian"), DataSpec("points", (2,)))
    with torch.no_grad():
        rbm.W.copy_(torch.tensor([[0.5], [1.0]]))
        rbm.b.copy_(torch.tensor([1.0, 1.0]))
    assert rbm.free_energy(torch.tensor([[2.0, 0.0]])).item() == pytest.approx(1.0 - math.log(1 + math.e), abs=1e-6)


def test_free_energy_is_minus_log_sum_over_hidden_states():
    rbm = tiny_rbm(D=5, H=4)
    vs, hs = all_states(5), all_states(4)
    energies = torch.stack([rbm.energy(vs, h.expand(len(vs), -1)) for h in hs], 1)
    assert torch.allclose(rbm.free_energy(vs), -torch.logsumexp(-energies, 1), atol=1e-10)


# ---- CD-k against the exact gradient ------------------------------------------------------------

def exact_cd_expectation(rbm, data, k):
    """E[CD-k gradient] of a tiny Bernoulli RBM, exactly: the chain's law after k steps from the data
    is pi_0 T^k with T(v'|v) = sum_h p(h|v) p(v'|h) (enumerated), and the negative statistic is
    <v p(h|v)^T> under it."""
    W, b, c = rbm.W.detach(), rbm.b.detach(), rbm.c.detach()
    vs, hs = all_states(W.shape[0]), all_states(W.shape[1])
    a = vs @ W + c                                                       # (2^D, H)
    p_h_given_v = torch.exp(F.logsigmoid(a) @ hs.t() + F.logsigmoid(-a) @ (1 - hs).t())
    av = hs @ W.t() + b
    p_v_given_h = torch.exp(F.logsigmoid(av) @ vs.t() + F.logsigmoid(-av) @ (1 - vs).t())
    T = p_h_given_v @ p_v_given_h
    index = (data * 2 ** torch.arange(W.shape[0] - 1, -1, -1, dtype=torch.float64)).sum(1).long()
    pi = torch.zeros(len(vs), dtype=torch.float64).index_add_(0, index, torch.full((len(data),), 1 / len(data),
                                                                                   dtype=torch.float64))
    pos_W = data.t() @ torch.sigmoid(data @ W + c) / len(data)
    for _ in range(k):
        pi = pi @ T
    ph = torch.sigmoid(a)
    return {"W": pos_W - (vs * pi[:, None]).t() @ ph,
            "b": data.mean(0) - pi @ vs,
            "c": torch.sigmoid(data @ W + c).mean(0) - pi @ ph}


def grad_error(g, ref):
    return math.sqrt(sum(((g[k] - ref[k]) ** 2).sum().item() for k in ("W", "b", "c")))


def test_cd_k_approaches_the_exact_gradient_as_k_grows():
    rbm = tiny_rbm()
    torch.manual_seed(1)
    data = torch.bernoulli(torch.full((6, 10), 0.5, dtype=torch.float64))
    exact = exact_log_likelihood_gradient(rbm, data)
    errors = {k: grad_error(exact_cd_expectation(rbm, data, k), exact) for k in (1, 3, 10, 30, 100)}
    assert errors[1] > errors[3] > errors[10] > errors[30] > errors[100]
    assert errors[1] > 0.1 and errors[100] < 1e-3


@pytest.mark.slow
def test_implemented_cd_gradient_matches_its_expectation_and_improves_with_k():
    """The code's CD-k (Monte Carlo over 20,000 chains) agrees with the exact CD-k expectation,
    and CD-100's error to the exact gradient is well below CD-1's."""
    rbm = tiny_rbm()
    torch.manual_seed(1)
    data = torch.bernoulli(torch.full((6, 10), 0.5, dtype=torch.float64))
    exact = exact_log_likelihood_gradient(rbm, data)
    v0 = data.repeat(3334, 1)  # 20,004 chains, each data vector equally often
    torch.manual_seed(2)
    mc1, mc100 = rbm.cd_gradient(v0, 1), rbm.cd_gradient(v0, 100)
    noise = 0.05  # a few sigma of a 98-dim Monte Carlo mean over 20,000 chains
    assert grad_error(mc1, exact_cd_expectation(rbm, data, 1)) < noise
    assert grad_error(mc100, exact) < noise < grad_error(mc1, exact)


def test_surrogate_loss_gradient_is_minus_the_cd_statistics():
    rbm = tiny_rbm()
    v0 = torch.bernoulli(torch.full((5, 10), 0.5, dtype=torch.float64))
    vk = torch.bernoulli(torch.full((7, 10), 0.5, dtype=torch.float64))
    loss = rbm.layer.cd_loss(v0, vk)
    gW, gb, gc = torch.autograd.grad(loss, [rbm.W, rbm.b, rbm.c])
    p0, pk = torch.sigmoid(v0 @ rbm.W + rbm.c), torch.sigmoid(vk @ rbm.W + rbm.c)
    assert torch.allclose(-gW, v0.t() @ p0 / 5 - vk.t() @ pk / 7)
    assert torch.allclose(-gb, v0.mean(0) - vk.mean(0))
    assert torch.allclose(-gc, p0.mean(0) - pk.mean(0))


def test_exact_gradient_matches_finite_differences_of_the_exact_likelihood():
    rbm = tiny_rbm(D=6, H=5)
    data = torch.bernoulli(torch.full((4, 6), 0.5, dtype=torch.float64))
    g = exact_log_likelihood_gradient(rbm, data)

    def ll():
        return rbm_log_likelihood(rbm, data, exact_log_z_rbm(rbm))

    eps = 1e-5
    for name, idx in (("W", (2, 3)), ("b", (1,)), ("c", (4,))):
        p = getattr(rbm, name)
        with torch.no_grad():
            p[idx] += eps
            up = ll()
            p[idx] -= 2 * eps
            down = ll()
            p[idx] += eps
        assert (up - down) / (2 * eps) == pytest.approx(g[name][idx].item(), abs=1e-6)


# ---- sampling, features, chains, training -----------------------------------------------------

@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
def test_sample_shapes_and_ranges(visible):
    rbm = RBM(RBMConfig(hidden=6, visible=visible, sample_steps=5), DataSpec("image", (1, 4, 4)))
    rbm.set_data_statistics(torch.rand(20, 1, 4, 4))
    x = rbm.sample(7, generator=torch.Generator().manual_seed(0))
    assert x.shape == (7, 1, 4, 4) and x.min() >= 0 and x.max() <= 1
    y = rbm.sample(7, generator=torch.Generator().manual_seed(0))
    assert torch.equal(x, y)  # the generator makes sampling reproducible
    f = rbm.hidden_features(torch.rand(3, 1, 4, 4))
    assert f.shape == (3, 6) and f.min() >= 0 and f.max() <= 1


def test_hidden_features_are_p_h_given_v():
    rbm = tiny_rbm(D=4, H=3)
    x = torch.rand(5, 4, dtype=torch.float64)  # dynamic binarization: features of the probabilities
    assert torch.allclose(rbm.hidden_features(x), torch.sigmoid(x @ rbm.W + rbm.c))


def test_persistent_chains_are_buffers_in_the_state_dict():
    spec = DataSpec("image", (1, 3, 3))
    cfg = RBMConfig(hidden=5, persistent=True, num_chains=11, cd_k=2)
    rbm = RBM(cfg, spec)
    state = rbm.state_dict()
    assert state["chains"].shape == (11, 9) and not bool(state["chains_ready"])
    opt = Optimizers(rbm.configure_optimizers())
    x = bars_and_stripes(3).float()
    logs = rbm.train_step(Batch(x), opt, 0)
    assert {"recon", "pll", "free_energy_gap"} <= set(logs)
    assert bool(rbm.chains_ready) and rbm.chains.shape == (11, 9)
    assert set(rbm.chains.unique().tolist()) <= {0.0, 1.0}
    other = RBM(cfg, spec)
    other.load_state_dict(rbm.state_dict(), strict=True)
    assert torch.equal(other.chains, rbm.chains) and bool(other.chains_ready)


def test_training_resumes_bitwise_from_state_dict_optimizer_and_rng():
    spec = DataSpec("image", (1, 3, 3))
    cfg = RBMConfig(hidden=6, persistent=True, num_chains=14, momentum_warmup_steps=3)
    x = bars_and_stripes(3).float()

    def run(model, opt, steps):
        for s in steps:
            model.train_step(Batch(x), opt, s)

    torch.manual_seed(0)
    a = RBM(cfg, spec)
    opt_a = Optimizers(a.configure_optimizers())
    run(a, opt_a, range(5))
    saved = ({k: v.clone() for k, v in a.state_dict().items()}, copy.deepcopy(opt_a["rbm"].state_dict()), torch.get_rng_state())
    run(a, opt_a, range(5, 10))
    b = RBM(cfg, spec)
    b.load_state_dict(saved[0])
    opt_b = Optimizers(b.configure_optimizers())
    opt_b["rbm"].load_state_dict(saved[1])
    torch.set_rng_state(saved[2])
    run(b, opt_b, range(5, 10))
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]), k


@pytest.mark.slow
def test_short_training_on_digits_lowers_reconstruction_error():
    from genzoo.data import load_dataset

    ds = load_dataset("digits")
    x = ds.x.float() / 255
    torch.manual_seed(0)
    rbm = RBM(RBMConfig(hidden=64, optim=OptimConfig(name="sgd", lr=0.1, momentum=0.9)), DataSpec("image", ds.shape))
    opt = Optimizers(rbm.configure_optimizers())
    g = torch.Generator().manual_seed(0)
    recon = []
    for step in range(300):
        idx = torch.randint(len(x), (50,), generator=g)
        recon.append(rbm.train_step(Batch(x[idx]), opt, step)["recon"])
    first, last = sum(recon[:10]) / 10, sum(recon[-30:]) / 30
    assert last < 0.75 * first  # (dynamic binarization keeps a noise floor in the error)


@pytest.mark.slow
@pytest.mark.parametrize("persistent,k,lr", [(False, 3, 0.2), (True, 1, 0.1)])
def test_bars_and_stripes_exact_log_likelihood_improves(persistent, k, lr):
    """3x3 bars and stripes: 14 patterns; the best possible mean log-likelihood is -log 14 = -2.64,
    a uniform model's is -9 log 2 = -6.24. Log Z is exact (2^9 visible states)."""
    x = bars_and_stripes(3).float()
    torch.manual_seed(0)
    cfg = RBMConfig(hidden=16, cd_k=k, persistent=persistent, num_chains=100, init_std=0.1, log_pll=False,
                    optim=OptimConfig(name="sgd", lr=lr, momentum=0.5))
    rbm = RBM(cfg, DataSpec("image", (1, 3, 3)))
    opt = Optimizers(rbm.configure_optimizers())
    for step in range(800):
        rbm.train_step(Batch(x), opt, step)
    ll = rbm_log_likelihood(rbm, x, exact_log_z_rbm(rbm))
    assert -4.3 < ll < -math.log(14), ll


def test_config_is_validated():
    with pytest.raises(ConfigError, match="visible"):
        RBM(RBMConfig(visible="poisson"), DataSpec("points", (3,)))
    with pytest.raises(ConfigError, match="binarize"):
        RBM(RBMConfig(binarize="sometimes"), DataSpec("points", (3,)))
    with pytest.raises(ConfigError, match="cd_k"):
        RBM(RBMConfig(cd_k=0), DataSpec("points", (3,)))


@pytest.mark.parametrize("preset", ["rbm", "rbm-pcd", "rbm-gaussian"])
def test_presets_build(preset):
    from genzoo.presets import resolve
    from genzoo.models import get_algorithm

    cfg = resolve(preset)
    assert cfg.algorithm == "rbm" and isinstance(cfg.model, RBMConfig)
    model = get_algorithm("rbm")(cfg.model, DataSpec("image", (1, 28, 28)))
    assert set(model.configure_optimizers()) == {"rbm"}


def test_momentum_switches_after_warmup_and_weight_decay_spares_the_biases():
    cfg = RBMConfig(hidden=3, initial_momentum=0.5, momentum_warmup_steps=2,
                    optim=OptimConfig(name="sgd", lr=0.01, momentum=0.9, weight_decay=1e-3))
    rbm = RBM(cfg, DataSpec("points", (4,)))
    opt = Optimizers(rbm.configure_optimizers())
    groups = opt["rbm"].param_groups
    assert groups[0]["params"][0] is rbm.W and groups[0]["weight_decay"] == 1e-3 and groups[1]["weight_decay"] == 0
    seen = []
    for step in range(4):
        rbm.train_step(Batch(torch.rand(6, 4)), opt, step)
        seen.append(groups[0]["momentum"])
    assert seen == [0.5, 0.5, 0.9, 0.9]


@pytest.mark.parametrize("preset", ["rbm", "rbm-pcd", "rbm-cd25", "rbm-gaussian", "dbm", "dbm-3layer"])
def test_boltzmann_presets_decay_their_learning_rate_to_zero(preset):
    """Algorithm 20.1 asks for momentum with a decaying learning rate; Salakhutdinov & Hinton (2009) take it
    gradually to 0. A DBM preset keeps its configured rate through pretraining and starts Algorithm 20.1 with it."""
    from genzoo.presets import resolve
    from genzoo.training.schedule import lr_factor
    cfg = resolve(preset)
    t = cfg.train
    start = len(cfg.model.hidden) * cfg.model.pretrain_steps if cfg.algorithm == "dbm" else 0
    factor = lambda step: lr_factor(step, t.steps, t.lr_decay, t.lr_final)  # noqa: E731
    assert factor(start) == 1.0
    assert factor(t.steps) == 0.0
    assert 0.0 < factor(t.steps - 1) < factor((start + 3 * t.steps) // 4) < 1.0


@pytest.mark.parametrize("preset, sets", [("rbm", {}), ("dbm", {"model.pretrain_steps": 0}),
                                          ("dbm", {"model.pretrain_steps": 2})])
def test_the_trainer_sets_visible_biases_from_the_first_batch_once(preset, sets, tmp_path):
    from genzoo.presets import resolve
    from genzoo.training import Trainer
    from genzoo.models.rbm import base_rate_logits

    frozen = {"data.name": "digits", "train.steps": 2, "train.batch_size": 50, "train.sample_every": 0,
              "train.checkpoint_every": 0, "model.optim.lr": 1e-9, "model.pretrain_optim.lr": 1e-9, **sets}
    if preset == "rbm":
        frozen = {k: v for k, v in frozen.items() if "pretrain" not in k}
    t = Trainer(resolve(preset, overrides=frozen), out=tmp_path / "run", progress=False, log=lambda *_: None)
    t.setup()
    first, second = t.batches.batch(0).x, t.batches.batch(1).x
    pretrained = sets.get("model.pretrain_steps", 0) > 0
    bias = t.model.rbms[0].b if pretrained else t.model.b[0] if preset == "dbm" else t.model.b
    assert not bias.any()
    t.step()
    t.step()
    p = first.reshape(len(first), -1).mean(0).clamp(1e-3, 1 - 1e-3)   # the marginals, by hand
    if pretrained:   # the binarized batch of the first CD step: within sampling noise of p
        assert (bias - torch.log(p / (1 - p))).abs().mean() < 0.5
    else:
        assert torch.allclose(bias, torch.log(p / (1 - p)), atol=1e-4)
    assert not torch.allclose(bias, base_rate_logits(second.reshape(len(second), -1)))
    t.close()
