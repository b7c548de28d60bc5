"""The Boltzmann machines' likelihood on binarized MNIST: the test log-likelihood of an RBM and the variational
lower bound of a DBM, with log Z by AIS, at snapshots over training (a curve against CPU time), and their checks
(the RBM's AIS/RAISE bracket; the DBM's second AIS estimate, RAISE and linear probe).

Settings: ais_betas, ais_runs (the AIS estimate), curve_points, test_n (test images; None: all), and
  rbm: bracket_betas (none: no bracket), raise_n;  dbm: check_betas (0: none), raise_n (0: none), probe_n.
"""
from __future__ import annotations

import time
from types import SimpleNamespace

import torch

from common import Snapshots, binarized_once, load_mnist, log_z_curve, print_log_z, rbm_bracket, scored_snapshots
from genzoo.metrics.ais import ais_log_z, dbm_lower_bound, rbm_log_likelihood
from genzoo.training import Hook
from measuring import Context, metric

RBM_PAPER = {25: -86.34, 3: -106.63, 1: -125.53}   # Salakhutdinov & Murray 2008, Table 1, CD-k RBMs, 500 units


class WholeSetStatistics(Hook):
    """Before the first step: the model's data statistics (base-rate visible biases) from all of `x`."""

    def __init__(self, x: torch.Tensor):
        self.x = x

    def on_start(self, trainer) -> None:
        trainer.model.set_data_statistics(self.x)


class PhaseTimes(Hook):
    """Wall-clock seconds of each training phase: the pretraining of each layer, then the DBM."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    def on_start(self, trainer) -> None:
        self._last = time.perf_counter()

    def on_step_end(self, trainer, values: dict[str, float]) -> None:
        phase = f"pretrain layer {int(values['pretrain_layer'])}" if values["pretrain_layer"] else "DBM"
        now = time.perf_counter()
        self.seconds[phase] = self.seconds.get(phase, 0.0) + now - self._last
        self._last = now


def mnist(ctx: Context) -> SimpleNamespace:
    """The splits on the run's device, the training images as intensities in [0, 1], the first test_n test
    images binarized once, and the generator whose stream the training images' binarization continues."""
    cfg = ctx.planned.config()
    device = torch.device(cfg.train.device if cfg.train.device != "auto" else
                          "cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(ctx.planned.seed)
    train, test = load_mnist(ctx.root)
    x_test, g = binarized_once(test.x, ctx.settings["test_n"])
    return SimpleNamespace(train=train, test=test, x_train=(train.x.float() / 255).to(device),
                           x_test=x_test.to(device), g=g, device=device, cfg=cfg)


def likelihood_result(benchmark: str, row: str, values: tuple, optional: tuple, paper: str,
                      rows: dict, settings: dict, records: dict) -> dict:
    """A likelihood benchmark's file from the one run of its row (one seed: the papers' protocol): `values`, those
    of `optional` the run has, its protocol, its AIS estimate and the paper's number. A spec's `result` is this
    function with the first five arguments given (functools.partial)."""
    run = rows[row]["runs"][-1]
    picked = {k: run[k] for k in values} | {k: run[k] for k in optional if k in run}
    picked["train_minutes"] = round(run["train_minutes"])
    picked["n_seeds"] = 1   # the values of one run
    return {"benchmark": benchmark, "protocol": run["protocol"], "values": picked, "ais": run["ais"], "paper": paper}


def options(ctx: Context) -> SimpleNamespace:
    """The settings and the run's seed as the AIS helpers of common.py read them."""
    return SimpleNamespace(**ctx.settings, seed=ctx.planned.seed)


def rbm_hooks(ctx: Context) -> list:
    data = ctx.own["data"] = mnist(ctx)
    steps, points = data.cfg.train.steps, ctx.settings["curve_points"]
    ctx.own["snapshots"] = Snapshots(steps * i // points for i in range(1, points + 1))
    return [WholeSetStatistics(data.x_train), ctx.own["snapshots"]]


@metric("rbm_ais", hooks=rbm_hooks)
def rbm_ais(ctx: Context) -> dict:
    """The RBM's test log-likelihood mean(-F(v)) - log Z at each snapshot (the last: the trained RBM), its train
    log-likelihood, and the bracket of forward AIS and RAISE."""
    data, s, m = ctx.own["data"], ctx.settings, ctx.planned.config().model
    model, batch, n_train = ctx.model.eval(), data.cfg.train.batch_size, len(data.x_train)
    curve, ais, ais_time = scored_snapshots(
        model, ctx.own["snapshots"], data.x_train, betas=s["ais_betas"], runs=s["ais_runs"], seed=ctx.planned.seed + 1,
        measure=lambda m, ais: rbm_log_likelihood(m, data.x_test, ais), name="test_ll",
        first=lambda step: {"epochs": round(step * batch / n_train, 1)})
    x_train_bin = torch.bernoulli(data.x_train[: len(data.x_test)].cpu(), generator=data.g).to(data.device)
    bracket = rbm_bracket(model, data.x_train, data.x_test, options(ctx), RBM_PAPER.get(m.cd_k, RBM_PAPER[25]))
    print_log_z(ais, options(ctx))
    steps = data.cfg.train.steps
    return {"method": f"{'PCD' if m.persistent else 'CD'}-{m.cd_k}", "epochs": round(steps * batch / n_train, 1),
            "test_ll": curve[steps]["test_ll"], "train_ll": round(rbm_log_likelihood(model, x_train_bin, ais), 2),
            "log_z": round(ais.log_z, 2), "log_w_std": round(ais.log_w_std, 2), "log_z_hi": round(ais.log_z_high, 2),
            "ais_s": round(ais_time), "batch_size": batch, "test_n": len(data.x_test), "curve": curve, **bracket,
            "ais": ais.to_dict(), "protocol": rbm_protocol(data, ctx)}


def rbm_protocol(data, ctx: Context) -> str:
    m, t, s = data.cfg.model, data.cfg.train, ctx.settings
    return (f"RBM with {m.hidden} hidden units, {'PCD' if m.persistent else 'CD'}-{m.cd_k} on dynamically binarized "
            f"MNIST ({data.train.source}); SGD lr {m.optim.lr} (decayed as `genzoo train` does), momentum "
            f"{m.optim.momentum}, weight decay {m.optim.weight_decay}, batch {t.batch_size}, {t.steps:,} steps "
            f"({t.steps * t.batch_size / len(data.x_train):.0f} epochs), {torch.get_num_threads()} CPU thread(s), "
            f"seed {ctx.planned.seed}; log Z by AIS from the base-rate model with {s['ais_betas']:,} inverse "
            f"temperatures and {s['ais_runs']} runs; the test images binarized once (seed 1234); test "
            f"log-likelihood = mean(-F(v)) - log Z over {len(data.x_test):,} test images")


def dbm_hooks(ctx: Context) -> list:
    data = ctx.own["data"] = mnist(ctx)
    pretrained = len(data.cfg.model.hidden) * data.cfg.model.pretrain_steps
    steps, points = data.cfg.train.steps - pretrained, ctx.settings["curve_points"]
    ctx.own["snapshots"] = Snapshots(pretrained + steps * i // (points - 1) for i in range(points))
    ctx.own["phases"] = PhaseTimes()
    return [ctx.own["phases"], ctx.own["snapshots"]]


@metric("dbm_ais", hooks=dbm_hooks)
def dbm_ais(ctx: Context) -> dict:
    """The DBM's test lower bound -E(v, mu) + H(mu) - log Z at each snapshot (the last: the trained DBM), its
    train bound, a second AIS estimate, RAISE on a few test images, and the linear probe's test errors."""
    data, s = ctx.own["data"], ctx.settings
    model, batch, n_train = ctx.model.eval(), data.cfg.train.batch_size, len(data.x_train)
    pretrained = len(data.cfg.model.hidden) * data.cfg.model.pretrain_steps
    curve, ais, ais_time = scored_snapshots(
        model, ctx.own["snapshots"], data.x_train, betas=s["ais_betas"], runs=s["ais_runs"], seed=ctx.planned.seed + 1,
        measure=lambda m, ais: dbm_lower_bound(m, data.x_test, ais), name="test_bound",
        first=lambda step: {"dbm_steps": step - pretrained, "epochs": round(step * batch / n_train, 1)})
    checks = {**check_log_z(model, data, ctx), **raise_check(model, data, ais, ctx), **dbm_bracket(model, data, ctx)}
    x_train_bin = torch.bernoulli(data.x_train[: len(data.x_test)].cpu(), generator=data.g).to(data.device)
    n, err_dbm, err_pix = probe_errors(model, data, s["probe_n"], ctx.planned.seed)
    print_log_z(ais, options(ctx))
    return {"epochs": round(data.cfg.train.steps * batch / n_train), "test_bound": curve[data.cfg.train.steps]["test_bound"],
            "train_bound": round(dbm_lower_bound(model, x_train_bin, ais), 2), "log_z": round(ais.log_z, 2),
            "log_w_std": round(ais.log_w_std, 2), "log_z_hi": round(ais.log_z_high, 2),
            "probe_dbm": round(err_dbm, 2), "probe_pixels": round(err_pix, 2),
            "phase_seconds": {k: round(v, 1) for k, v in ctx.own["phases"].seconds.items()}, "ais_s": round(ais_time),
            "curve": curve, **checks, "ais": ais.to_dict(), "protocol": dbm_protocol(data, ctx, n)}


def dbm_protocol(data, ctx: Context, n_probe: int) -> str:
    m, t, s = data.cfg.model, data.cfg.train, ctx.settings
    pretrain = m.pretrain_optim
    return (f"DBM {'-'.join(map(str, [data.train.x[0].numel(), *m.hidden]))} on dynamically binarized MNIST "
            f"({data.train.source}): greedy pretraining with doubled-weight RBMs (CD-{m.pretrain_cd_k}, "
            f"{m.pretrain_steps:,} steps per layer, lr {pretrain.lr}), then "
            f"{t.steps - len(m.hidden) * m.pretrain_steps:,} steps of Algorithm 20.1 (mean field with {m.mf_steps} "
            f"iterations, {m.num_chains} persistent chains, {m.gibbs_steps} Gibbs sweeps, SGD lr {m.optim.lr} "
            f"decayed as `genzoo train` does), batch {t.batch_size}, {torch.get_num_threads()} CPU thread(s), seed "
            f"{ctx.planned.seed}; the variational lower bound on log p(v) with log Z by AIS ({s['ais_betas']:,} inverse "
            f"temperatures, {s['ais_runs']} runs) over {len(data.x_test):,} test images binarized once (seed 1234)"
            + (f"; as a check, log Z again by AIS with {s['check_betas']:,} temperatures and new runs"
               if s["check_betas"] else "") +
            f"; a logistic-regression probe on the mean-field posteriors of {n_probe:,} training images, scored on "
            "the 10,000 test images")


def check_log_z(model, data, ctx: Context) -> dict:
    """The trained model's log Z by AIS again, with check_betas temperatures and new runs, and the test bound
    under it: AIS underestimates log Z when its chain anneals too fast, so a higher estimate with more
    temperatures means the first was too low and the bound too high."""
    if not ctx.settings["check_betas"]:
        return {}
    ais = ais_log_z(model, data=data.x_train, betas=ctx.settings["check_betas"], n_runs=ctx.settings["ais_runs"],
                    generator=torch.Generator(device=data.device).manual_seed(ctx.planned.seed + 2))
    bound = dbm_lower_bound(model, data.x_test, ais)
    print(f"check: log Z with {ais.n_betas:,} temperatures {ais.log_z:.2f} (std log w {ais.log_w_std:.2f}), "
          f"test bound {bound:.2f}", flush=True)
    return {"check_betas": ais.n_betas, "check_log_z": round(ais.log_z, 2),
            "check_log_w_std": round(ais.log_w_std, 2), "check_test_bound": round(bound, 2)}


def raise_check(model, data, ais, ctx: Context) -> dict:
    """RAISE (genzoo.metrics.bdmc) on the first raise_n test images with ais_betas temperatures: a conservative
    estimate of log p(v) itself, beside the variational bound (forward AIS's log Z) on the same images."""
    from genzoo.metrics.bdmc import raise_log_likelihood

    if not ctx.settings["raise_n"]:
        return {}
    sub = data.x_test[:ctx.settings["raise_n"]]
    est = raise_log_likelihood(model, sub, data=data.x_train, betas=ctx.settings["ais_betas"], batch=500,
                               generator=torch.Generator(device=data.device).manual_seed(ctx.planned.seed + 3))
    bound = dbm_lower_bound(model, sub, ais)
    print(f"RAISE on {len(sub)} test images: {est.log_likelihood:.2f} (conservative), the bound there {bound:.2f}",
          flush=True)
    return {"raise_ll": round(est.log_likelihood, 2), "raise_n": len(sub), "raise_bound": round(bound, 2)}


def dbm_bracket(model, data, ctx: Context) -> dict:
    """Forward and reverse over a growing number of temperatures (bracket_betas; none: skipped): log Z by forward
    AIS until it moves by less than 0.1 nats, and on the first raise_n test images the variational bound with that
    log Z (forward) beside RAISE's conservative estimate of log p(v) (reverse), at the last count."""
    if not ctx.settings.get("bracket_betas"):
        return {}
    curve = log_z_curve(model, data.x_train, data.x_test, options(ctx))
    last = curve["log_z_curve"][-1]
    return {**curve, "bracket_ais_ll": round(last["ais_ll"], 2), "bracket_raise_ll": round(last["raise_ll"], 2)}


def probe_error(f_train, y_train, f_test, y_test, seed: int) -> float:
    """Test error (%) of a multinomial logistic regression on standardized features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, C=0.1, random_state=seed))
    clf.fit(f_train, y_train)
    return 100.0 * (1.0 - clf.score(f_test, y_test))


def probe_errors(model, data, probe_n: int, seed: int) -> tuple[int, float, float]:
    """The linear probe's test error on the DBM's mean-field posteriors and on raw pixels, and its training images."""
    train, test = data.train, data.test
    n = min(probe_n, len(data.x_train))
    f_train = model.hidden_features(data.x_train[:n]).cpu().numpy()
    f_test = model.hidden_features((test.x.float() / 255).to(data.device)).cpu().numpy()
    y_train, y_test = train.y[:n].numpy(), test.y.numpy()
    err_pix = probe_error(train.x[:n].reshape(n, -1).float().numpy() / 255, y_train,
                          test.x.reshape(len(test), -1).float().numpy() / 255, y_test, seed)
    return n, probe_error(f_train, y_train, f_test, y_test, seed), err_pix
