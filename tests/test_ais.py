"""AIS against exact enumeration on tiny RBMs and DBMs; the likelihood functions on hand-checkable facts."""
import copy
import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from genzoo.metrics.ais import (AISError, ais_log_z, dbm_lower_bound, default_betas, exact_log_z_dbm,
                                exact_log_z_rbm, rbm_log_likelihood)
from genzoo.metrics.bdmc import exact_samples, log_z_convergence, raise_log_likelihood, reverse_ais_log_z
from genzoo.models.base import DataSpec
from genzoo.models.dbm import DBM, DBMConfig
from genzoo.models.rbm import RBM, RBMConfig


pytestmark = pytest.mark.usefixtures("one_thread")


def random_rbm(D=10, H=8, std=0.5, seed=0, visible="bernoulli") -> RBM:
    torch.manual_seed(seed)
    rbm = RBM(RBMConfig(hidden=H, visible=visible), DataSpec("points", (D,)))
    with torch.no_grad():
        for p in (rbm.W, rbm.b, rbm.c):
            p.normal_(0, std)
    return rbm


def random_dbm(D=6, hidden=(4, 4), std=0.5, seed=0) -> DBM:
    torch.manual_seed(seed)
    dbm = DBM(DBMConfig(hidden=hidden), DataSpec("points", (D,)))
    with torch.no_grad():
        for p in dbm.parameters():
            p.normal_(0, std)
    return dbm


def all_states(n):
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)), dtype=torch.float64)


def brute_force_log_z(energy, sizes):
    st = all_states(sum(sizes))
    parts = list(torch.split(st, sizes, dim=1))
    return torch.logsumexp(-energy(parts), 0).item()


# ---- exact enumeration ---------------------------------------------------------------------------

def test_exact_log_z_of_rbm_equals_the_sum_over_all_joint_states():
    rbm = random_rbm(D=6, H=5).double()
    assert exact_log_z_rbm(rbm) == pytest.approx(brute_force_log_z(lambda s: rbm.energy(*s), [6, 5]), abs=1e-10)
    wide = random_rbm(D=4, H=7).double()  # enumerates the visible layer instead
    assert exact_log_z_rbm(wide) == pytest.approx(brute_force_log_z(lambda s: wide.energy(*s), [4, 7]), abs=1e-10)


@pytest.mark.parametrize("D,hidden", [(6, (4, 4)), (3, (5, 4, 2))])
def test_exact_log_z_of_dbm_equals_the_sum_over_all_joint_states(D, hidden):
    dbm = random_dbm(D, hidden).double()
    assert exact_log_z_dbm(dbm) == pytest.approx(brute_force_log_z(dbm.energy, [D, *hidden]), abs=1e-10)


def test_zero_model_has_log_z_of_the_uniform_distribution():
    rbm = RBM(RBMConfig(hidden=3), DataSpec("points", (4,)))
    with torch.no_grad():
        rbm.W.zero_()
    assert exact_log_z_rbm(rbm) == pytest.approx(7 * math.log(2))


def test_gaussian_rbm_log_z_against_numerical_integration():
    rbm = random_rbm(D=1, H=2, visible="gaussian").double()
    v = torch.linspace(-30, 30, 200001, dtype=torch.float64)[:, None]
    integral = torch.logsumexp(-rbm.free_energy(v), 0).item() + math.log(60 / 200000)
    assert exact_log_z_rbm(rbm) == pytest.approx(integral, abs=1e-6)


def test_exact_log_likelihood_is_normalized():
    rbm = random_rbm(D=5, H=4)
    v = all_states(5).float()
    log_z = exact_log_z_rbm(rbm)
    total = torch.logsumexp(-rbm.free_energy(v).double() - log_z, 0).item()
    assert total == pytest.approx(0.0, abs=1e-5)
    assert rbm_log_likelihood(rbm, v, log_z) == pytest.approx((-rbm.free_energy(v).double()).mean().item() - log_z)


def test_dbm_lower_bound_is_below_the_exact_log_likelihood():
    dbm = random_dbm().double()
    log_z = exact_log_z_dbm(dbm)
    v = torch.bernoulli(torch.full((5, 6), 0.5, dtype=torch.float64), generator=torch.Generator().manual_seed(0))
    hs = all_states(8)
    exact = []
    for row in v:  # log p(v) = log sum_h exp(-E(v, h)) - log Z
        e = dbm.energy([row.expand(len(hs), -1), hs[:, :4], hs[:, 4:]])
        exact.append(torch.logsumexp(-e, 0).item() - log_z)
    exact = sum(exact) / len(exact)
    bound = dbm_lower_bound(dbm, v, log_z)
    assert bound <= exact + 1e-9
    assert exact - bound < 0.5  # mean field is a good approximation here


# ---- AIS -------------------------------------------------------------------------------------------

def test_default_betas_follow_the_papers_schedule():
    b = default_betas()
    assert len(b) == 14501 and b[0] == 0 and b[-1] == 1 and (b[1:] > b[:-1]).all()
    assert (b <= 0.5).sum() == 501 and ((b > 0.5) & (b <= 0.9)).sum() == 4000
    short = default_betas(1450)
    assert len(short) == 1451 and (short <= 0.5).sum() == 51


def test_ais_matches_enumeration_on_a_tiny_rbm():
    rbm = random_rbm()  # 10 visible, 8 hidden, W ~ N(0, 0.5^2)
    data = torch.bernoulli(torch.full((50, 10), 0.3), generator=torch.Generator().manual_seed(5))
    res = ais_log_z(rbm, data=data, betas=1000, n_runs=100, generator=torch.Generator().manual_seed(0))
    exact = exact_log_z_rbm(rbm)
    assert abs(res.log_z - exact) < 0.1
    assert res.log_z_low <= res.log_z <= res.log_z_high
    assert res.n_runs == 100 and res.n_betas == 1001 and res.log_w.shape == (100,)


@pytest.mark.parametrize("D,hidden", [(6, (4, 4)), (5, (4, 3, 3))])
def test_ais_matches_enumeration_on_a_tiny_dbm(D, hidden):
    dbm = random_dbm(D, hidden)
    res = ais_log_z(dbm, betas=1000, n_runs=100, generator=torch.Generator().manual_seed(0))
    assert abs(res.log_z - exact_log_z_dbm(dbm)) < 0.1


def test_ais_matches_enumeration_on_a_tiny_gaussian_rbm():
    rbm = random_rbm(D=4, H=6, visible="gaussian")
    rbm.set_data_statistics(torch.randn(200, 4, generator=torch.Generator().manual_seed(1)) * 2 + 1)
    res = ais_log_z(rbm, data=torch.randn(200, 4) * 2 + 1, betas=1000, n_runs=100,
                    generator=torch.Generator().manual_seed(0))
    assert abs(res.log_z - exact_log_z_rbm(rbm)) < 0.1


def test_ais_is_exact_for_a_model_equal_to_its_base():
    """A zero-weight RBM is its base-rate model times uniform hiddens: every weight is the same."""
    rbm = RBM(RBMConfig(hidden=3), DataSpec("points", (4,)))
    data = torch.tensor([[1.0, 0, 0, 1], [1, 1, 0, 0], [1, 0, 1, 1], [0, 0, 0, 1]])
    with torch.no_grad():
        rbm.W.zero_()
        rbm.b.copy_(torch.log(data.mean(0).clamp(1e-3, 1 - 1e-3)) - torch.log1p(-data.mean(0).clamp(1e-3, 1 - 1e-3)))
    res = ais_log_z(rbm, data=data, betas=50, n_runs=10)
    assert res.log_z == pytest.approx(exact_log_z_rbm(rbm), abs=1e-5)
    assert res.log_w_std < 1e-5


def test_ais_refuses_bad_arguments():
    rbm = random_rbm(D=3, H=2)
    with pytest.raises(AISError, match="betas"):
        ais_log_z(rbm, betas=torch.tensor([0.0, 0.7, 0.5, 1.0]))
    with pytest.raises(AISError, match="RBM or a DBM"):
        ais_log_z(torch.nn.Linear(2, 2))


# ---- brackets: reverse AIS from exact samples (BDMC) and RAISE -------------------------------------

def hard_rbm():
    return random_rbm(std=1.0)   # 10 visible, 8 hidden: far enough from its base that a short anneal is biased


def test_exact_samples_follow_the_models_distribution():
    rbm = random_rbm(D=3, H=4, std=1.0)
    v = exact_samples(rbm, 40000, torch.Generator().manual_seed(0))[0].double()
    states = all_states(3)
    p = torch.softmax(-rbm.double().free_energy(states), 0)
    freq = (v[:, None, :] == states[None]).all(-1).double().mean(0)
    assert (freq - p).abs().max() < 0.01   # 4 standard errors of a frequency near 0.25 with 40,000 draws
    dbm = random_dbm(D=2, hidden=(3, 2), std=1.0).double()
    s = exact_samples(dbm, 40000, torch.Generator().manual_seed(1))
    assert sorted(s) == [0, 2]
    joint = all_states(7)   # p(v, h2) by brute force, h1 summed out
    e = dbm.energy([joint[:, :2], joint[:, 2:5], joint[:, 5:]])
    logp = torch.logsumexp(-e, 0)
    pv = torch.exp(torch.logsumexp(-e.view(4, 8, 4), (1, 2)) - logp)   # joint rows are ordered (v, h1, h2)
    fv = (s[0][:, None, :] == all_states(2)[None]).all(-1).double().mean(0)
    assert (fv - pv).abs().max() < 0.01


def per_run_bracket(fwd, rev):
    """The bracket of the one-run estimates averaged over the runs: log Z_A + mean(log w) forward (E <= log Z)
    and reverse (E >= log Z); the M-run estimates lie inside it (a log-mean-exp is at least the mean)."""
    return fwd.log_z_base + fwd.log_w.mean().item(), rev.log_z_base + rev.log_w.mean().item()


def test_forward_and_reverse_ais_bracket_the_exact_log_z_of_a_tiny_rbm():
    rbm = random_rbm(std=1.0)   # 10 visible, 8 hidden, annealed from the uniform base: far from the model
    exact = exact_log_z_rbm(rbm)
    widths = []
    for K in (3, 30, 300):
        fwd = ais_log_z(rbm, betas=K, n_runs=400, generator=torch.Generator().manual_seed(K))
        start = exact_samples(rbm, 400, torch.Generator().manual_seed(K + 1))
        rev = reverse_ais_log_z(rbm, start, betas=K, generator=torch.Generator().manual_seed(K + 2))
        low, high = per_run_bracket(fwd, rev)
        assert low < exact < high
        assert low <= fwd.log_z and rev.log_z <= high
        widths.append(high - low)
    assert widths[0] > widths[1] > widths[2]


def test_forward_and_reverse_ais_bracket_the_exact_log_z_of_a_tiny_dbm():
    dbm = random_dbm(6, (4, 4), std=1.0)
    exact = exact_log_z_dbm(dbm)
    widths = []
    for K in (3, 300):
        fwd = ais_log_z(dbm, betas=K, n_runs=400, generator=torch.Generator().manual_seed(K))
        rev = reverse_ais_log_z(dbm, exact_samples(dbm, 400, torch.Generator().manual_seed(K + 1)), betas=K,
                                generator=torch.Generator().manual_seed(K + 2))
        low, high = per_run_bracket(fwd, rev)
        assert low < exact < high
        widths.append(high - low)
    assert widths[0] > widths[1]


def annealing_model_log_p(rbm, data, K):
    """log p_ann(v) over all v of a tiny Bernoulli RBM, by propagating the distribution of the forward chain:
    x_1 ~ p_0, x_(k+1) ~ T_k(. | x_k) with T_k the Gibbs sweep v -> h -> v at beta_k."""
    W, b, c = (t.detach().double() for t in (rbm.W, rbm.b, rbm.c))
    p = data.double().mean(0).clamp(1e-3, 1 - 1e-3)
    b_a = torch.log(p) - torch.log1p(-p)
    vs, hs = all_states(W.shape[0]), all_states(W.shape[1])

    def bern(states, logits):   # rows: conditioning states; columns: the states' probabilities
        return torch.exp(states @ F.logsigmoid(logits).t() + (1 - states) @ F.logsigmoid(-logits).t()).t()

    pi = bern(vs, b_a[None])[0]
    betas = default_betas(K).tolist()
    for beta in betas[1:-1]:
        p_h = bern(hs, beta * (vs @ W + c))                      # (v, h)
        p_v = bern(vs, (1 - beta) * b_a + beta * (hs @ W.t() + b))   # (h, v)
        pi = pi @ p_h @ p_v
    return torch.log(pi)


def test_raise_estimates_the_annealing_models_likelihood_from_below():
    rbm = random_rbm(D=6, H=4, std=1.0)
    data = exact_samples(rbm, 200, torch.Generator().manual_seed(2))[0]
    log_p_ann = annealing_model_log_p(rbm, data, 20)
    test, at = all_states(6)[::7].float(), log_p_ann[::7].mean().item()
    many = raise_log_likelihood(rbm, test, data=data, betas=20, n_chains=2000, generator=torch.Generator().manual_seed(0))
    assert many.log_likelihood == pytest.approx(at, abs=0.05)   # consistent as the chains grow
    one = [raise_log_likelihood(rbm, test, data=data, betas=20, generator=torch.Generator().manual_seed(s)).log_likelihood
           for s in range(20)]
    assert sum(one) / len(one) < at   # one chain: Jensen's gap below the annealing model
    log_p = -rbm.double().free_energy(all_states(6)) - exact_log_z_rbm(rbm)
    assert (log_p.exp() * log_p_ann).sum() < (log_p.exp() * log_p).sum()   # on the model's own data p_ann fits worse


def test_raise_and_forward_ais_bracket_the_exact_test_log_likelihood_of_a_tiny_rbm():
    """Test data drawn from the model, where RAISE's assumption holds on average; one-run forward estimates
    averaged over the runs (the optimistic side), one RAISE chain per example (the conservative side)."""
    rbm = random_rbm(std=1.0)
    test = exact_samples(rbm, 400, torch.Generator().manual_seed(3))[0]
    neg_f = rbm_log_likelihood(rbm, test, 0.0)
    exact = neg_f - exact_log_z_rbm(rbm)
    widths = []
    for K in (3, 30, 300):
        fwd = ais_log_z(rbm, betas=K, n_runs=400, generator=torch.Generator().manual_seed(K))
        optimistic = neg_f - (fwd.log_z_base + fwd.log_w.mean().item())
        conservative = raise_log_likelihood(rbm, test, betas=K,
                                            generator=torch.Generator().manual_seed(K + 3)).log_likelihood
        assert conservative < exact < optimistic
        widths.append(optimistic - conservative)
    assert widths[0] > widths[1] > widths[2]


def exact_dbm_test_log_likelihood(dbm, test: torch.Tensor) -> tuple[float, float]:
    """log Z and the mean log p(v) over `test` of a DBM 6-4-4, both by enumerating its 2^8 hidden states."""
    log_z = exact_log_z_dbm(dbm)
    hs, d64 = all_states(8), copy.deepcopy(dbm).double()
    return log_z, sum(torch.logsumexp(-d64.energy([v.double().expand(256, -1), hs[:, :4], hs[:, 4:]]), 0).item()
                      for v in test) / len(test) - log_z


def test_raise_on_a_tiny_dbm_lies_below_its_exact_log_likelihood():
    dbm = random_dbm(6, (4, 4), std=1.0)
    test = exact_samples(dbm, 50, torch.Generator().manual_seed(4))[0]
    log_z, exact = exact_dbm_test_log_likelihood(dbm, test)
    est = raise_log_likelihood(dbm, test, betas=1000, generator=torch.Generator().manual_seed(0))
    assert exact - 0.3 < est.log_likelihood <= exact
    assert dbm_lower_bound(dbm, test, log_z) <= exact


def test_log_z_convergence_stops_once_the_estimate_settles():
    rbm = hard_rbm()
    data = exact_samples(rbm, 200, torch.Generator().manual_seed(9))[0]
    rows = log_z_convergence(rbm, data=data, betas=(10, 100, 1000, 10000, 100000), n_runs=50, tol=0.1, exact=True,
                             test=data, raise_n=20, log=lambda *_: None)
    assert [r["betas"] for r in rows][:2] == [10, 100] and len(rows) < 5   # 100,000 temperatures never run
    assert abs(rows[-1]["log_z"] - rows[-2]["log_z"]) < 0.1
    assert all(r["log_z"] <= r["log_z_rev"] and r["raise_ll"] <= r["ais_ll"] for r in rows)


def test_log_z_convergence_brackets_a_tiny_dbms_exact_log_z_and_scores_raise_beside_the_bound():
    dbm = random_dbm(6, (4, 4), std=1.0)
    test = exact_samples(dbm, 50, torch.Generator().manual_seed(4))[0]
    log_z, exact = exact_dbm_test_log_likelihood(dbm, test)
    rows = log_z_convergence(dbm, betas=(10, 100, 1000), n_runs=200, exact=True, test=test, raise_n=50,
                             log=lambda *_: None)
    last = rows[-1]
    assert last["log_z"] - 0.1 < log_z < last["log_z_rev"] + 0.1 and last["log_z_rev"] - last["log_z"] < 0.2
    assert exact - 0.3 < last["raise_ll"] < exact + 0.05   # RAISE: at most sampling noise above log p(v)
    # the variational bound with the forward log Z: at most log p(v) up to the forward estimate's shortfall
    assert last["ais_ll"] <= exact + (log_z - last["log_z"]) + 1e-9
    assert "log_z_raise" not in last   # a DBM has no closed-form free energy


def test_reverse_ais_and_exact_samples_refuse_bad_arguments():
    rbm = random_rbm(D=3, H=2)
    with pytest.raises(AISError, match="even layers"):
        reverse_ais_log_z(random_dbm(), {0: torch.zeros(2, 6)}, betas=10)
    with pytest.raises(AISError, match="2\\^"):
        exact_samples(random_rbm(D=30, H=30), 2)
    with pytest.raises(AISError, match="at least one example"):
        raise_log_likelihood(rbm, torch.zeros(0, 3), betas=10)
