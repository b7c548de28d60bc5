"""AIS against exact enumeration on tiny RBMs and DBMs; the likelihood functions on hand-checkable facts."""
import itertools
import math

import pytest
import torch

from genzoo.metrics.ais import (AISError, ais_log_z, dbm_lower_bound, default_betas, exact_log_z_dbm,
                                exact_log_z_rbm, rbm_log_likelihood)
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


@pytest.mark.slow
def test_ais_matches_enumeration_on_a_tiny_rbm():
    rbm = random_rbm()  # 10 visible, 8 hidden, W ~ N(0, 0.5^2)
    data = torch.bernoulli(torch.full((50, 10), 0.3), generator=torch.Generator().manual_seed(5))
    res = ais_log_z(rbm, data=data, betas=1000, n_runs=100, generator=torch.Generator().manual_seed(0))
    exact = exact_log_z_rbm(rbm)
    assert abs(res.log_z - exact) < 0.1
    assert res.log_z_low <= res.log_z <= res.log_z_high
    assert res.n_runs == 100 and res.n_betas == 1001 and res.log_w.shape == (100,)


@pytest.mark.slow
@pytest.mark.parametrize("D,hidden", [(6, (4, 4)), (5, (4, 3, 3))])
def test_ais_matches_enumeration_on_a_tiny_dbm(D, hidden):
    dbm = random_dbm(D, hidden)
    res = ais_log_z(dbm, betas=1000, n_runs=100, generator=torch.Generator().manual_seed(0))
    assert abs(res.log_z - exact_log_z_dbm(dbm)) < 0.1


@pytest.mark.slow
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
