"""The Boltzmann benchmarks' curves over training: snapshots of one run, each scored as the model
at that step would be scored."""
import sys
from types import SimpleNamespace
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from common import Snapshots, rbm_bracket, scored_snapshots  # noqa: E402

from common import train_timed  # noqa: E402
from genzoo.presets import resolve  # noqa: E402
from genzoo.metrics.ais import ais_log_z, exact_log_z_rbm, rbm_log_likelihood  # noqa: E402
from genzoo.metrics.bdmc import exact_samples  # noqa: E402
from genzoo.models.base import DataSpec  # noqa: E402
from genzoo.models.rbm import RBM, RBMConfig  # noqa: E402

# a constant rate: the first 3 steps of a 6-step run are then exactly a 3-step run
SETS = {"data.name": "digits", "train.batch_size": 16, "train.lr_decay": 0, "model.hidden": 8, "model.cd_k": 1}


def _rbm(steps: int, hooks=()):
    return train_timed(resolve("rbm", overrides={**SETS, "train.steps": steps}), hooks=hooks, log=lambda *_: None)


def _score(model, x, data):
    ais = ais_log_z(model, data=data, betas=30, n_runs=4, generator=torch.Generator().manual_seed(5))
    return rbm_log_likelihood(model, x, ais)


def test_each_curve_point_is_the_score_of_a_run_stopped_at_that_step(one_thread):
    snapshots = Snapshots([3, 6])
    model = _rbm(6, hooks=[snapshots]).model.eval()
    assert [step for step, _, _ in snapshots.taken] == [3, 6]
    seconds = [cpu for _, cpu, _ in snapshots.taken]
    assert 0 < seconds[0] <= seconds[1]

    data = torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    x = torch.bernoulli(data, generator=torch.Generator().manual_seed(1))
    short, full = _rbm(3).model.eval(), {k: v.clone() for k, v in model.state_dict().items()}
    curve, ais, _ = scored_snapshots(model, snapshots, data, betas=30, runs=4, seed=5, name="test_ll",
                                     measure=lambda m, ais: rbm_log_likelihood(m, x, ais),
                                     first=lambda step: {"half": step // 2})

    assert list(curve) == [3, 6]
    assert curve[3] == {"half": 1, "cpu_minutes": round(seconds[0] / 60, 1), "test_ll": round(_score(short, x, data), 2)}
    assert curve[6]["test_ll"] == round(_score(model, x, data), 2)
    assert curve[3]["test_ll"] != curve[6]["test_ll"]
    # the model is left as trained, and the returned estimate is the last snapshot's
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, full[key], rtol=0, atol=0)
    assert rbm_log_likelihood(model, x, ais) == pytest.approx(curve[6]["test_ll"], abs=0.005)


def test_the_rbm_bracket_holds_the_exact_likelihood_and_judges_the_paper_by_its_conservative_end(one_thread):
    torch.manual_seed(0)
    rbm = RBM(RBMConfig(hidden=8), DataSpec("points", (10,)))
    with torch.no_grad():
        for p in (rbm.W, rbm.b, rbm.c):
            p.normal_(0, 1.0)
    data = exact_samples(rbm, 200, torch.Generator().manual_seed(9))[0]
    test = exact_samples(rbm, 300, torch.Generator().manual_seed(3))[0]
    exact = rbm_log_likelihood(rbm, test, exact_log_z_rbm(rbm))
    args = SimpleNamespace(bracket_betas=[3000, 30, 300], ais_runs=100, raise_n=50, seed=0)
    b = rbm_bracket(rbm, data, test, args, paper=exact)   # the same seeds give the same bracket each call
    assert [r["betas"] for r in b["log_z_curve"]][0] == 30   # the counts run in increasing order
    neg_f, last = rbm_log_likelihood(rbm, test, 0.0), b["log_z_curve"][-1]   # the whole test set's mean(-F)
    assert b["bracket_low"] == pytest.approx(neg_f - last["log_z_raise"], abs=0.006)
    assert b["bracket_high"] == pytest.approx(neg_f - last["log_z"], abs=0.006) and b["raise_n"] == 50
    assert abs(b["bracket_low"] - exact) < 0.1 and abs(b["bracket_high"] - exact) < 0.1
    assert b["bracket_moved"] < 0.1 or len(b["log_z_curve"]) == 3
    assert rbm_bracket(rbm, data, test, args, paper=b["bracket_low"] + 0.01)["verdict"].startswith("does not beat")
    assert rbm_bracket(rbm, data, test, args, paper=b["bracket_low"] - 0.01)["verdict"].startswith("beats")


def test_the_dbm_bracket_puts_raise_beside_the_forward_bound_on_the_same_images(one_thread):
    from genzoo.metrics.ais import dbm_lower_bound, exact_log_z_dbm
    from genzoo.models.dbm import DBM, DBMConfig
    from measures_boltzmann import dbm_bracket

    torch.manual_seed(0)
    dbm = DBM(DBMConfig(hidden=(4, 4)), DataSpec("points", (6,)))
    with torch.no_grad():
        for p in dbm.parameters():
            p.normal_(0, 1.0)
    data = SimpleNamespace(x_train=exact_samples(dbm, 200, torch.Generator().manual_seed(9))[0],
                           x_test=exact_samples(dbm, 300, torch.Generator().manual_seed(3))[0])
    ctx = SimpleNamespace(settings={"bracket_betas": [1000, 10, 100], "ais_runs": 100, "raise_n": 40},
                          planned=SimpleNamespace(seed=0))
    b = dbm_bracket(dbm, data, ctx)
    assert [r["betas"] for r in b["log_z_curve"]][0] == 10 and b["raise_n"] == 40   # counts in increasing order
    last = b["log_z_curve"][-1]
    assert b["bracket_betas"] == last["betas"] and b["bracket_raise_ll"] == round(last["raise_ll"], 2)
    # forward: the variational bound on the 40 RAISE images with the forward log Z, near the exact-Z bound
    exact_bound = dbm_lower_bound(dbm, data.x_test[:40], exact_log_z_dbm(dbm))
    assert abs(b["bracket_ais_ll"] - exact_bound) < 0.1
    assert b["log_z_curve"][0]["raise_ll"] < last["raise_ll"]   # reverse: conservative, less so as the anneal slows
    assert dbm_bracket(dbm, data, SimpleNamespace(settings={"bracket_betas": []}, planned=ctx.planned)) == {}
