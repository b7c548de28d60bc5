"""Render the result pages of the documentation from the JSON files in benchmarks/results/.

    python benchmarks/render_results.py            # rewrite docs/results/*.md and the README's results block
    python benchmarks/render_results.py --check    # exit 1 if a committed page differs from its rendering

Every number on the results pages, and in the README's results teaser, comes from a JSON file
that a benchmark command wrote (or, for the papers' numbers, `published.json`). A result file
holds:

    {"benchmark": "gan_mnist_fd",                 # the script under benchmarks/
     "command": "python benchmarks/...",           # the exact command that produced the numbers
     "protocol": "...", "hardware": "...",         # what was measured, and on what
     "source": "...",                              # how the numbers reached this file
     "values": {"floor": 0.28, ...},               # single numbers
     "rows": {"dcgan": {"fd": 18.89, ...}, ...}}   # one entry per table row

This file says which tables exist and which rows and columns they show, so a table whose result
file (or row, or field) is missing still appears, reading "not measured".
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from genzoo.experiments import names as experiment_names

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
PAGES_DIR = ROOT / "docs" / "results"
README = ROOT / "README.md"
NOT_MEASURED = "not measured"
TEASER_START, TEASER_END = "<!-- results: start -->", "<!-- results: end -->"


@dataclass(frozen=True)
class Row:
    """A table row: its label, and where its fields come from: a result file's "rows" entry
    `key`, its "values", or `published.json`'s row `key` (a paper's number)."""
    label: str
    key: str = ""
    source: str = "rows"  # "rows" | "values" | "published"
    cells: tuple[str, ...] = ()  # this row's own templates, instead of the table's columns
    beside: str = ""      # a published.json row shown with this one, its fields as {published_FIELD}
    file: str = ""        # the row `key` of this other result file: one run shown in two tables


@dataclass(frozen=True)
class Table:
    anchor: str
    title: str
    file: str                                  # benchmarks/results/<file>.json
    rows: tuple[Row, ...]
    columns: tuple[tuple[str, str], ...]       # (header, format template over a row's fields)
    text: str = ""                             # prose above the table (no numbers: they belong in the JSON)
    notes: tuple[str, ...] = ()                # templates over the file's "values" (and "rows"), below the table
    filled_row_by_row: bool = False            # rows measured by separate commands: only measured rows must be full


@dataclass(frozen=True)
class Page:
    path: str                                  # under docs/results/
    title: str
    intro: str
    tables: tuple[Table, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Headline:
    text: str                                  # a template over the whole result file ("{rows[dcgan][fd]}")
    file: str
    link: str                                  # page#anchor under docs/results/


class JsonKeys(dict):
    """A JSON object for str.format: `{curve[2000]}` asks for the int 2000, and JSON keys are strings."""

    def __getitem__(self, key):
        value = super().__getitem__(str(key) if isinstance(key, int) and key not in self else key)
        return JsonKeys(value) if isinstance(value, dict) else value


def fill(template: str, fields: dict | None, missing: str = NOT_MEASURED) -> str:
    """`template` formatted with `fields`; `missing` when the fields (or any one it names) are absent."""
    if fields is None:
        return missing
    try:
        return template.format_map(JsonKeys(fields))
    except (KeyError, IndexError, TypeError, ValueError):
        return missing


def load_results(results_dir: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(results_dir.glob("*.json"))}


def row_fields(row: Row, result: dict | None, published: dict | None) -> tuple[dict | None, str]:
    """The fields a row is filled from, and what an absent field reads as."""
    if row.beside:   # the paper's number stays on the page while genzoo's is not measured yet
        paper = (published or {}).get("rows", {}).get(row.beside, {})
        fields, missing = row_fields(replace(row, beside=""), result, published)
        return {**{f"published_{k}": v for k, v in paper.items()}, **(fields or {})}, missing
    if row.source == "published":
        return (published or {}).get("rows", {}).get(row.key), ""
    if result is None:
        return None, NOT_MEASURED
    if row.source == "values":
        return result.get("values"), NOT_MEASURED
    return result.get("rows", {}).get(row.key), NOT_MEASURED


def markdown_cell(text: str) -> str:
    """`text` as a Markdown table cell: a bare | (as in q(y|x)) would end the cell."""
    return re.sub(r"(?<!\\)\|", r"\\|", text)


def render_table(table: Table, results: dict[str, dict]) -> str:
    result, published = results.get(table.file), results.get("published")
    lines = [f'<a id="{table.anchor}"></a>', "", f"## {table.title}", ""]
    if table.text:
        lines += [table.text, ""]
    lines.append("| " + " | ".join(h for h, _ in table.columns) + " |")
    lines.append("|" + "---|" * len(table.columns))
    for row in table.rows:
        fields, missing = row_fields(row, results.get(row.file) if row.file else result, published)
        label = fill(row.label, fields, missing=NOT_MEASURED if "{" in row.label else row.label)
        templates = row.cells or tuple(template for _, template in table.columns[1:])
        cells = [fill(template, fields, missing) for template in templates]
        lines.append("| " + " | ".join(markdown_cell(cell) for cell in [label, *cells]) + " |")
    lines.append("")
    if result is None:
        lines += [f"**Not measured:** there is no result file `benchmarks/results/{table.file}.json`.", ""]
        return "\n".join(lines)
    for note in table.notes:   # over the file's values, and its rows as {rows[key][field]}
        lines += [fill(note, {**result.get("values", {}), "rows": result.get("rows", {})}), ""]
    lines += [f"- **Command:** `{result['command']}`", *row_commands(table, result), *rows_from_files(table, results),
              f"- **Protocol:** {result['protocol']}",
              f"- **Hardware:** {describe(result['hardware'])}",
              f"- **Result file:** `benchmarks/results/{table.file}.json` "
              f"({result.get('source') or 'written by the command'})", ""]
    return "\n".join(lines)


def row_commands(table: Table, result: dict) -> list[str]:
    """A line for each command other than the file's that wrote rows of the table, naming its rows and how
    their numbers came; a row whose runs (seeds) came from several commands names them all."""
    keys_by_command, rows = {}, result.get("rows", {})
    for row in {row.key: row for row in table.rows if not row.file}.values():   # a key shown twice is named once
        made = rows.get(row.key, {}) if row.source == "rows" else {}
        commands = tuple(dict.fromkeys(run["command"] for run in made.get("runs", ()) if "command" in run)) \
            or (made.get("command", result["command"]),)
        if commands != (result["command"],):
            how = "; ".join(filter(None, (made.get("source"), made.get("protocol") and f"protocol: {made['protocol']}",
                                          made.get("hardware") and f"hardware: {describe(made['hardware'])}")))
            keys_by_command.setdefault((commands, how), []).append(row.key)
    return [f"- **Command{'s' * (len(commands) > 1)} of the row{'s' * (len(keys) > 1)} {', '.join(keys)}:** "
            + "; ".join(f"`{command}`" for command in commands) + (f" ({how})" if how else "")
            for (commands, how), keys in keys_by_command.items()]


def rows_from_files(table: Table, results: dict[str, dict]) -> list[str]:
    """A line for each row shown from another result file, naming that file and the row's command."""
    lines = []
    for row in (row for row in table.rows if row.file):
        made = results.get(row.file, {}).get("rows", {}).get(row.key)
        lines.append(f"- **The row {row.key}** is the row of `benchmarks/results/{row.file}.json`"
                     + (f", written by `{made.get('command', results[row.file]['command'])}`" if made else
                        f": {NOT_MEASURED}"))
    return lines


def describe(value) -> str:
    """A result's hardware or environment: a sentence as it is, a dict as "key: value" pairs."""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items() if v is not None)
    return str(value)


def render_page(page: Page, results: dict[str, dict]) -> str:
    head = ["<!-- Generated by benchmarks/render_results.py from benchmarks/results/*.json; do not edit. -->",
            "", f"# {page.title}", "", page.intro, ""]
    return "\n".join(head + [render_table(t, results) for t in page.tables]).rstrip("\n") + "\n"


def render_headlines(results: dict[str, dict], prefix: str) -> str:
    lines = []
    for h in HEADLINES:
        result = results.get(h.file)
        lines.append(f"- {fill(h.text, result)} ([details]({prefix}{h.link}))")
    return "\n".join(lines) + "\n"


def render_index(results: dict[str, dict]) -> str:
    head = ["<!-- Generated by benchmarks/render_results.py from benchmarks/results/*.json; do not edit. -->", "",
            "# Results", "", INDEX_INTRO, "", "## Headlines", "", render_headlines(results, ""), "## Pages", ""]
    head += [f"- [{p.title}]({p.path}): " + ", ".join(t.title for t in p.tables) for p in PAGES]
    return "\n".join(head) + "\n"


def render_readme(readme: str, results: dict[str, dict]) -> str:
    """The README with its results block (between the two markers) rendered again."""
    start, end = readme.find(TEASER_START), readme.find(TEASER_END)
    if start < 0 or end < start:
        raise SystemExit(f"README.md lacks the markers {TEASER_START} ... {TEASER_END}")
    block = render_headlines(results, "docs/results/")
    return readme[: start + len(TEASER_START)] + "\n" + block + readme[end:]


def render_all(results_dir: Path = RESULTS, readme: str | None = None) -> dict[str, str]:
    """{path relative to the repository: text} for every generated file."""
    results = load_results(results_dir)
    out = {f"docs/results/{p.path}": render_page(p, results) for p in PAGES}
    out["docs/results/index.md"] = render_index(results)
    if readme is not None:
        out["README.md"] = render_readme(readme, results)
    return out


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
    """log Z against the number of AIS temperatures: forward AIS (a stochastic lower bound) and the log Z that
    RAISE implies (conservative), the bracket shaded between them."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["values"]["log_z_curve"]
    k = [r["betas"] for r in rows]
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    ax.plot(k, [r["log_z"] for r in rows], "o-", label="forward AIS (E[log Ẑ] ≤ log Z)")
    if all("log_z_raise" in r for r in rows):
        ax.plot(k, [r["log_z_raise"] for r in rows], "s-", color="C3", label="implied by RAISE (conservative)")
        ax.fill_between(k, [r["log_z"] for r in rows], [r["log_z_raise"] for r in rows], color="C3", alpha=0.12)
    ax.set_xscale("log")
    ax.set_xlabel("inverse temperatures")
    ax.set_ylabel("log Z (nats)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_paths(results: dict[str, dict]) -> list[Path]:
    """The plots whose result file (and the values they need in it) exist."""
    def drawable(name: str, file: str) -> bool:
        return file in results and all(need in results[file].get("values", {}) for need in PLOT_NEEDS.get(name, ()))
    return [ROOT / "docs" / "assets" / name for name, (file, _) in PLOTS.items() if drawable(name, file)]


def plots(results: dict[str, dict]) -> dict[Path, object]:
    """{path: figure} for each plot whose result file exists."""
    return {path: PLOTS[path.name][1](results) for path in plot_paths(results)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="compare with the committed files instead of writing")
    args = ap.parse_args()
    rendered = render_all(readme=README.read_text())
    stale = [path for path, text in rendered.items()
             if not (ROOT / path).exists() or (ROOT / path).read_text() != text]
    results = load_results(RESULTS)
    if args.check:   # a plot is checked for presence only, so it is not drawn
        missing = [path.relative_to(ROOT) for path in plot_paths(results) if not path.exists()]
        for path in stale + missing:
            print(f"{path} {'is missing' if path in missing else 'differs from its rendering'}; "
                  "run python benchmarks/render_results.py")
        stale += missing
        return 1 if stale else 0
    for path in stale:
        (ROOT / path).parent.mkdir(parents=True, exist_ok=True)
        (ROOT / path).write_text(rendered[path])
        print(f"wrote {path}")
    for path, figure in plots(results).items():
        figure.savefig(path, dpi=110, metadata={"Software": None})
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


# ---------------------------------------------------------------------------------------------
# The tables. Text here carries no numbers: every number is a field of a result file.

TOY_COLUMNS = (("", ""), ("modes", "{modes:.1f} ± {modes_se:.1f}"), ("% high quality", "{hq:.1f} ± {hq_se:.1f}"),
               ("reverse KL", "{kl:.3f} ± {kl_se:.3f}"), ("CPU-s per run", "{cpu_s:,}"))
PUBLISHED_TOY = ("{modes}", "{hq}", "{kl}", "")
GAN_TOY_TEXT = ("`gan`: non-saturating loss, Adam 1e-3; `pacgan2`: the same, D sees pairs; `wgan-gp` and `sngan`: "
                "their presets' losses and optimizers on the toy nets; `gan-toy`: the preset (R1, no batch norm "
                "in G, Adam 2e-3, EMA, its own budget).")
SEEDS = "{seeds}"
ERR_SD = "{err:.2f} ± {sd:.2f}%"

LUCIC_MODELS = (("NS-GAN", "dcgan"), ("LSGAN", "lsgan"), ("WGAN", "wgan"), ("WGAN-GP", "wgan-gp"), ("VAE", "conv-vae"))
LUCIC_TEXT = ("Lucic et al. 2018 (\"Are GANs Created Equal?\") trained each model for 20 epochs and report the best "
              "Inception-FID of a large hyperparameter search, on 10,000 samples against the test images. genzoo "
              "trains each preset unchanged for the same 20 epochs (counted, as in the paper's code, in D's "
              "minibatches; `wgan` and `wgan-gp` take one critic step per generator step on these 28x28 sets, "
              "where the papers take 5, so that the budget leaves G as many steps as the other GANs; `wgan` on MNIST "
              "and `wgan-gp` on Fashion-MNIST also sample from a moving average of G and decay their rate to 0) "
              "and reports its "
              "one setting's Inception-FID@10k (the TF-FID Inception-v3 weights) beside FD in genzoo's classifier "
              "features. The gap is genzoo's FID minus the paper's: a row above zero misses the paper's number by "
              "that much. The command: "
              "`python benchmarks/lucic_fid.py --data-root DIR` (`--datasets`, `--models` and `--seeds` run a "
              "part of the table; rows already measured are kept, and seeds measured by separate commands add up to "
              "one row, whose FID is their median). Each row names the hardware its runs trained on (with the "
              "seeds of each where a row mixes CPUs and a GPU); the hardware line below is the latest command's. "
              "The Inception weights are fixed, but genzoo's classifier trains on first use on each machine and its "
              "weights differ a little from machine to machine, so classifier FDs from different machines compare "
              "only roughly.")

GANS = Page("gans.md", "GAN results", "GANs on MNIST, on the 2-D toy mixtures, and on a grammar of token sequences.", (
    Table("lucic", "Against Lucic et al. 2018: Inception-FID after 20 epochs", "lucic_fid",
          tuple(Row(f"{names[0]}, {model} (`{preset}`)", f"{dataset}-{model}", beside=f"lucic_{dataset}-{model}")
                for dataset, names in (("mnist", ("MNIST",)), ("fashion-mnist", ("Fashion-MNIST",)))
                for model, preset in LUCIC_MODELS),
          (("data, model (preset)", ""), ("paper's best FID", "{published_fid}"),
           ("genzoo Inception-FID@10k", "**{fid:.2f}**"), ("gap", "{gap:+.2f}"), ("classifier FD", "{classifier_fd:.2f}"),
           ("seeds (FID of each)", "{seeds}"),
           ("training", "{steps:,} steps, {trained_on}")),
          text=LUCIC_TEXT, filled_row_by_row=True),
    Table("gan-mnist-fd", "Every image GAN preset on MNIST at a fixed CPU budget", "gan_mnist_fd",
          tuple(Row(f"`{k}`", k) for k in ("gan", "cgan", "dcgan", "lsgan", "wgan", "wgan-gp", "sngan")),
          (("preset", ""), ("steps in the budget", "{steps:,}"), ("FD", "{fd:.2f}"), ("classifier score", "{score:.2f}"),
           ("classes covered", "{classes}"), ("CPU", "{cpu}")),
          text="Each preset trains with its own hyperparameters for the same CPU time, so the steps it makes "
               "depend on the CPU its row was measured on (the hardware line below is the latest command's). "
               "`wgan` and `wgan-gp` take one critic step per generator step on MNIST (their papers take 5), and "
               "the WGAN papers train for "
               "100,000 generator steps or more, so at this budget they are far from converged. `dcgan`, "
               "`lsgan`, `wgan` and `wgan-gp` train InfoGAN's nets with their 1024-unit layer, which make fewer steps "
               "in the budget; `lsgan`'s, at its paper's rate of 2e-4 for G, are still in their grainy start.",
          notes=("The real-vs-real floor (10,000 training images against the test images) is {floor:.2f}.",)),
    Table("toy-ring8", "Mode collapse on the ring of 8 Gaussians", "toy_modes_ring8",
          (*(Row(f"`{k}`", k) for k in ("gan", "pacgan2", "wgan-gp", "sngan", "gan-toy")),
           Row("{cite}", "pacgan_ring8_gan", "published", PUBLISHED_TOY), Row("{cite}", "pacgan_ring8_pac2", "published", PUBLISHED_TOY)),
          TOY_COLUMNS, text=GAN_TOY_TEXT,
          notes=("`gan-toy` seed by seed: {gan_toy_hq_per_seed}% high quality; every mode holds "
                 "{gan_toy_samples_per_mode} of the 2,500 samples.",)),
    Table("toy-presets", "Every GAN preset on the ring of 8 Gaussians", "toy_presets",
          tuple(Row(f"`{k}`", k) for k in ("gan", "lsgan", "wgan", "wgan-gp", "sngan")),
          (("preset", ""), *TOY_COLUMNS[1:], ("% high quality, seed by seed", SEEDS)),
          text="Each preset as `genzoo train PRESET --data ring8` trains it: its own loss, regularizer and "
               "optimizer with the toy's nets and budget. The reverse KL is averaged over the seeds with at "
               "least one high-quality sample (it is undefined without one)."),
    Table("toy-grid25", "Mode collapse on the grid of 25 Gaussians", "toy_modes_grid25",
          (*(Row(f"`{k}`", k) for k in ("gan", "pacgan2", "wgan-gp", "sngan", "gan-toy")),
           Row("{cite}", "pacgan_grid25_gan", "published", PUBLISHED_TOY), Row("{cite}", "pacgan_grid25_pac4", "published", PUBLISHED_TOY)),
          TOY_COLUMNS, text=GAN_TOY_TEXT,
          notes=("`gan-toy` seed by seed: {gan_toy_hq_per_seed}% high quality; the weakest mode holds "
                 "{gan_toy_weakest_mode} of the 2,500 samples. Its misses: {gan_toy_near_misses_pct}% within 3-6 std "
                 "of a mode (exact samples of the mixture have {exact_near_misses_pct}%) and "
                 "{gan_toy_far_misses_pct}% between modes.",)),
    Table("toy-grid25-variants", "What moves the grid of 25: one change at a time", "toy_modes_grid25_variants",
          (Row("**the preset: batch 200, R1 γ 1.0, decay over the last 30%, 60,000 steps**", "gan-toy",
               file="toy_modes_grid25"),
           Row("the same for 30,000 steps", "plain", file="toy_modes_drs"),
           Row("30,000 steps, batch 100, decay over the last half (the preset's schedule on the ring)", "earlier"),
           Row("30,000 steps, 8-d latent", "latent8"),
           Row("30,000 steps, R1 γ 0.5", "r1_05")),
          TOY_COLUMNS,
          text="The `gan-toy` preset on `grid25`, one change per row, each row the command named below the table "
               "(5 seeds each). The first row is the grid table's row of the preset as it stands, the second the "
               "discriminator-rejection table's plain samples (the preset at 30,000 steps); the rows after them "
               "change that 30,000-step run. The protocol line is that of the file's last command; each row's "
               "overrides are in its command. The second row's CPU-s were measured on its own file's CPU."),
    Table("toy-drs", "Discriminator rejection sampling on the grid of 25", "toy_modes_drs",
          (Row("plain samples", "plain"), Row("+ DRS, exact (γ = 0)", "exact"),
           Row("+ DRS, γ at the 50th percentile of F", "p50"), Row("+ DRS, γ at the 80th percentile of F", "p80")),
          (("samples", ""), ("modes", "{modes:.1f} ± {modes_se:.1f}"), ("% high quality", "{hq:.1f} ± {hq_se:.1f}"),
           ("reverse KL", "{kl:.3f} ± {kl_se:.3f}"), ("proposals kept", "{kept}%"), ("far misses", "{far}%"))),
    Table("gsgan-grammar", "Gumbel-softmax GAN on a grammar", "gsgan_grammar",
          tuple(Row(f"seed {k}", k) for k in ("0", "1", "2")),
          (("seed", ""), ("grammatical", "{grammatical_pct}%"), ("distinct grammatical", "{distinct}"),
           ("of those, not in the training data", "{novel}")),
          notes=("Training takes about {cpu_s_per_seed} CPU-seconds per seed.",)),
))

VAE_NLL_NOTE = ("The run took {steps:,} steps ({epochs} epochs); its test -ELBO is {neg_elbo:.2f} and the NLL's "
                "standard error {nll_se:.2f}. Importance sampling took {eval_minutes} minutes.")

AUTOENCODERS = Page("autoencoders.md", "Autoencoder and VAE results",
                    "Linear autoencoders against PCA, stacked autoencoders for transfer, and the VAE's test likelihood.", (
    Table("linear-ae-pca", "Linear autoencoder against PCA", "linear_ae_pca",
          (Row("largest principal angle to PCA's subspace", source="values", cells=("{angle_deg:.3f}°",)),
           Row("reconstruction MSE per pixel, linear AE", source="values", cells=("{mse_ae:.6f}",)),
           Row("reconstruction MSE per pixel, PCA", source="values", cells=("{mse_pca:.6f}",))),
          (("quantity", ""), ("value", "")), text="A linear autoencoder's optimum spans PCA's subspace "
          "(Baldi & Hornik 1989)."),
    Table("stacked-ae", "Stacked autoencoders with 100 labels", "stacked_ae_transfer",
          (Row("`stacked-dae` (masking noise 0.3)", "stacked-dae"), Row("`stacked-ae` (no noise)", "stacked-ae")),
          (("encoder", ""), ("frozen, head only", "{frozen:.2f} ± {frozen_sd:.2f}%"),
           ("fine-tuned", "{tuned:.2f} ± {tuned_sd:.2f}%"), ("from scratch", "{scratch:.2f} ± {scratch_sd:.2f}%"))),
    Table("vae-nll", "VAE test negative log-likelihood", "vae_nll",
          (Row("genzoo `vae`, {train_cpu_minutes:g} CPU-minutes on 1 thread", source="values", cells=("**{nll:.2f}**",)),
           Row("{cite}", "burda_vae_k1", "published"), Row("{cite}", "burda_vae_k50", "published"),
           Row("{cite}", "burda_iwae_k50", "published")),
          (("model", ""), ("test NLL (nats)", "{nll:.2f}")),
          notes=(VAE_NLL_NOTE,)),
    Table("iwae-nll", "IWAE test negative log-likelihood", "iwae_nll",
          (Row("genzoo `iwae` (k = 50), {train_cpu_minutes:g} CPU-minutes on 1 thread", source="values",
               cells=("**{nll:.2f}**", "{epochs}")),
           Row("{cite}", "burda_iwae_k50", "published")),
          (("model", ""), ("test NLL (nats)", "{nll:.2f}"), ("epochs of training", "{epochs:,}")),
          text="The `iwae` preset as it stands (2x200 tanh networks, 50 latents, the k = 50 bound, batch 20) with "
               "the VAE's training budget and estimator.",
          notes=(VAE_NLL_NOTE,)),
))

AAE = Page("aae.md", "Adversarial autoencoder results",
           "The semi-supervised AAE with 100 labels, the experiments that led to its recipe, and unsupervised clustering.", (
    Table("aae-semi", "Semi-supervised AAE, 100 labels", "aae_semi",
          (Row("`aae-semi-augmented`: labelled images sheared and moved (not permutation invariant)",
               "aae-semi-augmented"),
           Row("`aae-semi`: the paper's permutation-invariant setting", "aae-semi"),
           Row("{cite}", "makhzani_semi", "published")),
          (("preset", ""), ("test error", ERR_SD), ("per seed", SEEDS), ("budget", "{budget}"))),
    Table("aae-semi-curve", "`aae-semi-augmented` over training", "aae_semi_curve",
          tuple(Row(f"seed {k}", k) for k in ("0", "1", "2")),
          (("epoch", ""), *((str(e), "{e%d:.2f}%%" % e) for e in (15, 30, 45, 60, 75, 90)))),
    Table("aae-semi-recipes", "The reconstruction cost and the rates, on a GPU", "aae_semi_recipes",
          (Row("squared-error reconstruction, rates decayed over the second half (`aae-semi`)", "aae-semi",
               file="aae_semi"),
           Row("the same, discriminator and generator Adam 1e-4 (was 2e-4)", "mse_decay_slow_adv"),
           Row("the same, supervised phase Adam 5e-4 (was 1e-3)", "mse_decay_slow_sup"),
           Row("squared error, constant rates", "mse_const"),
           Row("squared error, supervised phase Adam 3e-3", "mse_sup3e3")),
          (("recipe", ""), ("epochs", "{epochs:g}"), ("test error", ERR_SD), ("per seed", SEEDS))),
    Table("aae-semi-bce", "Binary cross-entropy reconstruction", "aae_semi_bce", (Row("binary cross-entropy", "bce"),),
          (("recipe", ""), ("epochs", "{epochs:g}"), ("test error", ERR_SD), ("per seed", SEEDS)),
          text="The `aae-semi` preset (1000-1000 nets, input noise 0.3) with binary cross-entropy in place of its "
               "squared-error reconstruction cost, 10 epochs at constant rates, seeds 0, 1, 2."),
    Table("aae-semi-half-width", "Half-width screen, 30 epochs", "aae_semi_half_width_screen",
          (Row("no change", "none"), *(Row(label, key, cells=("{s0:.2f}%", "not run")) for label, key in (
               ("`model.latent_dim=5`", "latent5"), ("`model.latent_dim=20`", "latent20"))),
           Row("`model.input_noise=0.5`", "noise05"), Row("`model.input_noise=0.7`", "noise07"),
           Row("`model.input_noise=0.5`, discriminator and generator Adam 1e-4", "noise05_slow_adv"),
           Row("`model.ema=0.999`: q(y|x) from a moving average of the encoder", "ema"),
           Row("the same runs, classified by the encoder itself", "ema", cells=("{encoder_s0:.2f}%", "{encoder_s1:.2f}%")),
           Row("supervised phase SGD 0.1 with momentum 0.9 (the paper's optimizer)", "sgd01"),
           Row("the same with SGD 0.01", "sgd001")),
          (("change", ""), ("seed 0", "{s0:.2f}%"), ("seed 1", "{s1:.2f}%"))),
    Table("aae-semi-merge-screen", "Screened against a merged pair, 5 epochs", "aae_semi_merge_screen",
          (Row("`model.latent_dim=5`", "latent5"), Row("`model.g_optim.lr=1e-3 model.d_optim.lr=1e-3`", "fast_adv"),
           *(Row(label, key, cells=("{s2:.2f}%", "not run", "{confusions_s2}")) for label, key in (
               ("the two together", "both"), ("`model.g_optim.lr=5e-4 model.d_optim.lr=5e-4`", "adv5e4"),
               ("`model.input_noise=0.3`", "noise03"), ("`model.s_optim.lr=1e-4`", "sup1e4"),
               ("`model.disc_noise=0.3` (10 epochs)", "disc_noise"))),
           Row("`model.label_shear=0.3`", "shear03")),
          (("change", ""), ("seed 2", "{s2:.2f}%"), ("seed 0", "{s0:.2f}%"), ("largest confusions of seed 2", "{confusions_s2}")),
          text="The semi-supervised AAE at half width (500-500 nets) with input noise 0.5, 5 epochs at constant rates "
               "(10 for `model.disc_noise`), fp32; one change per row; seed 2, whose 3s and 5s merge, and seed 0 "
               "where given.",
          notes=("Without a change: seed 2 {rows[none][s2]:.2f}% ({rows[none_10ep][s2]:.2f}% at 10 epochs), "
                 "seed 0 {rows[none][s0]:.2f}%.",)),
    Table("aae-semi-merge", "Keeping two digits from sharing a code", "aae_semi_merge",
          (Row("no change", "none", cells=("seed 2 only", "{s2:.2f}%", "{confusions_s2}")),
           Row("`model.latent_dim=5`", "latent5"), Row("`model.g_optim.lr=1e-3 model.d_optim.lr=1e-3`", "fast_adv"),
           Row("`model.label_shear=0.3`", "shear03")),
          (("change", ""), ("test error", ERR_SD), ("per seed", SEEDS),
           ("seed 2's largest confusions", "{confusions_s2}")),
          text="The `aae-semi` preset at half width (500-500 nets) with input noise 0.5, 30 epochs, the rates decayed "
               "over the second half, seeds 0, 1, 2; each row adds one change."),
    Table("aae-semi-augment", "Shearing and moving the labelled images", "aae_semi_augment_screen",
          (Row("no change", "none"), Row("`model.label_shear=0.3`", "shear03"), Row("`model.label_shear=0.5`", "shear05"),
           Row("`model.label_shear=0.5 model.label_shift=1`", "shear05_shift1"),
           Row("`model.label_shear=0.5 model.label_shift=2`", "shear05_shift2"),
           Row("`model.label_shear=0.5 model.label_shift=3`", "shear05_shift3"),
           Row("`model.label_shear=0.8 model.label_shift=2`", "shear08_shift2")),
          (("change", ""), ("seed 0", "{s0:.2f}%"), ("seed 2", "{s2:.2f}%")),
          text="The semi-supervised AAE at half width (500-500 nets) with input noise 0.5, 5 epochs at constant rates, "
               "fp32, seeds 0 and 2; each row shears (`label_shear`, columns per row) and moves (`label_shift`, "
               "whole pixels) the 100 labelled images in the supervised phase."),
    Table("aae-cluster", "AAE clustering, 16 clusters", "aae_cluster",
          (Row("exemplar labels (the paper's protocol)", "exemplar"), Row("majority labels", "majority"),
           Row("{cite}", "makhzani_cluster16", "published"), Row("{cite}", "makhzani_cluster30", "published")),
          (("labels of the clusters", ""), ("test error", "{err:.2f}%"), ("sd over seeds", "{sd:.2f}"),
           ("per seed", SEEDS)),
          notes=("Only {alive} of the 16 clusters receive any test image. The categorical discriminator gives "
                 "prior samples {d_prior} and the encoder's codes {d_codes} on average (seeds 0, 1, 2).",)),
))

TRANSLATION = Page("translation.md", "Translation results", "pix2pix and CycleGAN on digit tasks with a known answer.", (
    Table("translation-digits", "pix2pix and CycleGAN on digits", "translation_digits",
          (Row("edges -> digits, L1 + cGAN", "pix2pix"), Row("edges -> digits, L1 alone", "pix2pix-l1-alone"),
           Row("edges -> digits, cGAN alone", "pix2pix-cgan-alone"), Row("7x7 -> 28x28, L1 + cGAN", "lowres"),
           Row("7x7 -> 28x28, L1 alone", "lowres-l1-alone"), Row("CycleGAN, digits -> bold (unpaired)", "cyclegan")),
          (("task, losses", ""), ("L1", "{l1:.4f} ± {l1_sd:.4f}"), ("L1 of the source", "{l1_src:.4f}"),
           ("read as the source's digit", "{digit:.1f} ± {digit_sd:.1f}%"), ("real targets", "{real:.1f}%"),
           ("FD to the targets", "{fd:.2f} ± {fd_sd:.2f}"))),
))

def t2i_cells(stage: str, training: str = "{train_time[cpu_seconds]:,.0f} CPU-s, {train_time[threads]} thread(s)"):
    """A text-to-image row's cells for one stage ("final" or StackGAN's "stage1") of its result."""
    return ("{steps_trained:,} / {steps_planned:,}", f"{{{stage}[seen][caption_accuracy]:.1%}}",
            f"{{{stage}[seen][one_digit_accuracy]:.1%}}", f"{{{stage}[seen][two_digit_accuracy]:.1%}}",
            f"{{{stage}[held_out][caption_accuracy]:.1%}}", f"{{{stage}[fd_digits]:.1f}}", training)


T2I_STEPS = tuple(range(2000, 20000, 2000))   # the benchmark's curve checkpoints


def t2i_curve(stage: str, split: str, steps: tuple[int, ...] = T2I_STEPS) -> tuple[str, ...]:
    """A text-to-image row's caption accuracy at each curve checkpoint, then at the end of its run
    ("" where the run has no such checkpoint)."""
    return tuple(f"{{curve[{k}][{stage}][{split}]:.1%}}" if k in steps else "" for k in T2I_STEPS) + (
        f"{{{stage}[{split}][caption_accuracy]:.1%}}",)


GIC_STEPS = tuple(range(2000, 12000, 2000))      # GAN-INT-CLS's checkpoints before the end of its 12,000 steps
LONG_STEPS = tuple(range(2000, 16000, 2000))     # the 16,000-step rows' checkpoints before their end
STACK_STEPS = tuple(range(2000, 19500, 2000))    # StackGAN's checkpoints before the end of its 19,500 steps
T2I_TEXT = ("Each row trained by `genzoo.train` with its preset (seed 0) on mnist-captions built from the 60,000 "
            "MNIST training digits, then one sample for each of the first 1,000 test captions, split into "
            "combinations seen in training and held out of it. A canvas counts when every digit cut at its "
            "caption's boxes is read as the caption says; the real test canvases' own score is the ceiling. "
            "StackGAN's Stage I is scored on the same draws, its 16x16 images shown at 32x32. The share of D's "
            "mismatched texts that are the image's own caption with its digits changed (`model.hard_mismatch`) is "
            "0.75 in the preset and 0 in the paper; three more rows train the preset with shares 0.5, 0.75 and 1.0 at a "
            "constant learning rate (the preset's decays over its last 30%), for 16,000 to 20,000 steps.")

TEXT_TO_IMAGE = Page("text-to-image.md", "Text-to-image results",
                     "GAN-INT-CLS, its GAN baseline and StackGAN on captioned digit canvases.", (
    Table("text2image", "Caption accuracy on mnist-captions", "text2image",
          (Row("real test canvases (the ceiling)", "gan-int-cls",
               cells=("", "{final[seen][real_caption_accuracy]:.1%}", "", "",
                      "{final[held_out][real_caption_accuracy]:.1%}", "", "")),
           Row("GAN-INT-CLS", "gan-int-cls", cells=t2i_cells("final")),
           Row("GAN-INT-CLS with the paper's mismatched texts only (other images' captions)",
               "gan-int-cls-other-captions", cells=t2i_cells("final")),
           Row("GAN baseline: D without the mismatched-text term", "gan-int", cells=t2i_cells("final")),
           Row("GAN-INT-CLS, hard_mismatch 0.5, constant rate", "gan-int-cls-mismatch-0.5", cells=t2i_cells("final")),
           Row("GAN-INT-CLS, hard_mismatch 0.75 (the preset's), constant rate", "gan-int-cls-mismatch-0.75",
               cells=t2i_cells("final")),
           Row("GAN-INT-CLS, hard_mismatch 1.0, constant rate", "gan-int-cls-20k", cells=t2i_cells("final")),
           Row("StackGAN Stage I (16x16 shown at 32x32)", "stackgan", cells=t2i_cells("stage1")),
           Row("StackGAN Stage II (32x32)", "stackgan", cells=t2i_cells("final"))),
          (("model", ""), ("steps trained / planned", ""), ("caption accuracy, seen", ""),
           ("seen, one digit", ""), ("seen, two digits", ""), ("held out", ""),
           ("FD of the digit cuts", ""), ("training", "")),
          text=T2I_TEXT),
    Table("text2image-text-encoder", "The text encoder: does phi(t) know which digit is where?", "text2image",
          (Row("the preset's: 1,500 steps, swapped captions among the negatives", "text-encoder"),
           Row("the paper's loss, 1,500 steps", "text-encoder-paper"),
           Row("the paper's loss, 500 steps", "text-encoder-paper-500")),
          (("text encoder", ""), ("two-digit test captions", "{n_captions:,}"),
           ("cosine of phi(t) and phi(t with the digits swapped)", "{cosine_swapped:.2f}"),
           ("image scores its caption above the swapped one", "{own_over_swapped:.1%}"),
           ("above its caption with other digits", "{own_over_other_digits:.1%}")),
          text="The text encoder's phase alone, trained by the benchmark with the preset's settings (seed 0), on the "
               "two-digit captions among the first 1,000 test canvases."),
    Table("text2image-curve", "Caption accuracy against training steps", "text2image",
          (Row("GAN-INT-CLS, seen", "gan-int-cls", cells=t2i_curve("final", "seen", GIC_STEPS)),
           Row("GAN-INT-CLS, held out", "gan-int-cls", cells=t2i_curve("final", "held_out", GIC_STEPS)),
           Row("with the paper's mismatched texts only, seen", "gan-int-cls-other-captions",
               cells=t2i_curve("final", "seen", GIC_STEPS)),
           Row("GAN baseline, seen", "gan-int", cells=t2i_curve("final", "seen", GIC_STEPS)),
           Row("hard_mismatch 0.5, seen", "gan-int-cls-mismatch-0.5", cells=t2i_curve("final", "seen", LONG_STEPS)),
           Row("hard_mismatch 0.75 (the preset's), seen", "gan-int-cls-mismatch-0.75",
               cells=t2i_curve("final", "seen", LONG_STEPS)),
           Row("hard_mismatch 0.75 (the preset's), held out", "gan-int-cls-mismatch-0.75",
               cells=t2i_curve("final", "held_out", LONG_STEPS)),
           Row("hard_mismatch 1.0, seen", "gan-int-cls-20k", cells=t2i_curve("final", "seen")),
           Row("hard_mismatch 1.0, held out", "gan-int-cls-20k", cells=t2i_curve("final", "held_out")),
           Row("StackGAN Stage I, seen", "stackgan", cells=t2i_curve("stage1", "seen", STACK_STEPS)),
           Row("StackGAN Stage II, seen", "stackgan", cells=t2i_curve("final", "seen", STACK_STEPS))),
          (("model", ""),) + tuple((f"{k:,}", "") for k in T2I_STEPS) + (("end of the run", ""),),
          text="The same scoring at the checkpoints the benchmark keeps every 2,000 steps (the text encoder's "
               "steps included); StackGAN's Stage II trains only after Stage I's steps."),
))

RBM_PLOT, DBM_PLOT = "rbm-curve.png", "dbm-curve.png"   # under docs/assets/, drawn from their result files
RBM_LOG_Z_PLOT = "rbm-log-z.png"
RBM_CURVE = tuple(range(10000, 60001, 10000))           # the benchmark's snapshots (steps)
DBM_CURVE = tuple(range(60000, 120001, 12000))


def curve_rows(steps: tuple[int, ...], *fields: str) -> tuple[Row, ...]:
    """One row per snapshot of a result file's values["curve"]: its step, then `fields` ("name:format")."""
    def cell(k: int, field: str) -> str:
        name, spec = field.split(":", 1)
        return f"{{curve[{k}][{name}]:{spec}}}"
    return tuple(Row(f"{k:,}", source="values", cells=tuple(cell(k, f) for f in fields)) for k in steps)


BOLTZMANN = Page("boltzmann.md", "Boltzmann machine results", "Likelihoods by annealed importance sampling, and features.", (
    Table("rbm-mnist", "RBM with 500 hidden units", "rbm_mnist",
          (Row("genzoo `rbm`, {method}, {epochs:g} epochs", source="values",
               cells=("{test_ll:.2f} (forward AIS alone)",)),
           Row("{cite}", "sm_rbm_cd25", "published"),
           Row("{cite}", "sm_rbm_cd3", "published"), Row("{cite}", "sm_rbm_cd1", "published")),
          (("model", ""), ("test log-likelihood (nats)", "{ll:.2f}")),
          text="Forward AIS underestimates log Z in expectation, so the log-likelihood it gives is optimistic. RAISE "
               "runs the same anneal in reverse from test images and gives a conservative estimate (a stochastic "
               "lower bound on the likelihood of the annealed model, which approaches the RBM as the temperatures "
               "grow). The row below has forward AIS alone, so it claims no win over the paper: a claim needs the "
               "bracket's conservative end above the paper's number. `python benchmarks/rbm_mnist.py --data-root "
               "DIR --keep-model rbm.safetensors`, then `--load-model rbm.safetensors`, adds the bracket.",
          notes=("log Z is {log_z:.2f} (log Ẑ + 3σ̂ = {log_z_hi:.2f}, the upper end of the AIS estimate's spread). "
                 "The training log-likelihood is {train_ll:.2f}. Training took {train_minutes} minutes and AIS {ais_s} s.",)),
    Table("rbm-curve", "RBM: what more training buys", "rbm_mnist", curve_rows(RBM_CURVE, "epochs:g", "cpu_minutes:g", "test_ll:.2f"),
          (("step", ""), ("epochs", ""), ("CPU minutes", ""), ("test log-likelihood (nats)", "")),
          text="The same AIS estimate at snapshots of the one run above, against the CPU time its training had used. "
               "The rate is constant for the first half of the run and decays linearly to zero over the second, so "
               "the points before the last show a run on its way, not a shorter finished one.",
          notes=(f"![test log-likelihood against CPU minutes of training](../assets/{RBM_PLOT})",)),
    Table("dbm-mnist", "DBM 784-500-1000", "dbm_mnist",
          (Row("genzoo `dbm`, {epochs} epochs, log Z by AIS with the paper's temperatures", source="values",
               cells=("{test_bound:.2f}",)),
           Row("the same model, log Z by AIS with {check_betas:,} temperatures", source="values",
               cells=("{check_test_bound:.2f}",)),
           Row("{cite}", "sh_dbm", "published")),
          (("model", ""), ("test lower bound on log p(v) (nats)", "{ll:.2f}")),
          text="AIS underestimates log Z when it anneals too fast, and an underestimate of log Z overstates the bound. "
               "The benchmark therefore estimates the trained model's log Z a second time, with more temperatures "
               "and new runs: where that estimate is higher, the first was too low, and the true bound most likely "
               "lies below both rows, by an amount two estimates cannot tell. RAISE (`--raise-n N`: the anneal run in reverse from "
               "test images) estimates log p(v) itself from below, under the assumption that the annealed model does "
               "not fit the test images better than the DBM. The paper's number is a bound, below its own model's "
               "log p(v); a bound that beats it needs an upper estimate of log Z, which reverse AIS gives only from "
               "exact samples of the DBM (available for models small enough to enumerate), so no row here claims to "
               "beat the paper.",
          notes=("log Z is {log_z:.2f} with std of log w {log_w_std:.2f} (log Ẑ + 3σ̂ = {log_z_hi:.2f}); with "
                 "{check_betas:,} temperatures it is {check_log_z:.2f} (std of log w {check_log_w_std:.2f}). The "
                 "training bound is {train_bound:.2f}; training took {train_minutes} minutes.",
                 "Linear probe on the mean-field posteriors: **{probe_dbm:.2f}%** test error, against "
                 "{probe_pixels:.2f}% on raw pixels.")),
    Table("dbm-curve", "DBM: what more training buys", "dbm_mnist",
          curve_rows(DBM_CURVE, "dbm_steps:,", "epochs:g", "cpu_minutes:g", "test_bound:.2f"),
          (("step", ""), ("steps of Algorithm 20.1", ""), ("epochs", ""), ("CPU minutes", ""),
           ("test lower bound (nats)", "")),
          text="The same bound at the end of the layer-wise pretraining and at snapshots of Algorithm 20.1 in the one "
               "run above, against the CPU time its training had used. The rate of Algorithm 20.1 decays linearly to "
               "zero over its steps, so the points before the last show a run on its way, not a shorter finished one.",
          notes=(f"![test lower bound against CPU minutes of training](../assets/{DBM_PLOT})",)),
))

EXPERIMENTS = tuple(experiment_names())   # in `genzoo experiment --list` order

TTQ_MODELS = (("dcgan", "DCGAN"), ("vae", "VAE"), ("wgan-gp", "WGAN-GP"))
TTQ_PLOT = "time-to-quality.png"    # under docs/assets/, drawn from time_to_quality.json
#: plots under docs/assets/: {file name: (the result file it is drawn from, how)}
PLOTS = {TTQ_PLOT: ("time_to_quality", lambda results: time_to_quality_figure(results["time_to_quality"])),
         RBM_PLOT: ("rbm_mnist", lambda results: boltzmann_curve_figure(results["rbm_mnist"], results["published"])),
         DBM_PLOT: ("dbm_mnist", lambda results: boltzmann_curve_figure(results["dbm_mnist"], results["published"])),
         RBM_LOG_Z_PLOT: ("rbm_mnist", lambda results: log_z_curve_figure(results["rbm_mnist"]))}
PLOT_NEEDS = {RBM_LOG_Z_PLOT: ("log_z_curve",)}   # a plot drawn only once its result file's values hold these


TTQ_TEXT = ("How many minutes of training until the samples are good: genzoo's preset, trained as `genzoo train "
            "MODEL --time-budget T` trains it (one run per budget T), against a plain single-file PyTorch loop of "
            "the paper's networks (`benchmarks/reference_dcgan.py`, `reference_vae.py`, `reference_wgan_gp.py`, "
            "written as the PyTorch examples write them), in interleaved segments on the same machine. On MNIST "
            "genzoo's `dcgan` preset adds InfoGAN's 1024-unit layer and learning rates to DCGAN's nets, and `wgan-gp` "
            "that layer and InfoGAN's per-feature norm of G's projection: the comparison is of training recipes, not of kernels (the throughput table compares equal networks). Each is "
            "scored at checkpoints of its training time by FD in genzoo's MNIST classifier features; the target is "
            "the FD the plain loop reaches at its last checkpoint, and the speed-up is the plain loop's time to it "
            "over genzoo's. Where genzoo's longest budget stops short of the target, the next column measures its "
            "lead at the FD it did reach: the plain loop's time to that FD over genzoo's (`--rows-only` rebuilds "
            "the rows from the curves in the result file). The `vae` preset keeps its paper's "
            "recipe (network, learning rate, batch size), so what separates it from its plain loop is the engine: "
            "steps per minute and precision; `dcgan` and `wgan-gp` also change the recipe (on 28x28 digits "
            "`wgan-gp` and its plain loop both take one critic step per generator step where the paper takes five). Each model's row names the CPU "
            "it was measured on (the hardware line below is the latest command's). The command: "
            "`python benchmarks/time_to_quality.py --data-root DIR --models dcgan vae "
            "wgan-gp` (`--genzoo-minutes` gives genzoo's runs budgets apart from the plain loop's checkpoints, "
            "`--clock cpu` counts CPU-seconds on a machine shared with other work).")

MAIN_JOB_LEVERS = (
    ("DCGAN's nets, without InfoGAN's 1024-unit layer", "model.nets.fc_width=0"),
    ("one Adam rate 2e-4 for G and D, as DCGAN", "model.optim.lr=0.0002 model.d_optim=null"),
    ("both: DCGAN's own nets and rates", "model.nets.fc_width=0 model.optim.lr=0.0002 model.d_optim=null"),
    ("fresh noise for G's step, NCHW layout", "model.reuse_fakes=false train.channels_last=false"),
    ("learning rates falling linearly to 0 over the last half of the run", "train.lr_decay=0.5"),
    ("samples from an exponential moving average of G's weights (0.995)", "model.ema=0.995"),
    ("batch 32 instead of 64", "train.batch_size=32"),
    ("the two time-scale update rule: Adam 1e-4 for G, 4e-4 for D",
     "model.optim.lr=0.0001 model.d_optim.lr=0.0004"),
    ("resize-convolutions in G instead of transposed convolutions", "model.nets.upsample=resize"),
    ("bf16 autocast on a CPU without native bf16", "train.precision=bf16"),
    ("`torch.compile`", "train.compile=true"),
)
MAIN_JOB_TEXT = ("On MNIST the `dcgan` preset trains its 1,400 steps on every machine: no clock limits it, so what "
                 "it computes depends only on its settings, seed, hardware and precision. With native bf16 it ends "
                 "within 3 minutes on 2 idle cores; in fp32 on AVX2, where each step costs more, it takes the time "
                 "the table gives. A busy machine takes longer and computes the same weights "
                 "([the same weights under load](#resume)).")
MAIN_JOB_LEVERS_FINDING = (
    "What the rows say: each of the preset's choices pays on its own, and within the AVX2 budget none of the "
    "levers added does better than the preset, single runs each: cheaper steps (batch 32) buy steps but not "
    "better samples, a decay or an average of the weights needs a longer run than this one to help, the two "
    "time-scale rule's slow generator falls far behind InfoGAN's fast one, and `torch.compile` spends part of "
    "the budget compiling. bf16 autocast without native bf16 runs emulated and trains a small fraction of the "
    "steps, which is why `train.precision=auto` picks fp32 on such a CPU.")
MAIN_JOB_LEVERS_TEXT = ("The main job as above with one setting changed, one of the preset's choices undone or a lever "
                        "added, so that each one's share of the result shows: "
                        "`python benchmarks/main_job.py --mnist-root DIR --set KEY=VALUE ...`. Each row is compared "
                        "with the main job's row of its CPU. The rows with fewer than 1,400 steps were measured when the "
                        "preset still stopped the main job after 165 seconds of training, which their commands restore "
                        "(`--set train.time_budget=165s`): within that budget a lever that makes steps cheaper buys "
                        "more of them. On 28x28 "
                        "digits the `dcgan` preset uses InfoGAN's MNIST nets and learning rates (Chen et al. 2016): "
                        "a 1024-unit fully connected layer in G and D, Adam 1e-3 for G and 2e-4 for D.")

CONTENTION_TEXT = ("The step time of the main job (`dcgan`), of `vae` and of a plain PyTorch DCGAN loop while other "
                   "processes keep the 2 cores busy. The rows \"genzoo default\" are what genzoo does when the user "
                   "sets nothing: "
                   "one compute thread per core that genzoo may use; OpenMP's waiting threads sleep at once when other "
                   "tasks were running or waiting for a core as genzoo started, and spin about 0.1 ms first "
                   "otherwise. The thread count is fixed, never chosen from the load, because another count "
                   "splits sums differently and changes the last bits of what a run computes; how threads wait "
                   "changes only the speed ([speed settings](../howto/speed.md)). The load average counts every "
                   "task that runs or waits for a core, the measured one and any other work on the machine included.")

FLOPS_TEXT = ("The FLOPs of one training step of the main job, counted from the shapes of its convolutions, linear "
              "layers and matrix products (forward and backward), divided by its measured time, against the "
              "machine's own matmul peak on the same threads.")

ENGINE = Page("engine.md", "Metrics, speed and runs", "The main job, time to quality, resume, metric calibration, throughput "
              "and the experiments' run times.", (
    Table("main-job", "The main job: `genzoo train dcgan`, offline", "main_job",
          (Row("native bf16 (AVX512-BF16)", "bf16"), Row("AVX2, no native bf16", "avx2")),
          (("CPU kind", ""), ("CPU", "{cpu}"), ("precision", "{precision}"), ("wall time", "{minutes} min ({seconds} s)"),
           ("steps trained", "{steps}"),
           ("classes covered", "{classes}"), ("samples with p > 0.9", "{confident_pct}%"),
           ("real digits with p > 0.9", "{real_confident_pct}%"), ("classifier accuracy", "{classifier_acc}%")),
          text=MAIN_JOB_TEXT),
    Table("main-job-levers", "The main job's levers, one at a time", "main_job_levers",
          tuple(Row(label, key) for label, key in MAIN_JOB_LEVERS),
          (("the preset with", ""), ("settings", "`{settings}`"), ("CPU", "{cpu}"), ("wall time", "{minutes} min ({seconds} s)"),
           ("steps trained", "{steps}"),
           ("classes covered", "{classes}"), ("samples with p > 0.9", "{confident_pct}%")),
          text=MAIN_JOB_LEVERS_TEXT, notes=(MAIN_JOB_LEVERS_FINDING,)),
    Table("time-to-quality", "Time to quality against a plain PyTorch loop", "time_to_quality",
          tuple(Row(f"`{key}`", key) for key, _ in TTQ_MODELS),
          (("model", ""), ("target FD", "{target}"), ("plain loop reaches it", "{reference}"),
           ("genzoo reaches it", "{genzoo}"), ("speed-up", "**{speedup}**"),
           ("speed-up at genzoo's longest-budget FD", "{at_last_fd}"),
           ("genzoo's runs past their budget, at most", "{past_budget}"), ("seeds", "{seeds}"), ("clock", "{clock}"),
           ("CPU", "{cpu}")),
          text=TTQ_TEXT, notes=(f"![FD against minutes of training, one panel per model](../assets/{TTQ_PLOT})",)),
    Table("time-to-quality-curves", "Time to quality: the curves", "time_to_quality",
          tuple(Row(label, f"{key}-{who}") for key, name in TTQ_MODELS
                for label, who in ((f"genzoo `{key}`", "genzoo"), (f"plain {name} loop", "reference"))),
          (("runner", ""), ("median FD at each checkpoint (minutes: FD)", "{fd}"),
           ("samples read as a digit with p > 0.9", "{confident}"), ("fewest classes", "{classes}"),
           ("precision", "{precision}"))),
    Table("resume", "The same weights under load and after SIGKILL", "resume_bitwise",
          (Row("alone", "idle"), Row("beside busy processes", "busy"),
           Row("beside busy processes, killed with SIGKILL and resumed", "busy, killed")),
          (("run", ""), ("steps trained", "{steps}"), ("wall time", "{seconds} s"),
           ("1-minute load average at its end", "{load_average_1min}"),
           ("tensors equal to the run alone", "{identical_to_idle} of {tensors}"))),
    Table("contention", "Step time on a busy machine: thread policies", "contention",
          tuple(Row(f"{model}, {policy}", f"{model} | {policy}") for model in ("dcgan", "vae", "plain dcgan loop")
                for policy in ("genzoo default", "openmp default", "passive", "short spin", "1 thread")
                if model != "plain dcgan loop" or policy in ("genzoo default", "openmp default")),
          (("model, policy", ""), *((f"{n} busy processes (load average)", f"{{busy{n}}} ms ({{load{n}}})")
                                    for n in (0, 2, 4, 8)),
           ("time over the best policy at 0 / 2 / 4 / 8 busy", "{over_best0} / {over_best2} / {over_best4} / {over_best8}")),
          text=CONTENTION_TEXT, notes=("The commands that measured the cells: {level_commands}.",)),
    Table("flops", "How close the main job's step comes to the hardware", "flop_utilization",
          (Row("`dcgan` training step, batch 64", source="values"),),
          (("step", ""), ("FLOPs per step", "{gflop_per_step} GFLOP"), ("time per step", "{ms_per_step} ms"),
           ("achieved", "{achieved_gflops} GFLOP/s ({precision}, {threads} threads)"),
           ("matmul peak fp32 / bf16", "{peak_fp32_gflops} / {peak_bf16_gflops} GFLOP/s"),
           ("share of the peak", "**{utilization_pct}%**"),
           ("CPU time in convolutions and matrix products", "{compute_share_pct}%")),
          text=FLOPS_TEXT, notes=("The largest costs outside convolutions and matrix products, per step: "
                                  "{non_compute_text}.",)),
    Table("test-lanes", "How long the tests take", "test_lanes",
          (Row("fast lane: `python -m pytest -m \"not slow\"`", "fast"), Row("full suite: `python -m pytest`", "full")),
          (("lane", ""), ("wall time", "{minutes} min ({seconds} s)"), ("outcome", "{outcome}"))),
    Table("calibration", "Metric calibration on MNIST", "metric_calibration",
          (Row("real train images", "real"), Row("+ Gaussian noise, std 0.1", "noise"),
           Row("blurred, sigma 1 px", "blur"), Row("uniform noise", "uniform")),
          (("compared with the test set", ""), ("FD", "{fd:.4g}"), ("KID", "{kid:.4g}"), ("precision", "{precision:.3f}"),
           ("recall", "{recall:.3f}"))),
    Table("eval-speed", "Evaluation time", "eval_speed", (Row("FD + KID + PRDC, 10,000 against 10,000", source="values"),),
          (("what", ""), ("wall", "{wall_s} s"), ("CPU", "{cpu_s} s"))),
    Table("throughput", "Throughput against a plain PyTorch DCGAN", "throughput",
          (Row("genzoo `dcgan`", "dcgan"),
           Row("genzoo `dcgan`, fast settings (`train.channels_last`, `model.reuse_fakes`)", "dcgan_fast"),
           Row("reference DCGAN", "reference"), Row("genzoo / reference, median of per-round ratios", "ratio"),
           Row("genzoo fast settings / reference", "ratio_fast"),
           Row("genzoo `wgan-gp` (5 critic batches per step)", "wgan-gp"), Row("genzoo `vae` (MLP)", "vae")),
          (("runner", ""), ("batch 64: images/s (% peak)", "{b64}"), ("batch 128", "{b128}"), ("batch 256", "{b256}")),
          text="The peak is the best rate of a 2048 x 2048 fp32 matrix product measured at the start; the "
               "convolution kernels of a network can run above it, so a share over 100% is not an error."),
    Table("bf16-speed", "bf16 autocast on a CPU with native bf16", "throughput_bf16",
          (Row("`dcgan`, bf16 / fp32", "dcgan"), Row("`wgan-gp`, bf16 / fp32", "wgan-gp"), Row("`vae`, bf16 / fp32", "vae"),
           Row("`dcgan` fp32 / reference", "fp32_vs_ref"), Row("`dcgan` fast settings / reference", "fast_vs_ref")),
          (("ratio of images per second", ""), ("speed-up", "{speedup:.2f}×"))),
    Table("precision-steps", "bf16 and sample quality at equal steps", "precision_equal_steps",
          (Row("genzoo `dcgan`, bf16 autocast", "bf16"), Row("genzoo `dcgan`, fp32", "fp32"),
           Row("reference DCGAN, fp32", "reference")),
          (("runner", ""), ("FD after 1,000 steps", "{fd:.2f} ± {sd:.2f}")),
          notes=("bf16 against fp32, paired by seed: {paired_diff:+.2f} ± {paired_diff_se:.2f} (standard error), "
                 "within the seeds' noise. The real-vs-real floor is {floor:.2f}.",)),
    Table("precision-budget", "bf16 and sample quality at a fixed CPU budget", "precision_fixed_budget",
          (Row("`dcgan`, bf16 autocast", "bf16"), Row("`dcgan`, fp32", "fp32")),
          (("precision", ""), ("steps in 120 CPU-s", "{steps}"), ("FD", "{fd:.2f} ± {sd:.2f}"), ("per seed", SEEDS))),
    Table("multiseed", "Seeds at once: 5 seeds as one batched model", "multiseed_toy",
          (Row("small nets (MLP 128-128, batch 100)", "small"),
           Row("PacGAN's toy nets (G 4x400 with batch norm, D 3x200, batch 100)", "pacgan"),
           Row("the `gan-toy` preset (the same nets, no batch norm, R1, EMA)", "gan-toy")),
          (("5 seeds / one seed, time per step", ""), ("2 threads", "{t2:.2f}×"), ("its arithmetic floor", "{f2:.2f}×"),
           ("1 thread", "{t1:.2f}×"), ("its floor", "{f1:.2f}×")),
          notes=("End to end (small nets, 1,000 steps and 2,500 samples per seed): {end_to_end_2t:.2f}× the time "
                 "of one seed with 2 threads, {end_to_end_1t:.2f}× with 1.",)),
    Table("experiment-times", "`genzoo experiment NAME --quick`: time from a fresh start", "experiment_times",
          tuple(Row(f"[{name}](../experiments.md#{name})", name) for name in EXPERIMENTS),
          (("experiment", ""), ("wall clock", "{quick[wall_s]} s"), ("CPU", "{quick[cpu_s]} s")),
          text="Each quick run is started as a user starts it, in a new process with an empty run cache, so its "
               "time includes importing genzoo, loading the data and training every model it needs. The full "
               "runs' times are on the [experiments page](../experiments.md).",
          notes=("The longest quick run took {quick_max_wall_s} s of wall-clock time; all twelve together "
                 "{quick_total_wall_s} s.",)),
))

PAGES = (GANS, AUTOENCODERS, AAE, TRANSLATION, TEXT_TO_IMAGE, BOLTZMANN, ENGINE)

INDEX_INTRO = ("Every number on these pages is rendered by `python benchmarks/render_results.py` from the JSON "
               "files in `benchmarks/results/`, each written by the benchmark command it names, with its "
               "protocol and hardware. A table whose result file is missing reads \"not measured\". "
               "The papers' own numbers come from `benchmarks/results/published.json`.")

HEADLINES = (
    Headline("The main job, `genzoo train dcgan`, offline: **{rows[bf16][minutes]} minutes** on 2 idle cores with "
             "native bf16, **{rows[bf16][confident_pct]}%** of its samples read as a digit with p > 0.9; "
             "{rows[avx2][minutes]} minutes and {rows[avx2][confident_pct]}% on 2 idle AVX2 cores (a busy machine "
             "takes longer, and computes the same weights)", "main_job", "engine.md#main-job"),
    Headline("`genzoo train wgan-gp --data ring8` captures **{rows[wgan-gp][modes]:.0f} of 8 modes** of the 2-D "
             "ring with **{rows[wgan-gp][hq]:.1f}%** high-quality samples (PacGAN protocol, 5 seeds); every GAN preset "
             "captures all of them with its toy settings",
             "toy_presets", "gans.md#toy-presets"),
    Headline("VAE test NLL **{values[nll]:.2f} nats** on MNIST after {values[train_cpu_minutes]:g} CPU-minutes of training on one thread",
             "vae_nll", "autoencoders.md#vae-nll"),
    Headline("`dcgan` reaches Inception-FID **{rows[mnist-NS-GAN][fid]:.2f}** on MNIST after Lucic et al.'s 20 "
             "epochs (median of {rows[mnist-NS-GAN][n_seeds]} seeds: {rows[mnist-NS-GAN][seeds]}), against "
             "{rows[mnist-NS-GAN][paper]} for the best NS-GAN of their hyperparameter search",
             "lucic_fid", "gans.md#lucic"),
    Headline("`dcgan` reaches the FD that a plain PyTorch DCGAN loop reaches in "
             "{models[dcgan][contestants][reference][reaches_target][minutes]:.0f} minutes in **"
             "{models[dcgan][contestants][genzoo][reaches_target][minutes]:.1f} minutes** on a 2-core CPU "
             "(median of {rows[dcgan][seeds]} seeds)", "time_to_quality", "engine.md#time-to-quality"),
)

if __name__ == "__main__":
    sys.exit(main())
