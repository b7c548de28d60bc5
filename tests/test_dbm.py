"""DBMs: mean-field fixed point, Algorithm 20.1's update, greedy pretraining's weight doubling, chains."""
import itertools
import math

import pytest
import torch

from genzoo.errors import ConfigError
from genzoo.models.base import Batch, DataSpec, OptimConfig, Optimizers
from genzoo.models.dbm import DBM, DBMConfig, pretraining_copies
from genzoo.models.rbm import RBMLayer


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_dbm(D=6, hidden=(4, 4), std=0.5, seed=0, **kw) -> DBM:
    torch.manual_seed(seed)
    dbm = DBM(DBMConfig(hidden=hidden, **kw), DataSpec("points", (D,)))
    with torch.no_grad():
        for p in dbm.parameters():
            p.normal_(0, std)
    return dbm.double()


def all_states(n):
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)), dtype=torch.float64)


def test_energy_hand_computed():
    # 1 visible, hidden (1, 1): E = -(b0 v + b1 h1 + b2 h2) - v W1 h1 - h1 W2 h2
    dbm = DBM(DBMConfig(hidden=(1, 1)), DataSpec("points", (1,)))
    with torch.no_grad():
        dbm.W[0].fill_(2.0)
        dbm.W[1].fill_(-1.0)
        for b, val in zip(dbm.b, (0.5, 0.25, -0.75)):
            b.fill_(val)
    one = torch.ones(1, 1)
    assert dbm.energy([one, one, one]).item() == pytest.approx(-(0.5 + 0.25 - 0.75) - 2.0 + 1.0)
    assert dbm.energy([one, one, 0 * one]).item() == pytest.approx(-(0.5 + 0.25) - 2.0)


@pytest.mark.parametrize("hidden", [(4, 4), (5, 4, 3)])
def test_mean_field_converges_to_its_fixed_point(hidden):
    dbm = tiny_dbm(hidden=hidden)
    v = torch.bernoulli(torch.full((8, 6), 0.5, dtype=torch.float64))
    mu, iters = dbm.mean_field(v, steps=1000, tol=1e-12)
    assert iters < 1000
    W, b, L = dbm.W, dbm.b, len(hidden)
    states = [v, *mu]
    for l in range(1, L + 1):  # mu_l = sigmoid(mu_{l-1} W_l + mu_{l+1} W_{l+1}^T + b_l)
        a = states[l - 1] @ W[l - 1] + b[l]
        if l < L:
            a = a + states[l + 1] @ W[l].t()
        assert (states[l] - torch.sigmoid(a)).abs().max() < 1e-5
    # 2 layers, written as in Algorithm 20.1: H1 = sigma(V W1 + H2 W2^T), H2 = sigma(H1 W2)
    if L == 2:
        assert torch.allclose(mu[0], torch.sigmoid(v @ W[0] + mu[1] @ W[1].t() + b[1]), atol=1e-5)
        assert torch.allclose(mu[1], torch.sigmoid(mu[0] @ W[1] + b[2]), atol=1e-5)


def test_mean_field_fixed_point_is_a_stationary_point_of_the_variational_bound():
    """d/dmu [-E(v, mu) + H(mu)] = 0 at the fixed point (the bound is what the updates maximize)."""
    dbm = tiny_dbm()
    v = torch.bernoulli(torch.full((3, 6), 0.5, dtype=torch.float64))
    mu, _ = dbm.mean_field(v, steps=1000, tol=1e-13)
    mu = [m.clone().requires_grad_(True) for m in mu]
    bound = -dbm.energy([v, *mu]).sum() + sum((-(m * m.log() + (1 - m) * (1 - m).log())).sum() for m in mu)
    for g in torch.autograd.grad(bound, mu):
        assert g.abs().max() < 1e-6


def test_gibbs_blocks_and_sampling():
    dbm = tiny_dbm(hidden=(4, 3, 2))
    states = [torch.zeros(5, n, dtype=torch.float64) for n in dbm.sizes]
    out = dbm.gibbs_step(states, torch.Generator().manual_seed(0))
    assert [s.shape for s in out] == [(5, 6), (5, 4), (5, 3), (5, 2)]
    assert all(set(s.unique().tolist()) <= {0.0, 1.0} for s in out)
    img = DBM(DBMConfig(hidden=(5, 4), sample_steps=3), DataSpec("image", (1, 3, 3)))
    x = img.sample(7, generator=torch.Generator().manual_seed(0))
    assert x.shape == (7, 1, 3, 3) and 0 <= x.min() and x.max() <= 1
    assert torch.equal(x, img.sample(7, generator=torch.Generator().manual_seed(0)))
    f = img.hidden_features(torch.rand(4, 1, 3, 3))
    assert f.shape == (4, 9) and img.hidden_features(torch.rand(4, 1, 3, 3), layer=2).shape == (4, 4)


def test_gibbs_sweeps_sample_the_model_distribution():
    """Long-run frequencies of the Gibbs chains match p(v) by enumeration (tiny 3-2-2 DBM)."""
    dbm = tiny_dbm(D=3, hidden=(2, 2), std=1.0)
    st = all_states(7)
    logp = -dbm.energy([st[:, :3], st[:, 3:5], st[:, 5:]])
    p_v = torch.zeros(8, dtype=torch.float64).index_add_(
        0, (st[:, :3] @ torch.tensor([4.0, 2.0, 1.0], dtype=torch.float64)).long(), torch.softmax(logp, 0))
    g = torch.Generator().manual_seed(0)
    states = [torch.zeros(4000, n, dtype=torch.float64) for n in dbm.sizes]
    counts = torch.zeros(8, dtype=torch.float64)
    for t in range(60):
        states = dbm.gibbs_step(states, g)
        if t >= 20:
            counts += torch.bincount((states[0] @ torch.tensor([4.0, 2.0, 1.0], dtype=torch.float64)).long(),
                                     minlength=8)
    assert (counts / counts.sum() - p_v).abs().max() < 0.01


def test_train_step_is_algorithm_20_1():
    """The surrogate loss gives dW = <V^T mu1>/m - <V~^T H~1>/m, dW2 = <mu1^T mu2>/m - <H~1^T H~2>/m:
    with plain SGD (lr e, no momentum/decay) W moves by exactly e dW."""
    lr = 0.1
    dbm = tiny_dbm(num_chains=5, gibbs_steps=2, mf_steps=30,
                   optim=OptimConfig(name="sgd", lr=lr, momentum=0.0, weight_decay=0.0),
                   initial_momentum=0.0, base_rate_init=False)
    opt = Optimizers(dbm.configure_optimizers())
    x = torch.rand(8, 6, dtype=torch.float64)
    W0 = [w.detach().clone() for w in dbm.W]
    b0 = [b.detach().clone() for b in dbm.b]
    ref = tiny_dbm(num_chains=5, gibbs_steps=2, mf_steps=30, base_rate_init=False)  # same weights
    torch.manual_seed(3)
    dbm.train_step(Batch(x), opt, 0)
    # replay the step's randomness: binarization, then the chain initialization and Gibbs sweeps
    torch.manual_seed(3)
    V = torch.bernoulli(x)
    mu, _ = ref.mean_field(V)
    idx = torch.randint(8, (5,))
    chains = [s[idx] for s in (V, *[torch.bernoulli(m) for m in mu])]
    for _ in range(2):
        chains = ref.gibbs_step(chains)
    data = [V, *mu]
    for l in range(2):
        dW = data[l].t() @ data[l + 1] / 8 - chains[l].t() @ chains[l + 1] / 5
        assert torch.allclose(dbm.W[l].detach(), W0[l] + lr * dW, atol=1e-10)
    for l in range(3):
        db = data[l].mean(0) - chains[l].mean(0)
        assert torch.allclose(dbm.b[l].detach(), b0[l] + lr * db, atol=1e-10)
    assert torch.equal(dbm.chain1, chains[1])


def test_persistent_chains_are_buffers_in_the_state_dict():
    dbm = DBM(DBMConfig(hidden=(4, 3), num_chains=7), DataSpec("image", (1, 2, 3)))
    state = dbm.state_dict()
    assert [tuple(state[f"chain{l}"].shape) for l in range(3)] == [(7, 6), (7, 4), (7, 3)]
    opt = Optimizers(dbm.configure_optimizers())
    dbm.train_step(Batch(torch.rand(10, 1, 2, 3)), opt, 0)
    assert bool(dbm.chains_ready)
    other = DBM(DBMConfig(hidden=(4, 3), num_chains=7), DataSpec("image", (1, 2, 3)))
    other.load_state_dict(dbm.state_dict(), strict=True)
    assert all(torch.equal(a, b) for a, b in zip(other.chains, dbm.chains))


def test_pretraining_rbms_have_the_papers_doubling():
    assert pretraining_copies(1) == [(1, 1)]
    assert pretraining_copies(2) == [(2, 1), (1, 2)]
    assert pretraining_copies(3) == [(2, 1), (2, 2), (1, 2)]
    torch.manual_seed(0)
    v, h = torch.rand(3, 5).round(), torch.rand(3, 4).round()
    for (mv, mh) in [(2, 1), (2, 2), (1, 2)]:
        r = RBMLayer(5, 4, copies=(mv, mh), init_std=0.5)
        with torch.no_grad():
            r.b.normal_()
            r.c.normal_()
        assert torch.allclose(r.p_h(v), torch.sigmoid(mv * v @ r.W + r.c))
        assert torch.allclose(r.visible_mean(h), torch.sigmoid(mh * h @ r.W.t() + r.b))
        # free energy of the tied copies: -m_v b.v - m_h sum softplus(m_v v W + c)
        F = -mv * v @ r.b - mh * torch.nn.functional.softplus(mv * v @ r.W + r.c).sum(1)
        assert torch.allclose(r.free_energy(v), F)


@pytest.mark.parametrize("hidden", [(4, 3), (4, 3, 2)])
def test_greedy_pretraining_sets_the_dbm_from_the_rbms(hidden):
    P = 3
    L = len(hidden)
    cfg = DBMConfig(hidden=hidden, pretrain_steps=P, num_chains=4,
                    optim=OptimConfig(name="sgd", lr=0.0, momentum=0.0, weight_decay=0.0))
    torch.manual_seed(0)
    dbm = DBM(cfg, DataSpec("image", (1, 2, 3)))
    opt = Optimizers(dbm.configure_optimizers())
    assert set(opt.optimizers) == {"dbm", *[f"pretrain{l}" for l in range(L)]}
    assert [(r.m_v, r.m_h) for r in dbm.rbms] == pretraining_copies(L)
    x = torch.rand(10, 1, 2, 3)
    W_init = [w.detach().clone() for w in dbm.W]
    for step in range(L * P):
        logs = dbm.train_step(Batch(x), opt, step)
        assert logs["pretrain_layer"] == step // P + 1
        assert all(torch.equal(w, w0) for w, w0 in zip(dbm.W, W_init))  # the DBM waits
        for l, r in enumerate(dbm.rbms):  # layer l's RBM is trained during steps [l P, (l + 1) P) only
            assert (r.W.grad is not None) == (l <= step // P)
    assert not bool(dbm.pretrained)
    logs = dbm.train_step(Batch(x), opt, L * P)  # lr 0: the DBM keeps exactly the RBMs' values
    assert logs["pretrain_layer"] == 0 and bool(dbm.pretrained)
    r = dbm.rbms
    for l in range(L):
        assert torch.equal(dbm.W[l], r[l].W)
    assert torch.equal(dbm.b[0], r[0].b)
    assert torch.equal(dbm.b[L], r[L - 1].c)
    for l in range(1, L):
        assert torch.allclose(dbm.b[l], (r[l - 1].c + r[l].b) / 2)


def test_load_rbms_checks_shapes():
    dbm = DBM(DBMConfig(hidden=(4, 3)), DataSpec("points", (5,)))
    with pytest.raises(ConfigError, match="RBMs"):
        dbm.load_rbms([RBMLayer(5, 4)])


@pytest.mark.slow
def test_short_training_on_digits_lowers_reconstruction_error():
    from genzoo.data import load_dataset

    ds = load_dataset("digits")
    x = ds.x.float() / 255
    torch.manual_seed(0)
    cfg = DBMConfig(hidden=(64, 64), pretrain_steps=150, num_chains=50, mf_steps=5,
                    pretrain_optim=OptimConfig(name="sgd", lr=0.1, momentum=0.9, weight_decay=2e-4),
                    optim=OptimConfig(name="sgd", lr=0.02, momentum=0.9, weight_decay=2e-4))
    dbm = DBM(cfg, DataSpec("image", ds.shape))
    opt = Optimizers(dbm.configure_optimizers())
    g = torch.Generator().manual_seed(0)
    recon = []
    for step in range(450):
        idx = torch.randint(len(x), (50,), generator=g)
        logs = dbm.train_step(Batch(x[idx]), opt, step)
        recon.append(logs["recon"])
    first, rbm_end, dbm_end = sum(recon[:10]) / 10, sum(recon[140:150]) / 10, sum(recon[-30:]) / 30
    assert rbm_end < 0.8 * first            # the bottom RBM learned
    assert dbm_end < 0.8 * first            # and the DBM's mean-field reconstruction is good too
    assert all(math.isfinite(r) for r in recon)


def test_config_is_validated():
    with pytest.raises(ConfigError, match="hidden"):
        DBM(DBMConfig(hidden=()), DataSpec("points", (3,)))
    with pytest.raises(ConfigError, match="mf_init"):
        DBM(DBMConfig(mf_init="random"), DataSpec("points", (3,)))


@pytest.mark.parametrize("preset", ["dbm", "dbm-3layer"])
def test_presets_build(preset):
    from genzoo.presets import resolve
    from genzoo.models import get_algorithm

    cfg = resolve(preset)
    assert cfg.algorithm == "dbm" and isinstance(cfg.model, DBMConfig)
    assert cfg.train.steps > len(cfg.model.hidden) * cfg.model.pretrain_steps  # budget covers pretraining
    model = get_algorithm("dbm")(cfg.model, DataSpec("image", (1, 28, 28)))
    assert "dbm" in model.configure_optimizers()


def test_momentum_warms_up_in_each_phase():
    cfg = DBMConfig(hidden=(3, 2), pretrain_steps=3, num_chains=4, initial_momentum=0.5, momentum_warmup_steps=2,
                    pretrain_optim=OptimConfig(name="sgd", lr=0.01, momentum=0.7),
                    optim=OptimConfig(name="sgd", lr=0.01, momentum=0.9))
    dbm = DBM(cfg, DataSpec("points", (4,)))
    opt = Optimizers(dbm.configure_optimizers())
    names = ["pretrain0"] * 3 + ["pretrain1"] * 3 + ["dbm"] * 3
    expected = [0.5, 0.5, 0.7, 0.5, 0.5, 0.7, 0.5, 0.5, 0.9]
    for step, (name, m) in enumerate(zip(names, expected)):
        dbm.train_step(Batch(torch.rand(5, 4)), opt, step)
        assert opt[name].param_groups[0]["momentum"] == m, step
