"""`genzoo sample`: samples of a trained run, one named step at a time (checks, the model, the samples, the file)."""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from .config import MAX_SEED
from .errors import GenzooError
from .safe_write import check_writable_file, read_regular_file, write_text


#: the most samples `genzoo sample` draws at once (they are held in memory and drawn in one grid)
MAX_SAMPLES = 10_000
MAX_TEXT_FILE_BYTES = 1 << 20   # captions: a megabyte of text is far more than MAX_SAMPLES of them
SAMPLE_MODES = ("random", "truncated", "interpolate", "slerp", "class-grid", "steer", "arithmetic", "rejection",
                "interpolate-text")


def _percentile(text: str) -> float | None:
    """--percentile: a number in [0, 100], or 'none' (gamma = 0: exact rejection sampling)."""
    from .sampling import parse_percentile

    try:
        return parse_percentile(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _dataset_classifier(run):
    """Logits of genzoo's classifier for the data the RunDir `run` was trained on (trained and cached on first use)."""
    from .metrics.features import get_feature_extractor

    dataset = run.dataset["name"]
    print(f"genzoo: classifier: genzoo's CNN for {dataset}", file=sys.stderr)
    net = get_feature_extractor(dataset, progress=True).net.eval()   # trained on first use: says so, with a bar
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got '{text}'")
    return value


def _check_classes(model, **flags: int | None) -> None:
    """--cond and --target must be classes of the run's data (0..K-1), checked before any work."""
    k = model.data.num_classes
    for flag, value in flags.items():
        if value is None:
            continue
        if not k:
            raise GenzooError(f"--{flag} picks a class, and {model.name}'s data has no classes")
        if not 0 <= value < k:
            raise GenzooError(f"--{flag} {value} is not a class of this run: its data has classes 0..{k - 1}")


def _typed_captions(args) -> list[str]:
    """The captions of --text (repeatable) and --text-file (one per line, UTF-8), in that order."""
    texts = list(args.text or [])
    if args.text_file:
        path = Path(args.text_file)
        if not path.exists():
            raise GenzooError(f"--text-file {path} does not exist; give a text file with one caption per line")
        # the user's own file, so a link to one is read; /dev/zero, a FIFO or a folder is named for what it is
        data, why = read_regular_file(path, MAX_TEXT_FILE_BYTES, follow_links=True)
        if data is None:
            raise GenzooError(f"--text-file {path} cannot be read as a text file of at most "
                              f"{MAX_TEXT_FILE_BYTES:,} bytes ({why}); give one caption per line")
        try:
            lines = data.decode("utf-8").splitlines()
        except UnicodeDecodeError as e:
            raise GenzooError(f"--text-file {path} is not UTF-8 text (byte 0x{e.object[e.start]:02x} at position "
                              f"{e.start}); save it as UTF-8, one caption per line") from None
        given = [line.strip() for line in lines if line.strip()]
        if not given:   # else the model's own captions would be drawn, as if no file had been given
            raise GenzooError(f"--text-file {path} holds no captions (it is empty or blank); "
                              "give one caption per line")
        texts += given
    if len(texts) * args.n > MAX_SAMPLES:
        raise GenzooError(f"{len(texts):,} captions x --n {args.n:,} would be {len(texts) * args.n:,} samples, "
                          f"more than {MAX_SAMPLES:,}; give fewer captions or a smaller --n")
    return texts


def _sample_from_text(args, model, out) -> None:
    """Text-to-image models: --n images for each caption (one row each, labelled with its caption; the model's
    own grid of captions when none is given), or --mode interpolate-text: --rows noise vectors x --cols steps
    between two captions."""
    import torch

    from .runs import write_samples

    texts = _typed_captions(args)
    g = torch.Generator(device=model.device).manual_seed(args.seed)
    if args.mode == "interpolate-text":
        if len(texts) != 2:
            raise GenzooError(f"--mode interpolate-text walks between two captions: give --text A --text B "
                              f"(got {len(texts)} caption(s))")
        x, nrow, rows = model.interpolate_text(*texts, rows=args.rows, cols=args.cols, generator=g), args.cols, texts
    elif args.mode == "random" and args.cond is None and args.truncation is None:
        cond = [t for t in texts for _ in range(args.n)] if texts else None
        x, nrow, rows = model.sample(len(cond) if cond else args.n, cond=cond, generator=g), \
            (args.n if texts else None), texts
    else:
        raise GenzooError(f"{model.name} samples from captions: --text CAPTION (repeatable) or --text-file FILE "
                          "with --n images each, or --mode interpolate-text --text A --text B; not --mode "
                          f"{args.mode}, --cond or --truncation")
    x = x.detach().float().cpu()
    labelled = rows if rows and args.mode != "interpolate-text" else None
    path = write_samples(model, x, out, nrow=nrow, scale=args.scale, row_labels=labelled)
    if rows:
        write_text(path.with_suffix(".txt"), "\n".join(rows) + "\n")
    print(f"genzoo: wrote {len(x)} samples ({args.mode}) to {path}" + (f" (captions in {path.with_suffix('.txt')})"
                                                                       if rows else ""))
    if labelled and args.n > 1:
        _print_spread(x, labelled, args.n)


def _print_spread(x, captions: list[str], n: int) -> None:
    """How different the samples of each caption are: a grid with no variety shows as a spread near 0."""
    from .metrics.captions import sample_spread

    spreads = [sample_spread(x[i * n:(i + 1) * n]) for i in range(len(captions))]
    print("genzoo: spread between the samples of each caption (mean absolute pixel difference of two samples, "
          "0 = identical):")
    for caption, spread in zip(captions, spreads):
        print(f"  {spread:.3f}  {caption}" + ("  (almost no variety: the noise barely changes the picture)"
                                             if spread < LOW_SPREAD else ""))


#: below this mean pixel difference two samples of a caption look the same: half the smallest spread of real
#: canvases of one caption (0.009 to 0.031, median 0.019, over the offline test canvases' repeated captions;
#: most of a canvas is background, so spreads are small numbers)
LOW_SPREAD = 0.004


def sample(args) -> None:
    """Draw samples (a PNG grid for images, a scatter plot for points, text for tokens).

    Modes: random (the model's own sampler); truncated (z resampled inside |z_i| <= --truncation);
    interpolate / slerp (--rows paths of --cols points between random latents); class-grid (a
    conditional model: one row per class, one z per column); rejection (a GAN's samples kept with
    probabilities from its discriminator, Azadi et al. 2019).
    """
    from .models.base import TRANSLATION_KINDS
    from .runs import load_run, save_samples

    mode = _checked_mode(args)
    loaded = load_run(args.run_dir, step=args.step)
    model = loaded.model
    _check_classes(model, cond=args.cond, target=args.target if mode == "steer" else None)
    out = _output_file(args, mode)
    if model.data.kind == "captioned":
        _sample_from_text(args, model, out)
        return
    _refuse_flags_of_other_kinds(args, model, mode)
    if model.data.kind in TRANSLATION_KINDS:
        _translate(args, loaded, out)
    elif mode == "random" and args.cond is None:
        path = save_samples(model, out, args.n, seed=args.seed, scale=args.scale)
        print(f"genzoo: wrote {args.n} samples to {path}")
    else:
        _write_latent_samples(args, loaded, mode, out)


def _write_latent_samples(args, loaded, mode: str, out: Path) -> None:
    """The samples of a latent-space mode, written by the one sample writer (a class grid's rows labelled)."""
    from .runs import class_row_labels, write_samples

    model = loaded.model
    x, nrow = _latent_samples(args, loaded, mode)
    grid = mode == "class-grid" and model.data.kind == "image"   # points and tokens have no rows to label
    labels = class_row_labels(loaded.config, model.data.num_classes) if grid else None
    path = write_samples(model, x.detach().cpu(), out, nrow=nrow, scale=args.scale, row_labels=labels)
    print(f"genzoo: wrote {len(x)} samples ({mode}) to {path}")


def _checked_mode(args) -> str:
    """The sampling mode (--truncation alone means truncated), after the checks that need no model."""
    if not 1 <= args.n <= MAX_SAMPLES:
        raise GenzooError(f"--n must be from 1 to {MAX_SAMPLES:,} samples (a {int(MAX_SAMPLES ** 0.5)} x "
                          f"{int(MAX_SAMPLES ** 0.5)} grid), got {args.n:,}; for more, call model.sample() in batches")
    if args.truncation is not None and not 0 < args.truncation < math.inf:   # nan too: no z would be redrawn
        raise GenzooError(f"--truncation must be a positive, finite bound, got {args.truncation}")
    if not 0 <= args.seed <= MAX_SEED:   # what a random generator takes
        raise GenzooError(f"--seed must be a whole number from 0 to 2**32 - 1, got {args.seed}")
    if args.rows <= 0 or args.cols < 2:
        raise GenzooError(f"--rows must be >= 1 and --cols >= 2, got {args.rows} and {args.cols}")
    if args.rows * args.cols > MAX_SAMPLES:
        raise GenzooError(f"--rows {args.rows:,} x --cols {args.cols:,} would be {args.rows * args.cols:,} samples, "
                          f"more than {MAX_SAMPLES:,}; choose a smaller grid")
    mode = "truncated" if args.mode == "random" and args.truncation is not None else args.mode
    if mode == "rejection" and (args.cond is not None or args.truncation is not None):
        raise GenzooError("--mode rejection draws from an unconditional GAN's own prior; "
                          "drop --cond and --truncation")
    return mode


def _output_file(args, mode: str) -> Path:
    """--out, or RUN_DIR/samples/MODE-seedS.png; checked writable before any sample is drawn."""
    tag = {"random": "sample", "truncated": f"truncated{args.truncation or 0.5:g}"}.get(mode, mode)
    out = Path(args.out) if args.out else Path(args.run_dir) / "samples" / f"{tag}-seed{args.seed}.png"
    if args.input is None:   # never over a run's own files, its eval.json or training's grids; the default
        check_writable_file(out, results=True, inside=None if args.out else args.run_dir)   # stays in the run
    return out


def _refuse_flags_of_other_kinds(args, model, mode: str) -> None:
    """--text and --input belong to text-to-image and translation models; a translator has no latent modes."""
    from .models.base import TRANSLATION_KINDS

    if args.text or args.text_file or mode == "interpolate-text":
        raise GenzooError(f"--text, --text-file and --mode interpolate-text are for text-to-image models "
                          f"(gan-int-cls, stackgan); {model.name} is not one")
    translator = model.data.kind in TRANSLATION_KINDS
    if args.input is not None and not translator:
        raise GenzooError(f"--input translates a folder of images with a translation model (pix2pix, cyclegan); "
                          f"{model.name} is not one")
    if translator and (mode != "random" or args.cond is not None):
        raise GenzooError(f"{model.name} has no latent space to {mode} or condition: `genzoo sample RUN` "
                          "translates --n pairs of the test split; drop --mode, --cond and "
                          "--truncation (in Python: model.translate(images))")


def _translate(args, loaded, out: Path) -> None:
    """Translation models: every image of --input into a folder, or a grid of --n test pairs."""
    from .images import translate_folder
    from .runs import run_split, save_samples

    model = loaded.model

    if args.input is not None:
        out_dir = Path(args.out) if args.out else Path(args.run_dir) / "translations"
        try:
            written = translate_folder(model, args.input, out_dir, seed=args.seed)
        except ValueError as e:   # images of a size the model cannot take
            raise GenzooError(str(e)) from None
        print(f"genzoo: translated {len(written)} images from {args.input} into {out_dir}")
        return
    test = run_split(loaded.config, "test", subset=False)
    pairs = test.x[test.display_indices(args.n)]
    path = save_samples(model, out, args.n, seed=args.seed, reference=pairs, scale=args.scale)
    print(f"genzoo: wrote the translations of {len(pairs)} test pairs to {path} (each row: {model.grid_columns})")


def _latent_samples(args, loaded, mode: str):
    """The samples of a latent-space mode, and the grid's row length (None: square)."""
    import torch

    from . import sampling

    model = loaded.model

    try:
        sampling.check_latent_model(model)
        if args.cond is not None and not model.cond_values:
            raise GenzooError(f"--cond picks the class of the samples, and {model.name} is not conditional (it "
                              "would ignore it); train a conditional model (cgan, cvae, or --set "
                              "model.conditional=true) or drop --cond")
        g = torch.Generator(device=model.device).manual_seed(args.seed)
        if mode == "rejection":
            drs = sampling.discriminator_rejection_sample(model, args.n, percentile=args.percentile, generator=g)
            print(f"genzoo: discriminator rejection sampling kept {100 * drs.acceptance:.1f}% of the proposals "
                  f"(log M = {drs.log_ratio_max:.3f})")
            return drs.samples, None
        if mode == "random":
            return model.sample(args.n, cond=args.cond, generator=g), None
        if mode == "truncated":
            bound = args.truncation if args.truncation is not None else 0.5
            return sampling.sample_truncated(model, args.n, bound, cond=args.cond, generator=g), None
        return _latent_grid(args, loaded, mode, g), args.cols
    except ValueError as e:  # e.g. a class out of range, or cond for an unconditional model
        raise GenzooError(str(e)) from None


def _latent_grid(args, loaded, mode: str, g):
    """--rows x --cols grids: interpolations, a class grid, steering, class arithmetic."""
    from . import sampling

    model = loaded.model

    if mode in ("interpolate", "slerp"):
        return sampling.interpolation_grid(model, args.rows, args.cols, cond=args.cond, generator=g,
                                           mode="linear" if mode == "interpolate" else "slerp")
    if mode == "class-grid":
        return sampling.class_grid(model, args.cols, generator=g)
    if mode == "steer":
        if args.target is None:
            raise GenzooError("--mode steer needs --target CLASS: the class to steer the samples toward")
        return sampling.steer_grid(model, _dataset_classifier(loaded.run), args.target, args.rows, args.cols,
                                   cond=args.cond, generator=g)
    abc = _arithmetic_classes(args)   # before the classifier loads
    return sampling.arithmetic_by_class(model, _dataset_classifier(loaded.run), abc, args.cols, cond=args.cond,
                                       generator=g)


def _arithmetic_classes(args) -> tuple[int, ...]:
    classes = args.classes or ""
    try:
        abc = tuple(int(c) for c in classes.split(","))
    except ValueError:
        abc = ()
    if len(abc) != 3:
        raise GenzooError(f"--mode arithmetic needs --classes A,B,C (three class numbers: A - B + C), got '{classes}'")
    return abc


def add_sample_parser(sub) -> None:
    p = sub.add_parser("sample", help="draw samples from a trained run into a PNG grid",
                       description="Draw samples from a trained run: random, truncated, latent interpolations "
                                   "(linear or spherical), a class grid (conditional models), or a GAN's "
                                   "samples filtered by discriminator rejection sampling.")
    p.add_argument("run_dir")
    p.add_argument("--mode", choices=SAMPLE_MODES, default="random",
                   help="random | truncated (truncation trick) | interpolate | slerp | class-grid | steer "
                        "(controllable generation: z follows a classifier's gradient) | arithmetic (mean z of "
                        "class A - B + C) | rejection (GANs: discriminator rejection sampling) | interpolate-text "
                        "(text-to-image models: from --text A to --text B)")
    p.add_argument("--n", type=int, default=64, help="samples for random, truncated and rejection (default 64)")
    p.add_argument("--percentile", type=_percentile, default=95.0, metavar="P",
                   help="rejection: gamma is this percentile of F(x) per batch (Azadi et al. 2019; higher is "
                        "stricter; default 95), or 'none' for exact rejection sampling")
    p.add_argument("--truncation", type=float, metavar="BOUND",
                   help="resample each z_i until |z_i| <= BOUND (implies --mode truncated's sampler; default 0.5). "
                        "A small bound puts z near 0, far inside the shell of radius ~sqrt(latent_dim) the "
                        "generator was trained on: a DCGAN then draws dim, grey images near G(0); try 1.0-2.0")
    p.add_argument("--rows", type=int, default=8, help="interpolate/slerp/steer: number of paths (default 8)")
    p.add_argument("--cols", type=int, default=8,
                   help="interpolate/slerp/steer: points per path; class-grid: samples per class; "
                        "arithmetic: latents per concept (default 8)")
    p.add_argument("--cond", type=int, metavar="CLASS", help="conditional models: generate this class")
    p.add_argument("--text", action="append", metavar="CAPTION",
                   help="text-to-image models: draw --n images of this caption (repeatable: one row each; "
                        "interpolate-text: the two ends)")
    p.add_argument("--text-file", metavar="FILE", help="text-to-image models: captions, one per line")
    p.add_argument("--target", type=int, metavar="CLASS",
                   help="steer: the class (of genzoo's classifier for the run's data) to steer toward")
    p.add_argument("--classes", metavar="A,B,C", help="arithmetic: generate mean z_A - mean z_B + mean z_C")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--step", type=int, help="use the checkpoint of this step (default: the latest)")
    p.add_argument("--input", metavar="DIR", help="translation models: translate every image under DIR, one PNG "
                                                  "each, into the folder --out (default RUN_DIR/translations)")
    p.add_argument("--out", help="the file to write (default: RUN_DIR/samples/MODE-seedS.png)")
    p.add_argument("--scale", type=_positive_int, metavar="N",
                   help="enlarge each pixel of an image grid to N x N (default: about 64 px per image; "
                        "2 for 28x28 MNIST, 8 for the 8x8 digits)")
