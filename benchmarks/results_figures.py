"""The figures of the results pages, drawn from the result files into docs/assets/."""
from __future__ import annotations

from pathlib import Path

from results_tables import TTQ_MODELS

ROOT = Path(__file__).resolve().parent.parent


def time_to_quality_figure(result: dict):
    """FD against minutes of training (both axes log), one panel per measured model: each contestant's
    median over the seeds as a line, each seed's point faint, the target as a dashed line."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    models = [(key, name) for key, name in TTQ_MODELS if key in result.get("models", {})]
    fig, axes = plt.subplots(1, len(models), figsize=(4.4 * len(models), 3.8), squeeze=False)
    for ax, (key, name) in zip(axes[0], models):
        entry = result["models"][key]
        for who, label, color in (("genzoo", f"genzoo {key}", "C0"), ("reference", f"plain {name} loop", "0.45")):
            curve = entry["contestants"][who]["curve"]
            ax.plot([c["minutes"] for c in curve], [c["fd"] for c in curve], "o-", color=color, label=label)
            seeds = [p for c in curve for p in c["seeds"]]
            ax.scatter([p["minutes"] for p in seeds], [p["fd"] for p in seeds], s=12, color=color, alpha=0.3)
        last = entry["contestants"]["reference"]["curve"][-1]["budget_minutes"]
        ax.axhline(entry["target_fd"], color="k", linestyle="--", linewidth=0.8,
                   label=f"target: the plain loop at {last:.3g} min")
        ax.set_xscale("log")
        ax.set_yscale("log")
        budgets = sorted({c["budget_minutes"] for who in ("genzoo", "reference")
                          for c in entry["contestants"][who]["curve"]})
        ax.set_xticks(budgets)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))   # 1, 2, 5, 10, 20, ...: labels that do not crowd
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        seeds = len(entry["settings"]["seeds"])
        ax.set_title(f"{name}: median of {seeds} seed{'s' if seeds > 1 else ''}\n{entry['cpu']}", fontsize=10)
        ax.set_xlabel(f"minutes of training ({entry['settings']['clock']} clock)")
        ax.set_ylabel("FD in classifier features")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def boltzmann_curve_figure(result: dict, published: dict):
    """A Boltzmann machine's test log-likelihood (or bound) against the CPU minutes training had used,
    with the paper's number as a dashed line."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = result["values"]
    name, paper, ylabel = (("test_ll", "sm_rbm_cd25", "test log-likelihood (nats)") if "test_ll" in values
                           else ("test_bound", "sh_dbm", "test lower bound on log p(v) (nats)"))
    # the DBM's end-of-pretraining point lies hundreds of nats below: it would flatten the rest (it is in the table)
    points = sorted((c for c in values["curve"].values() if c.get("dbm_steps", 1) > 0), key=lambda c: c["cpu_minutes"])
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    ax.plot([c["cpu_minutes"] for c in points], [c[name] for c in points], "o-", label="genzoo")
    if "check_test_bound" in values:   # the trained model's bound under the second, slower AIS estimate
        ax.plot([points[-1]["cpu_minutes"]], [values["check_test_bound"]], "s", color="C3",
                label=f"the same model, log Z with {values['check_betas']:,} temperatures")
    cited = published["rows"][paper]
    ax.axhline(cited["ll"], color="k", linestyle="--", linewidth=0.8, label=cited["cite"])
    ax.set_xlabel(f"CPU minutes of training ({result['hardware']['cpu']}, "
                  f"{result['hardware']['torch_threads']} thread)")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def log_z_curve_figure(result: dict):
    """Forward and reverse AIS against the number of inverse temperatures. Left: log Z by forward AIS (E[log Ẑ]
    <= log Z) and, for an RBM, the log Z that RAISE implies. Right: on the first raise_n test images, the
    log-likelihood (an RBM) or variational bound (a DBM) with forward AIS's log Z beside RAISE's conservative
    estimate of log p(v), the bracket shaded between them."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = result["values"]
    rows = values["log_z_curve"]
    k = [r["betas"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.6, 3.6))
    left.plot(k, [r["log_z"] for r in rows], "o-", label="forward AIS (E[log Ẑ] ≤ log Z)")
    if all("log_z_raise" in r for r in rows):
        left.plot(k, [r["log_z_raise"] for r in rows], "s-", color="C3", label="implied by RAISE (conservative)")
        left.fill_between(k, [r["log_z"] for r in rows], [r["log_z_raise"] for r in rows], color="C3", alpha=0.12)
    left.set_ylabel("log Z (nats)")
    forward = "log-likelihood" if "test_ll" in values else "variational bound"
    right.plot(k, [r["ais_ll"] for r in rows], "o-", label=f"{forward} with forward AIS's log Z")
    right.plot(k, [r["raise_ll"] for r in rows], "s-", color="C3", label="RAISE (conservative)")
    right.fill_between(k, [r["ais_ll"] for r in rows], [r["raise_ll"] for r in rows], color="C3", alpha=0.12)
    right.set_ylabel(f"nats per image, first {values['raise_n']} test images")
    return with_log_x(fig, (left, right), "inverse temperatures")


def iwae_curve_figure(result: dict, published: dict):
    """The IWAE's test NLL (± its standard error) against CPU-hours of training along Burda et al.'s schedule, each
    point labelled with its epochs, beside the paper's number after 3,280 epochs."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    rows = sorted(result["rows"].values(), key=lambda r: r["epochs"])
    paper = published["rows"]["burda_iwae_k50"]
    hours = [r["train_cpu_minutes"] / 60 for r in rows]
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    ax.errorbar(hours, [r["nll"] for r in rows], yerr=[r["nll_se"] for r in rows], fmt="o-", capsize=3,
                label="genzoo `iwae`, train.lr_schedule=burda, 1 thread")
    for r in rows:
        ax.annotate(f"{r['epochs']:,} ep.", (r["train_cpu_minutes"] / 60, r["nll"]), textcoords="offset points",
                    xytext=(3, 6), fontsize=8, rotation=40)   # slanted: the late points lie close together
    ax.axhline(paper["nll"], color="C3", linestyle="--", label=f"{paper['cite']}, {paper['epochs']:,} epochs")
    ax.set_ylabel("test NLL, k = 5000 (nats)")
    fig = with_log_x(fig, (ax,), "CPU-hours of training")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))   # 0.01, 0.1, 1 rather than powers of ten
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(min(hours) / 1.5, max(hours) * 2)   # room for the labels of the first and last points
    ax.margins(y=0.12)
    return fig


def with_log_x(fig, axes, xlabel: str):
    """The figure with each of its axes on a log x scale labelled `xlabel`, a light grid and a legend."""
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


TTQ_PLOT = "time-to-quality.png"    # drawn from time_to_quality.json
RBM_PLOT, DBM_PLOT = "rbm-curve.png", "dbm-curve.png"
RBM_LOG_Z_PLOT, DBM_LOG_Z_PLOT = "rbm-log-z.png", "dbm-log-z.png"
IWAE_CURVE_PLOT = "iwae-curve.png"
#: plots under docs/assets/: {file name: (the result file it is drawn from, how)}
PLOTS = {TTQ_PLOT: ("time_to_quality", lambda results: time_to_quality_figure(results["time_to_quality"])),
         RBM_PLOT: ("rbm_mnist", lambda results: boltzmann_curve_figure(results["rbm_mnist"], results["published"])),
         DBM_PLOT: ("dbm_mnist", lambda results: boltzmann_curve_figure(results["dbm_mnist"], results["published"])),
         RBM_LOG_Z_PLOT: ("rbm_mnist", lambda results: log_z_curve_figure(results["rbm_mnist"])),
         DBM_LOG_Z_PLOT: ("dbm_mnist", lambda results: log_z_curve_figure(results["dbm_mnist"])),
         IWAE_CURVE_PLOT: ("iwae_curve", lambda results: iwae_curve_figure(results["iwae_curve"], results["published"]))}
#: plots drawn only once their result file's values hold these
PLOT_NEEDS = {RBM_LOG_Z_PLOT: ("log_z_curve",), DBM_LOG_Z_PLOT: ("log_z_curve",)}


def plot_paths(results: dict[str, dict]) -> list[Path]:
    """The plots whose result file (and the values they need in it) exist."""
    def drawable(name: str, file: str) -> bool:
        return file in results and all(need in results[file].get("values", {}) for need in PLOT_NEEDS.get(name, ()))
    return [ROOT / "docs" / "assets" / name for name, (file, _) in PLOTS.items() if drawable(name, file)]


def plots(results: dict[str, dict]) -> dict[Path, object]:
    """{path: figure} for each plot whose result file exists."""
    return {path: PLOTS[path.name][1](results) for path in plot_paths(results)}

