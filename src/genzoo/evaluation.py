"""`genzoo eval`: the metrics that apply to a trained run, each number with its protocol.

Which metrics apply follows from the run: image models are compared with the real test split
in the feature space of genzoo's own classifier (FD, KID, PRDC, classifier score, classes);
toy 2-D models get the PacGAN mode metrics; VAE-family models an importance-sampled NLL;
RBMs and DBMs an AIS log-likelihood (or its lower bound); models with features a linear probe;
models with a categorical code q(y|x) (AAE semi and cluster) its test error.
The results are merged into RUN_DIR/eval.json.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import torch

from .data import load_dataset
from .errors import GenzooError
from .models.base import TRANSLATION_KINDS
from .training.checkpoint import list_checkpoints
from .training.rundir import load

IMAGE_METRICS = ("fd", "kid", "prdc", "cs", "classes")
TRANSLATION_METRICS = ("l1", "digits")
# metrics whose code says in detail why they do not apply (which AAE mode, which data set or direction)
EXPLAIN_THEIR_OWN_REFUSAL = ("classify", "l1", "digits")
ALL_METRICS = (IMAGE_METRICS + ("inception_fid", "toy", "nll", "loglik", "probe", "classify", "samples")
               + TRANSLATION_METRICS + ("captions",))


def model_features(model, x: torch.Tensor) -> torch.Tensor | None:
    """A model's representation of x: encoder means, hidden-unit posteriors or D's penultimate layer."""
    for name in ("encode_mean", "hidden_features"):
        if hasattr(model, name):
            return getattr(model, name)(x)
    disc = getattr(model, "D", None)
    if disc is not None and hasattr(disc, "features"):
        return disc.features(x * 2 - 1)  # D sees images in [-1, 1]
    return None


def default_metrics(model, test_split) -> list[str]:
    """The metrics that apply to `model`; test_split() returns the run's test split (translation models:
    l1 needs aligned test pairs)."""
    kind = model.data.kind
    out = []
    if kind == "image":
        out += list(IMAGE_METRICS)
        if hasattr(model, "log_importance_weights"):
            out.append("nll")
        if model.name in ("rbm", "dbm"):
            out.append("loglik")
        if model_features(model, torch.zeros(2, *model.data.shape, device=model.device)) is not None:
            out.append("probe")
        if getattr(model, "classifies", False):
            out.append("classify")
    elif kind == "points":
        out.append("toy")
    elif kind == "captioned":
        out.append("captions")   # text-to-image models: metrics/captions.py
    elif kind in TRANSLATION_KINDS:
        from .metrics.translation import DIGIT_SETS
        out += ["l1"] if test_split().kind == "pair" else []
        out += ["digits"] if model.cfg.direction in DIGIT_SETS.get(model.run_config.data.name, ()) else []
    if hasattr(model, "evaluate_samples"):
        out.append("samples")
    return out


def applicable_metrics(model, test_split) -> list[str]:
    """Every metric `genzoo eval --metrics` accepts for `model`: the defaults, and Inception-FID for images."""
    out = default_metrics(model, test_split)
    if model.data.kind == "image":
        out.insert(len(IMAGE_METRICS), "inception_fid")
    return out


# the papers' protocol, and a cheaper one for a first look (genzoo eval --quick)
FULL_PROTOCOL = {"n": 10000, "k": 5000, "ais_runs": 100, "ais_betas": 14500}
QUICK_PROTOCOL = {"n": 2000, "k": 500, "ais_runs": 20, "ais_betas": 1000}

# below this many real images, FD and KID are far from their large-sample values: say so, beside the floor
SMALL_COMPARISON = 2000


def score_images(evaluator, fake: torch.Tensor, log=print) -> dict:
    """{metric: result with its protocol} of `fake` against the evaluator's real images. The sample counts
    are printed; against fewer than SMALL_COMPARISON real images a warning says so, and each metric carries
    `real_floor`, the real-vs-real value at the same counts, the number to read it next to."""
    r = evaluator.evaluate(fake)
    protocol = r.pop("protocol")
    r.pop("timings", None)
    n_fake, n_real = min(len(fake), evaluator.n), protocol["n_real"]
    log(f"genzoo: comparing {n_fake} samples with {n_real} real images ({protocol['real_split']} of "
        f"{protocol['dataset']}) in the features of genzoo's classifier {evaluator.fx.id}")
    if n_real < SMALL_COMPARISON:
        floor = evaluator.real_vs_real(n_fake)
        for name, value in r.items():
            if name in floor:
                value["real_floor"] = {k: v for k, v in floor[name].items() if isinstance(v, (int, float))}
        log(f"genzoo: warning: only {n_real} real images to compare with (fewer than {SMALL_COMPARISON}): FD and "
            f"KID are biased at this size and differ between runs; read each number next to its real-vs-real "
            f"floor at the same size (shown as 'floor'; `genzoo eval --real {protocol['dataset']} --n {n_real}` "
            "gives the whole table)")
    return {name: {**value, "protocol": protocol} for name, value in r.items()}


def run_split(cfg, split="test"):
    """The run's dataset, `split` (test by default), as the run saw it (its image size and channels)."""
    d = cfg.data
    return load_dataset(d.name, split, root=d.root, download=d.download, verify=d.verify,
                        image_size=d.image_size, channels=d.channels)


def class_probabilities(model, x: torch.Tensor, *, averaged: bool = True, batch: int = 2000) -> torch.Tensor:
    """q(y|x) of a model with a categorical code, (N, K) on the CPU; x in batches on the model's device."""
    return torch.cat([model.class_probabilities(b.to(model.device), averaged).float().cpu() for b in x.split(batch)])


def _classification(model, cfg, test, n: int) -> dict:
    """The `classify` metric: semi-supervised test error, or the cluster error under both labellings."""
    from .metrics.clustering import cluster_error, error_percent

    if not getattr(model, "classifies", False):
        raise GenzooError("the classify metric reads a categorical code q(y|x): it applies to an AAE with "
                          "model.mode=semi or cluster")
    if test.y is None:
        raise GenzooError(f"the classify metric needs labels and {test.source} has none")
    x, y = test.x[:n].float().div(255), test.y[:n].long()
    probs = class_probabilities(model, x)
    q_from = f"the encoder's moving average (model.ema={model.cfg.ema})" if model.encoder_ema is not None \
        else "the encoder"
    split = f"{test.source}, test split, first {len(x)} images; q(y|x) from {q_from}"
    if model.cfg.mode == "semi":
        used = int(model.lab_count.sum()) if len(model.lab_y) else "every training label"
        return {"error_percent": error_percent(probs.argmax(1), y), "n_test": len(x), "labels_used": used,
                "protocol": f"argmax_y q(y|x) against the label (Makhzani et al. 2015, Table 2); {split}"}
    train = run_split(cfg, "train")
    if train.y is None:
        raise GenzooError(f"labelling the clusters needs training labels and {train.source} has none")
    r = cluster_error(class_probabilities(model, train.x.float().div(255)), train.y.long(), probs, y)
    return {**r, "n_train": len(train), "n_test": len(x),
            "protocol": f"each test image takes its cluster's label: exemplar = the label of the training image "
                        f"with the largest q(y_i|x) (Makhzani et al. 2015, section 6), majority = the most common "
                        f"label of the cluster's {len(train)} training images; {split}"}


def _binarized(x: torch.Tensor, seed: int) -> torch.Tensor:
    return torch.bernoulli(x, generator=torch.Generator().manual_seed(seed))


def _sample(model, n: int, seed: int, batch: int = 1000) -> torch.Tensor:
    g = torch.Generator(device=model.device).manual_seed(seed)
    return torch.cat([model.sample(min(batch, n - i), generator=g).float().cpu() for i in range(0, n, batch)])


#: the most samples one evaluation draws (the standard FID protocol's count); more would only cost memory
MAX_EVAL_SAMPLES = 50_000


def evaluate_run(run_dir: str | Path, *, n: int | None = None, metrics: list[str] | None = None,
                 k: int | None = None, seed: int = 0, ais_runs: int | None = None, ais_betas: int | None = None,
                 step: int | None = None, quick: bool = False, progress: bool = True, log=print) -> dict:
    """Evaluate the run's latest checkpoint (or that of `step`); returns {metric: {value..., protocol...}}
    and merges it into eval.json (each entry records its checkpoint_step).

    n, k, ais_runs, ais_betas: as given, else FULL_PROTOCOL's (the papers'), or with quick=True
    QUICK_PROTOCOL's, cheaper and noisier; each entry then says "protocol_level": "quick".
    progress: progress bars with ETAs on stderr for the long estimates (AIS, importance-sampled NLL)."""
    defaults = QUICK_PROTOCOL if quick else FULL_PROTOCOL
    n, k = defaults["n"] if n is None else n, defaults["k"] if k is None else k
    ais_runs = defaults["ais_runs"] if ais_runs is None else ais_runs
    ais_betas = defaults["ais_betas"] if ais_betas is None else ais_betas
    run_dir = Path(run_dir)
    if not 2 <= n <= MAX_EVAL_SAMPLES:
        raise GenzooError(f"--n must be from 2 to {MAX_EVAL_SAMPLES:,} (the standard FID sample count), got {n:,}: "
                          "the generated samples are held in memory")
    model = load(run_dir, step=step)
    cfg = model.run_config
    test = None

    def test_split():
        nonlocal test
        if test is None:
            test = run_split(cfg)
        return test

    metrics = list(metrics or default_metrics(model, test_split))
    unknown = [m for m in metrics if m not in ALL_METRICS]
    if unknown:
        raise GenzooError(f"unknown metric(s) {', '.join(unknown)}; choose from {', '.join(ALL_METRICS)}")
    applies = applicable_metrics(model, test_split)
    wrong = [m for m in metrics if m not in applies and m not in EXPLAIN_THEIR_OWN_REFUSAL]
    if wrong:
        raise GenzooError(f"{', '.join(wrong)} {'does' if len(wrong) == 1 else 'do'} not apply to {cfg.name} "
                          f"on {cfg.data.name}; the metrics that do: {', '.join(applies)}")
    results: dict = {}
    if step is None:
        step = list_checkpoints(run_dir / "checkpoints")[-1][0]  # the one load() chose
    common = {"checkpoint_step": step, "seed": seed, "protocol_level": "quick" if quick else "full"}
    if quick:
        common["quick"] = (f"--quick: a cheaper protocol ({n} samples, NLL k={k}, AIS {ais_runs} runs x "
                           f"{ais_betas} temperatures); noisier, and not comparable with full-protocol numbers")
        log(f"genzoo: {common['quick']}")

    image = [m for m in metrics if m in IMAGE_METRICS + ("inception_fid",)]
    if image:
        from .metrics import ImageEvaluator
        t = time.time()
        fake = _sample(model, n, seed)
        evaluator = ImageEvaluator(cfg.data.name, n=n, metrics=tuple(image), root=cfg.data.root, seed=seed)
        for name, value in score_images(evaluator, fake, log).items():
            results[name] = {**value, **common}
        log(f"genzoo: image metrics took {time.time() - t:.0f} s")
    if "toy" in metrics:
        from .data import toy_modes
        from .metrics import toy_metrics
        centers, std = toy_modes(cfg.data.name)
        m = min(n, 2500)  # the PacGAN protocol draws 2,500 samples
        results["toy"] = {**toy_metrics(_sample(model, m, seed), centers, std), "n_samples": m,
                          "protocol": "PacGAN: high quality = within 3 std of the nearest mode; a mode is "
                                      "captured with >= 1 high-quality sample; reverse KL of the mode histogram",
                          **common}
    if "nll" in metrics:
        from .metrics import importance_sampled_nll
        ds = test_split()
        x = ds.x[:n].float().div(255)
        bernoulli = getattr(model.cfg, "likelihood", "bernoulli") == "bernoulli"
        x = _binarized(x, seed) if bernoulli else x
        y = ds.y[:n] if ds.y is not None else None
        fn = (lambda xb, kc: model.log_importance_weights(xb.to(model.device), kc)) if y is None or \
            not getattr(model.cfg, "conditional", False) else None
        if fn is None:
            raise GenzooError("the NLL of a conditional model needs labels; not supported by genzoo eval yet")
        torch.manual_seed(seed)
        r = importance_sampled_nll(fn, x, k=k, progress=progress, protocol={
            "split": f"{ds.source}, test split, first {len(x)} images",
            "binarization": f"stochastic, one Bernoulli draw per pixel with seed {seed}" if bernoulli
            else "none (Gaussian likelihood on [0, 1] pixels)"})
        results["nll"] = {**r.to_dict(), **common}
    if "loglik" in metrics:
        from .metrics.ais import ais_log_z, dbm_lower_bound, rbm_log_likelihood
        ds = test_split()
        train_x = run_split(cfg, "train").x.float().div(255)
        x = ds.x[:n].float().div(255)
        dynamic = model.cfg.binarize == "dynamic"  # trained on Bernoulli draws: scored on one fixed draw
        x = _binarized(x, seed) if dynamic else x
        t = time.time()
        z = ais_log_z(model, data=train_x, betas=ais_betas, n_runs=ais_runs,
                      generator=torch.Generator().manual_seed(seed), progress=progress)
        est = rbm_log_likelihood(model, x, z) if model.name == "rbm" else dbm_lower_bound(model, x, z)
        results["loglik"] = {"value": est, "kind": "log-likelihood" if model.name == "rbm" else
                             "variational lower bound on log-likelihood", "ais": z.to_dict(),
                             "n_test": len(x), "seconds": round(time.time() - t, 1),
                             "binarization": f"stochastic, one Bernoulli draw per pixel with seed {seed}" if dynamic
                             else f"the model's own (model.binarize={model.cfg.binarize})",
                             "protocol": f"AIS (Salakhutdinov & Murray 2008), base-rate model from the training "
                                         f"data, {ais_runs} runs, {ais_betas} temperatures; test split of {ds.source}"
                                         + (f", binarized once (x ~ Bernoulli(pixel), seed {seed})" if dynamic else ""),
                             **common}
    if "probe" in metrics:
        from .metrics import kmeans_features, linear_probe
        train = run_split(cfg, "train")
        ds = test_split()
        if train.y is None:
            raise GenzooError(f"the linear probe needs labels and {train.source} has none")
        m = min(n, len(train))
        xtr, ytr = train.x[:m].float().div(255), train.y[:m]
        xte, yte = ds.x.float().div(255), ds.y
        with torch.no_grad():
            ftr, fte = (torch.cat([model_features(model, b.to(model.device)).flatten(1).cpu()
                                   for b in xs.split(1000)]) for xs in (xtr, xte))
        centroids = min(256, m // 2)  # the DCGAN paper's K-means baseline, capped for small sets
        ktr, kte = kmeans_features(xtr.flatten(1), xte.flatten(1), k=centroids, seed=seed)
        results["probe"] = {
            "model_features": linear_probe(ftr, ytr, fte, yte, seed=seed),
            "raw_pixels": linear_probe(xtr.flatten(1), ytr, xte.flatten(1), yte, seed=seed),
            "kmeans_features": linear_probe(ktr, ytr, kte, yte, seed=seed),
            "protocol": f"logistic regression on standardized features; {m} training images, "
                        f"{len(xte)} test images of {ds.source}; K-means with {centroids} centroids", **common}
    if "classify" in metrics:
        results["classify"] = {**_classification(model, cfg, test_split(), n), **common}
    if "l1" in metrics or "digits" in metrics:
        from .metrics.translation import DIGIT_SETS, digit_scores, l1_scores, translations
        ds = test_split()
        if "l1" in metrics and ds.kind != "pair":
            raise GenzooError(f"the l1 metric compares translations with their targets, and the test split of "
                              f"{ds.source} has no aligned pairs")
        if "digits" in metrics and model.cfg.direction not in DIGIT_SETS.get(cfg.data.name, ()):
            applies = ", ".join(f"{name} ({' or '.join(dirs)})" for name, dirs in DIGIT_SETS.items())
            raise GenzooError(f"the digits metric reads translated digits with genzoo's MNIST classifier: it "
                              f"applies to {applies}, not {cfg.data.name} ({model.cfg.direction})")
        source, fake, target = translations(model, ds, n, seed)
        split = f"{ds.source}, test split, first {len(fake)} pairs, {model.cfg.direction}"
        if "l1" in metrics:
            results["l1"] = {**l1_scores(source, fake, target), "split": split, **common}
        if "digits" in metrics:
            results["digits"] = {**digit_scores(fake, target, ds.y[:n], root=cfg.data.root), "split": split,
                                 **common}
    if "captions" in metrics:
        from .metrics.captions import evaluate_captions
        results["captions"] = {**evaluate_captions(model, test_split(), n, seed, root=cfg.data.root), **common}
    if "samples" in metrics:
        results["samples"] = {**model.evaluate_samples(_sample(model, min(n, 10000), seed)), **common}

    _merge_into_eval_json(run_dir / "eval.json", results, log)
    return results


def _merge_into_eval_json(path: Path, results: dict, log) -> None:
    """Add `results` to eval.json. An eval.json that does not read back as a JSON object is moved aside
    (eval.json.corrupt, then .corrupt-2, ...) with a notice, so the new results are never lost to it."""
    previous = {}
    if path.exists():
        try:
            previous = json.loads(path.read_bytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            previous = None
        if not isinstance(previous, dict):
            aside, i = path.with_name(path.name + ".corrupt"), 1
            while aside.exists():
                i += 1
                aside = path.with_name(f"{path.name}.corrupt-{i}")
            os.replace(path, aside)
            log(f"genzoo: notice: {path} was not a JSON object of results; moved it to {aside} "
                "and wrote the new results alone")
            previous = {}
    previous.update(results)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(previous, indent=2, default=float) + "\n")
    os.replace(tmp, path)


def _floor_text(name: str, floor: dict) -> str:
    if name == "prdc":
        return ", ".join(f"{k} {floor[k]:.3f}" for k in ("precision", "recall", "density", "coverage"))
    if name == "classes":
        return f"{floor['classes_covered']} classes, KL {floor['kl_to_data']:.3f}"
    return f"{floor['value']:.4f}"


def format_results(results: dict) -> str:
    """One line per number: name, value, and the protocol in brief."""
    lines = []
    for name, r in results.items():
        if name == "prdc":
            value = ", ".join(f"{k} {r[k]:.3f}" for k in ("precision", "recall", "density", "coverage"))
        elif name == "probe":
            value = ", ".join(f"{k} {r[k]:.4f}" for k in ("model_features", "raw_pixels", "kmeans_features"))
        elif name == "toy":
            value = (f"modes {r['modes_captured']}/{r['num_modes']}, high quality {r['high_quality_percent']:.1f}%, "
                     f"reverse KL {r['reverse_kl']:.3f}, mean log-density {r['mean_log_density']:.2f}")
        elif name == "nll":
            value = f"{r['nll']:.2f} +/- {r['stderr']:.2f} nats (k={r['k']}, n={r['n']})"
        elif name == "l1":
            value = f"{r['l1']:.4f} per pixel (the untranslated source: {r['l1_of_the_source']:.4f})"
        elif name == "digits":
            value = (f"{100 * r['label_accuracy']:.1f}% read as the source's digit (real targets "
                     f"{100 * r['label_accuracy_of_real_targets']:.1f}%), FD to the targets {r['fd_to_targets']:.2f}")
        elif name == "classify" and "error_percent" in r:
            value = f"{r['error_percent']:.2f}% test error (n={r['n_test']}, labels used: {r['labels_used']})"
        elif name == "classify":
            value = (f"{r['exemplar_error_percent']:.2f}% test error with exemplar labels, "
                     f"{r['majority_error_percent']:.2f}% with majority labels; "
                     f"{r['clusters_used']} of {r['clusters']} clusters used (n={r['n_test']})")
        elif name == "captions":
            value = "; ".join(f"{stage}: caption accuracy " + ", ".join(
                f"{split} {100 * r[stage][split]['caption_accuracy']:.1f}% (real {100 * r[stage][split]['real_caption_accuracy']:.1f}%)"
                for split in ("seen", "held_out") if split in r[stage]) + f", FD {r[stage]['fd_digits']:.2f}"
                for stage in ("final", "stage1") if stage in r)
        elif name == "classes":
            value = f"{r['classes_covered']} classes covered, KL to data {r['kl_to_data']:.3f}"
        elif "value" in r:
            value = f"{r['value']:.4f}" + (f" +/- {r['std']:.4f}" if "std" in r else "")
        else:
            value = ", ".join(f"{k} {v}" for k, v in r.items() if isinstance(v, (int, float)) and k != "seed")
        extra = f"  [n_fake {r['n_fake']}, n_real {r['n_real']}]" if "n_real" in r else ""
        if "real_floor" in r:
            extra += "  floor: " + _floor_text(name, r["real_floor"])
        lines.append(f"  {name:14s} {value}{extra}")
    return "\n".join(lines)
