"""`genzoo eval`: the metrics that apply to a trained run, each number with its protocol.

Every metric is registered in genzoo.metrics.registry with the data kinds it applies to, whether
`genzoo eval` runs it by default, its protocol and its one-line summary; this module registers
genzoo's own: image models are compared with the real test split in the feature space of genzoo's
own classifier (FD, KID, PRDC, classifier score, classes; Inception-FID on request); toy 2-D models
get the PacGAN mode metrics; VAE-family models an importance-sampled NLL; RBMs and DBMs an AIS
log-likelihood (or its lower bound); models with features a linear probe; models with a
categorical code q(y|x) (AAE semi and cluster) its test error; translation models L1 and digits;
text-to-image models their caption accuracy. Each runs under a protocol (PROTOCOLS): the quick one by
default, the papers' budget with protocol="paper". The results are merged into RUN_DIR/eval.json.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import torch

from .data import load_dataset
from .errors import GenzooError
from .metrics.registry import METRICS, register_metric
from .models.base import TRANSLATION_KINDS
from .safe_write import read_regular_file, write_text
from .training.rundir import RunDir

IMAGE_METRICS = ("fd", "kid", "prdc", "cs", "classes", "inception_fid")
MAX_EVAL_JSON_BYTES = 10 << 20   # results of every metric are a few kB


def run_split(cfg, split="test"):
    """The run's dataset, `split` (test by default), as the run saw it (its image size and channels)."""
    d = cfg.data
    return load_dataset(d.name, split, root=d.root, download=d.download, verify=d.verify,
                        image_size=d.image_size, channels=d.channels)


def _sample(model, n: int, seed: int, batch: int = 1000) -> torch.Tensor:
    g = torch.Generator(device=model.device).manual_seed(seed)
    return torch.cat([model.sample(min(batch, n - i), generator=g).float().cpu() for i in range(0, n, batch)])


class Evaluation:
    """What a metric sees: the run (configuration, data splits loaded once), its model at the evaluated
    checkpoint, and the options of `genzoo eval` (the protocol's name and budget: n, k, AIS runs and
    temperatures, Inception-FID's sample count; the seed)."""

    def __init__(self, run: RunDir, *, step: int | None = None, protocol: str = "quick", seed: int = 0,
                 metrics: tuple[str, ...] = (), progress: bool = True, log=print, **budget: int):
        self.run, self.config = run, run.config
        self.step = run.checkpoint(step)[0]
        self.model = run.load_model(self.step)
        self.protocol, self.budget = protocol, {**PROTOCOLS[protocol], **budget}
        self.n, self.k, self.ais_runs, self.ais_betas, self.inception_n = (
            self.budget[key] for key in ("n", "k", "ais_runs", "ais_betas", "inception_n"))
        self.seed, self.log, self.metrics, self.progress = seed, log, metrics, progress
        self._splits: dict = {}
        self._cache: dict = {}

    def split(self, name: str = "test"):
        """The run's data split `name`, as the run saw it (loaded once)."""
        if name not in self._splits:
            self._splits[name] = run_split(self.config, name)
        return self._splits[name]

    def samples(self, n: int) -> torch.Tensor:
        """n samples of the model (float, CPU), drawn with the evaluation seed (the same for every metric)."""
        return self._once(("samples", n), lambda: _sample(self.model, n, self.seed))

    def _once(self, key, compute):
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    @property
    def common(self) -> dict:
        """What every result of this evaluation records: the checkpoint, the seed, the protocol's name and budget."""
        out = {"checkpoint_step": self.step, "seed": self.seed, "protocol_level": self.protocol,
               "budget": dict(self.budget)}
        changed = sorted(k for k, v in self.budget.items() if v != PROTOCOLS[self.protocol][k])
        if changed:
            out["budget_changed"] = changed
        if self.protocol == "quick":
            out["quick"] = QUICK_NOTE
        return out


def applicable_metrics(ev: Evaluation) -> list[str]:
    """Every registered metric that applies to the run, in registration order."""
    return [name for name, m in METRICS.items() if m.refusal(ev) is None]


def default_metrics(ev: Evaluation) -> list[str]:
    """The metrics `genzoo eval` runs without --metrics: the registered defaults that apply."""
    return [name for name in applicable_metrics(ev) if METRICS[name].default]


def check_metrics(ev: Evaluation, metrics: list[str]) -> None:
    """Refuse unknown metrics, and metrics that do not apply (with the reason, or the ones that do)."""
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise GenzooError(f"unknown metric(s) {', '.join(unknown)}; choose from {', '.join(METRICS)}")
    refusals = {m: r for m in metrics if (r := METRICS[m].refusal(ev)) is not None}
    plain = [m for m, reason in refusals.items() if not reason]
    if plain:
        cfg = ev.config
        raise GenzooError(f"{', '.join(plain)} {'does' if len(plain) == 1 else 'do'} not apply to {cfg.name} on "
                          f"{cfg.data.name}; the metrics that do: {', '.join(applicable_metrics(ev))}")
    if refusals:
        raise GenzooError(next(iter(refusals.values())))


#: `genzoo eval --protocol`: "quick" (the default) finishes in about a minute on 2 CPU cores for every preset's
#: run and reports standard errors; "paper" is the papers' budget: 10,000 samples (Lucic et al. 2018), k = 5,000
#: importance samples (Burda et al. 2016), AIS with 100 runs x 14,500 temperatures (Salakhutdinov & Murray 2008)
PROTOCOLS = {
    "quick": {"n": 2000, "k": 100, "ais_runs": 20, "ais_betas": 1000, "inception_n": 500},
    "paper": {"n": 10000, "k": 5000, "ais_runs": 100, "ais_betas": 14500, "inception_n": 10000},
}
QUICK_NOTE = ("the quick protocol: fewer samples, importance samples and AIS temperatures than the papers', so "
              "noisier (read the standard errors) and biased toward worse likelihoods; compare only with numbers "
              "of the same protocol (`genzoo eval --protocol paper` for the papers')")

#: the most samples one evaluation draws (the standard FID protocol's count); more would only cost memory
MAX_EVAL_SAMPLES = 50_000


def evaluate_run(run_dir: str | Path, *, protocol: str = "quick", metrics: list[str] | None = None, seed: int = 0,
                 step: int | None = None, progress: bool = True, log=print, **budget: int | None) -> dict:
    """Evaluate the run's latest checkpoint (or that of `step`); returns {metric: {value..., protocol...}}
    and merges it into eval.json (each entry records its checkpoint_step, protocol_level and budget).

    protocol: "quick" or "paper" (PROTOCOLS); budget: n, k, ais_runs, ais_betas, inception_n given here
    replace the protocol's. progress: progress bars with ETAs on stderr for the long estimates."""
    if protocol not in PROTOCOLS:
        raise GenzooError(f"unknown protocol '{protocol}'; choose from {', '.join(PROTOCOLS)}")
    budget = {k: v for k, v in budget.items() if v is not None}
    unknown = sorted(set(budget) - set(PROTOCOLS[protocol]))
    if unknown:
        raise GenzooError(f"unknown budget setting(s) {', '.join(unknown)}; "
                          f"choose from {', '.join(PROTOCOLS[protocol])}")
    n = budget.get("n", PROTOCOLS[protocol]["n"])
    if not 2 <= n <= MAX_EVAL_SAMPLES:
        raise GenzooError(f"--n must be from 2 to {MAX_EVAL_SAMPLES:,} (the standard FID sample count), got {n:,}: "
                          "the generated samples are held in memory")
    run = RunDir.open(run_dir)
    ev = Evaluation(run, step=step, protocol=protocol, seed=seed, progress=progress, log=log, **budget)
    ev.metrics = tuple(metrics or default_metrics(ev))
    check_metrics(ev, list(ev.metrics))
    log(f"genzoo: the {protocol} protocol: " + ", ".join(f"{k} {v}" for k, v in ev.budget.items())
        + ("" if protocol == "paper" else " (`--protocol paper` for the papers' budget)"))
    results = {name: {**METRICS[name].compute(ev), **ev.common} for name in METRICS if name in ev.metrics}
    _merge_into_eval_json(run.path / "eval.json", results, log)
    return results


def _merge_into_eval_json(path: Path, results: dict, log) -> None:
    """Add `results` to eval.json. An eval.json that does not read back as a JSON object is moved aside
    (eval.json.corrupt, then .corrupt-2, ...) with a notice, so the new results are never lost to it; one
    that cannot be written (a folder, a link, a FIFO, a full disk) gets the results printed in full instead."""
    previous = _previous_results(path, log)
    previous.update(results)
    try:
        write_text(path, json.dumps(previous, indent=2, default=float) + "\n")
    except GenzooError as e:
        log(f"genzoo: notice: {e}. The results were not saved; here they are in full:\n"
            + json.dumps(results, indent=2, default=float))
    except KeyboardInterrupt:   # Ctrl-C or SIGTERM while writing: eval.json is as it was; keep the results
        log(f"genzoo: notice: interrupted while writing {path}, which is kept as it was; the results in full:\n"
            + json.dumps(results, indent=2, default=float))
        raise


def _previous_results(path: Path, log) -> dict:
    """The results already in eval.json: {} when there is none, or when it is not a regular file (kept as it
    is; the write then says why) or not a JSON object (moved aside with a notice)."""
    if not path.exists() and not path.is_symlink():
        return {}
    data, why = read_regular_file(path, MAX_EVAL_JSON_BYTES)
    if data is None and not why.startswith("over"):
        return {}
    try:
        previous = json.loads(data.decode("utf-8")) if data is not None else None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        previous = None
    if isinstance(previous, dict):
        return previous
    aside, i = path.with_name(path.name + ".corrupt"), 1
    while aside.exists():
        i += 1
        aside = path.with_name(f"{path.name}.corrupt-{i}")
    try:
        os.replace(path, aside)
    except OSError as e:   # a run directory this user cannot write: the write fails next and prints the results
        log(f"genzoo: notice: {path} is not a JSON object of results and cannot be moved aside ({e.strerror or e})")
        return {}
    log(f"genzoo: notice: {path} was not a JSON object of results; moved it to {aside} "
        "and wrote the new results alone")
    return {}


# ----------------------------------------------------------------------------------- image metrics

# below this many real images, FD and KID are far from their large-sample values: say so, beside the floor
SMALL_COMPARISON = 2000


def score_images(evaluator, fake: torch.Tensor, log=print, *, real_floor=None) -> dict:
    """{metric: result with its protocol} of `fake` against the evaluator's real images. The sample counts
    are printed; against fewer than SMALL_COMPARISON real images a warning says so, and each metric carries
    `real_floor`, the real-vs-real value at the same counts, the number to read it next to. real_floor(n_fake):
    that value, when the evaluator's real images are not the dataset's (default: evaluator.real_vs_real)."""
    r = evaluator.evaluate(fake)
    protocol = r.pop("protocol")
    r.pop("timings", None)
    n_fake, n_real = min(len(fake), evaluator.n), protocol["n_real"]
    real = protocol["real_split"] if real_floor else f"{protocol['real_split']} of {protocol['dataset']}"
    log(f"genzoo: comparing {n_fake} samples with {n_real} real images ({real}) in the features of genzoo's "
        f"classifier {evaluator.fx.id}")
    if n_real < SMALL_COMPARISON:
        floor = (real_floor or evaluator.real_vs_real)(n_fake)
        for name, value in r.items():
            if name in floor:
                value["real_floor"] = {k: v for k, v in floor[name].items() if isinstance(v, (int, float))}
        log(f"genzoo: warning: only {n_real} real images to compare with (fewer than {SMALL_COMPARISON}): FD and "
            f"KID are biased at this size and differ between runs; read each number next to its real-vs-real "
            f"floor at the same size (shown as 'floor'; `genzoo eval --real {protocol['dataset']} --n {n_real}` "
            "gives the whole table)")
    return {name: {**value, "protocol": protocol} for name, value in r.items()}


def dataset_classifier(ev: Evaluation, dataset: str):
    """genzoo's classifier for `dataset` (the feature space of the image and caption metrics): from the cache,
    or trained once, saying so first, since it takes a minute or more."""
    from .metrics import MetricError, get_feature_extractor
    from .metrics.features import default_cache_dir

    root = ev.config.data.root
    try:
        return get_feature_extractor(dataset, root=root, train_if_missing=False)
    except MetricError:
        ev.log(f"genzoo: training genzoo's classifier for {dataset}, the feature space of its metrics (a one-time "
               f"cost: it is cached in {default_cache_dir()} for every later evaluation)")
        return get_feature_extractor(dataset, root=root, verbose=ev.progress)


def _image_results(ev: Evaluation) -> dict:
    """Every requested image metric from one set of samples and one pass of the feature extractor."""
    def compute():
        from .metrics import ImageEvaluator
        t = time.time()
        fake = ev.samples(ev.n)
        wanted = tuple(m for m in IMAGE_METRICS if m in ev.metrics)
        fx = dataset_classifier(ev, ev.config.data.name)
        evaluator = ImageEvaluator(ev.config.data.name, n=ev.n, metrics=wanted, root=ev.config.data.root,
                                   seed=ev.seed, inception_n=ev.inception_n, extractor=fx)
        scores = score_images(evaluator, fake, ev.log)
        ev.log(f"genzoo: image metrics took {time.time() - t:.0f} s")
        return scores
    return ev._once("image metrics", compute)


def _register_image_metric(name: str, protocol: str, format, default: bool = True) -> None:
    register_metric(name, kinds=("image",), protocol=protocol, default=default, format=format)(
        lambda ev: _image_results(ev)[name])


def _value(r: dict) -> str:
    spread = next((f" +/- {r[key]:.4f}" + (" (std error)" if key == "stderr" else "")
                   for key in ("std", "stderr") if key in r), "")
    return f"{r['value']:.4f}{spread}"


_register_image_metric("fd", "Frechet distance in the features of genzoo's classifier for the dataset", _value)
_register_image_metric("kid", "kernel inception distance (cubic kernel) in the same features", _value)
_register_image_metric("prdc", "improved precision/recall, density/coverage (k = 5) in the same features",
                       lambda r: ", ".join(f"{k} {r[k]:.3f}" for k in ("precision", "recall", "density", "coverage")))
_register_image_metric("cs", "classifier score (the Inception Score computed with genzoo's classifier)", _value)
_register_image_metric("classes", "histogram of the classifier's labels of the samples against the data's",
                       lambda r: f"{r['classes_covered']} classes covered, KL to data {r['kl_to_data']:.3f}")
_register_image_metric("inception_fid", "FID in the standard Inception features (needs their weights)", _value,
                       default=False)


# ----------------------------------------------------------------------------- the other metrics

def _format_toy(r: dict) -> str:
    kl = r["reverse_kl"]   # NaN when no sample is of high quality: the mode histogram is empty
    kl = "undefined (no high-quality sample)" if kl != kl else f"{kl:.3f}"
    return (f"modes {r['modes_captured']}/{r['num_modes']}, high quality {r['high_quality_percent']:.1f}%, "
            f"reverse KL {kl}, mean log-density {r['mean_log_density']:.2f}")


@register_metric("toy", kinds=("points",), protocol="PacGAN mode metrics of 2,500 samples", format=_format_toy)
def toy(ev: Evaluation) -> dict:
    from .data import toy_modes
    from .metrics import toy_metrics
    centers, std = toy_modes(ev.config.data.name)
    m = min(ev.n, 2500)  # the PacGAN protocol draws 2,500 samples
    return {**toy_metrics(ev.samples(m), centers, std), "n_samples": m,
            "protocol": "PacGAN: high quality = within 3 std of the nearest mode; a mode is "
                        "captured with >= 1 high-quality sample; reverse KL of the mode histogram"}


def _binarized(x: torch.Tensor, seed: int) -> torch.Tensor:
    return torch.bernoulli(x, generator=torch.Generator().manual_seed(seed))


@register_metric("nll", kinds=("image",), protocol="importance-sampled negative log-likelihood (k samples per image)",
                 applies=lambda ev: None if hasattr(ev.model, "log_importance_weights") else "",
                 format=lambda r: f"{r['nll']:.2f} +/- {r['stderr']:.2f} nats (k={r['k']}, n={r['n']})")
def nll(ev: Evaluation) -> dict:
    from .metrics import importance_sampled_nll
    model, ds, seed = ev.model, ev.split("test"), ev.seed
    x = ds.x[:ev.n].float().div(255)
    bernoulli = getattr(model.cfg, "likelihood", "bernoulli") == "bernoulli"
    x = _binarized(x, seed) if bernoulli else x
    if ds.y is not None and getattr(model.cfg, "conditional", False):
        raise GenzooError("the NLL of a conditional model needs labels; not supported by genzoo eval yet")
    torch.manual_seed(seed)
    r = importance_sampled_nll(lambda xb, kc: model.log_importance_weights(xb.to(model.device), kc), x, k=ev.k,
                               progress=ev.progress, protocol={"split": f"{ds.source}, test split, first {len(x)} images",
                                         "binarization": f"stochastic, one Bernoulli draw per pixel with seed {seed}"
                                         if bernoulli else "none (Gaussian likelihood on [0, 1] pixels)"})
    return r.to_dict()


@register_metric("loglik", kinds=("image",), protocol="AIS estimate of log Z, then the test log-likelihood "
                                                     "(RBM) or its variational lower bound (DBM)",
                 applies=lambda ev: None if ev.model.name in ("rbm", "dbm") else "", format=_value)
def loglik(ev: Evaluation) -> dict:
    from .metrics.ais import ais_log_z, dbm_lower_bound, rbm_log_likelihood
    model, ds, seed = ev.model, ev.split("test"), ev.seed
    train_x = ev.split("train").x.float().div(255)
    x = ds.x[:ev.n].float().div(255)
    dynamic = model.cfg.binarize == "dynamic"  # trained on Bernoulli draws: scored on one fixed draw
    x = _binarized(x, seed) if dynamic else x
    t = time.time()
    z = ais_log_z(model, data=train_x, betas=ev.ais_betas, n_runs=ev.ais_runs,
                  generator=torch.Generator().manual_seed(seed), progress=ev.progress)
    est = (rbm_log_likelihood if model.name == "rbm" else dbm_lower_bound)(model, x, z, per_example=True)
    return {"value": est.mean().item(), "stderr": _loglik_stderr(est, z.log_z_stderr),
            "stderr_test": est.std().item() / len(est) ** 0.5 if len(est) > 1 else float("nan"),
            "stderr_log_z": z.log_z_stderr,
            "kind": "log-likelihood" if model.name == "rbm" else "variational lower bound on log-likelihood",
            "ais": z.to_dict(), "n_test": len(x), "seconds": round(time.time() - t, 1),
            "binarization": f"stochastic, one Bernoulli draw per pixel with seed {seed}" if dynamic
            else f"the model's own (model.binarize={model.cfg.binarize})",
            "protocol": f"AIS (Salakhutdinov & Murray 2008), base-rate model from the training "
                        f"data, {ev.ais_runs} runs, {ev.ais_betas} temperatures; test split of {ds.source}"
                        + (f", binarized once (x ~ Bernoulli(pixel), seed {seed})" if dynamic else "")
                        + "; stderr combines the test images' standard error with AIS's of log Z (delta method)"}


def _loglik_stderr(per_example: torch.Tensor, log_z_stderr: float) -> float:
    """The standard error of mean log p(v) - log Z: the test mean's and the log Z estimate's, independent."""
    test = per_example.var().item() / len(per_example) if len(per_example) > 1 else 0.0
    return (test + log_z_stderr ** 2) ** 0.5


def _format_captions(r: dict) -> str:
    stages = [stage for stage in ("final", "stage1") if stage in r]
    return "; ".join((f"{stage}: " if len(stages) > 1 else "") + "caption accuracy " + ", ".join(
        f"{split.replace('_', ' ')} {100 * r[stage][split]['caption_accuracy']:.1f}% "
        f"(real {100 * r[stage][split]['real_caption_accuracy']:.1f}%)"
        for split in ("seen", "held_out") if split in r[stage]) + f", FD of the digits {r[stage]['fd_digits']:.2f}"
        for stage in stages) + f" (n={r['n']})"


@register_metric("captions", kinds=("captioned",),
                 protocol="caption accuracy: one sample per test caption, each caption's digits cut out and read by "
                          "genzoo's MNIST classifier, for seen and held-out combinations, beside the real canvases'",
                 format=_format_captions)
def captions(ev: Evaluation) -> dict:
    from .metrics.captions import evaluate_captions
    return evaluate_captions(ev.model, ev.split("test"), ev.n, ev.seed, extractor=dataset_classifier(ev, "mnist"))


def model_features(model, x: torch.Tensor) -> torch.Tensor | None:
    """A model's representation of x: encoder means, hidden-unit posteriors or D's penultimate layer."""
    for name in ("encode_mean", "hidden_features"):
        if hasattr(model, name):
            return getattr(model, name)(x)
    disc = getattr(model, "D", None)
    if disc is not None and hasattr(disc, "features"):
        return disc.features(x * 2 - 1)  # D sees images in [-1, 1]
    return None


def _has_features(ev: Evaluation) -> str | None:
    model = ev.model
    return None if model_features(model, torch.zeros(2, *model.data.shape, device=model.device)) is not None else ""


@register_metric("probe", kinds=("image",), protocol="linear probe: logistic regression on the model's features, "
                                                    "raw pixels and K-means features", applies=_has_features,
                 format=lambda r: ", ".join(f"{k} {r[k]:.4f}" for k in ("model_features", "raw_pixels",
                                                                          "kmeans_features")))
def probe(ev: Evaluation) -> dict:
    from .metrics import kmeans_features, linear_probe
    model, train, ds, seed = ev.model, ev.split("train"), ev.split("test"), ev.seed
    if train.y is None:
        raise GenzooError(f"the linear probe needs labels and {train.source} has none")
    m = min(ev.n, len(train))
    xtr, ytr = train.x[:m].float().div(255), train.y[:m]
    xte, yte = ds.x.float().div(255), ds.y
    with torch.no_grad():
        ftr, fte = (torch.cat([model_features(model, b.to(model.device)).flatten(1).cpu()
                               for b in xs.split(1000)]) for xs in (xtr, xte))
    centroids = min(256, m // 2)  # the DCGAN paper's K-means baseline, capped for small sets
    ktr, kte = kmeans_features(xtr.flatten(1), xte.flatten(1), k=centroids, seed=seed)
    return {"model_features": linear_probe(ftr, ytr, fte, yte, seed=seed),
            "raw_pixels": linear_probe(xtr.flatten(1), ytr, xte.flatten(1), yte, seed=seed),
            "kmeans_features": linear_probe(ktr, ytr, kte, yte, seed=seed),
            "protocol": f"logistic regression on standardized features; {m} training images, "
                        f"{len(xte)} test images of {ds.source}; K-means with {centroids} centroids"}


def class_probabilities(model, x: torch.Tensor, *, averaged: bool = True, batch: int = 2000) -> torch.Tensor:
    """q(y|x) of a model with a categorical code, (N, K) on the CPU; x in batches on the model's device."""
    return torch.cat([model.class_probabilities(b.to(model.device), averaged).float().cpu() for b in x.split(batch)])


def _format_classify(r: dict) -> str:
    if "error_percent" in r:
        return f"{r['error_percent']:.2f}% test error (n={r['n_test']}, labels used: {r['labels_used']})"
    return (f"{r['exemplar_error_percent']:.2f}% test error with exemplar labels, "
            f"{r['majority_error_percent']:.2f}% with majority labels; "
            f"{r['clusters_used']} of {r['clusters']} clusters used (n={r['n_test']})")


@register_metric("classify", kinds=("image",), protocol="test error of the categorical code q(y|x) (AAE semi-"
                                                       "supervised, or clusters labelled from the training set)",
                 applies=lambda ev: None if getattr(ev.model, "classifies", False) else (
                     "the classify metric reads a categorical code q(y|x): it applies to an AAE with "
                     "model.mode=semi or cluster"), format=_format_classify)
def classify(ev: Evaluation) -> dict:
    """The `classify` metric: semi-supervised test error, or the cluster error under both labellings."""
    from .metrics.clustering import cluster_error, error_percent

    model, test, n = ev.model, ev.split("test"), ev.n
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
    train = ev.split("train")
    if train.y is None:
        raise GenzooError(f"labelling the clusters needs training labels and {train.source} has none")
    r = cluster_error(class_probabilities(model, train.x.float().div(255)), train.y.long(), probs, y)
    return {**r, "n_train": len(train), "n_test": len(x),
            "protocol": f"each test image takes its cluster's label: exemplar = the label of the training image "
                        f"with the largest q(y_i|x) (Makhzani et al. 2015, section 6), majority = the most common "
                        f"label of the cluster's {len(train)} training images; {split}"}


def _translations(ev: Evaluation):
    from .metrics.translation import translations
    return ev._once("translations", lambda: translations(ev.model, ev.split("test"), ev.n, ev.seed))


def _translation_split(ev: Evaluation, fake) -> str:
    return f"{ev.split('test').source}, test split, first {len(fake)} pairs, {ev.model.cfg.direction}"


def _aligned_pairs(ev: Evaluation) -> str | None:
    ds = ev.split("test")
    return None if ds.kind == "pair" else (f"the l1 metric compares translations with their targets, and the test "
                                           f"split of {ds.source} has no aligned pairs")


@register_metric("l1", kinds=TRANSLATION_KINDS, protocol="mean absolute error of translations against their "
                                                         "aligned targets", applies=_aligned_pairs,
                 format=lambda r: f"{r['l1']:.4f} per pixel (the untranslated source: {r['l1_of_the_source']:.4f})")
def l1(ev: Evaluation) -> dict:
    from .metrics.translation import l1_scores
    source, fake, target = _translations(ev)
    return {**l1_scores(source, fake, target), "split": _translation_split(ev, fake)}


def _digit_direction(ev: Evaluation) -> str | None:
    from .metrics.translation import DIGIT_SETS
    data, direction = ev.config.data.name, ev.model.cfg.direction
    if direction in DIGIT_SETS.get(data, ()):
        return None
    applies = ", ".join(f"{name} ({' or '.join(dirs)})" for name, dirs in DIGIT_SETS.items())
    return (f"the digits metric reads translated digits with genzoo's MNIST classifier: it applies to {applies}, "
            f"not {data} ({direction})")


@register_metric("digits", kinds=TRANSLATION_KINDS, protocol="translated digits read by genzoo's MNIST classifier",
                 applies=_digit_direction,
                 format=lambda r: (f"{100 * r['label_accuracy']:.1f}% read as the source's digit (real targets "
                                   f"{100 * r['label_accuracy_of_real_targets']:.1f}%), FD to the targets "
                                   f"{r['fd_to_targets']:.2f}"))
def digits(ev: Evaluation) -> dict:
    from .metrics.translation import digit_scores
    source, fake, target = _translations(ev)
    return {**digit_scores(fake, target, ev.split("test").y[:ev.n], root=ev.config.data.root),
            "split": _translation_split(ev, fake)}


def _floor_text(name: str, floor: dict) -> str:
    if name == "prdc":
        return ", ".join(f"{k} {floor[k]:.3f}" for k in ("precision", "recall", "density", "coverage"))
    if name == "classes":
        return f"{floor['classes_covered']} classes, KL {floor['kl_to_data']:.3f}"
    return f"{floor['value']:.4f}"


def format_results(results: dict) -> str:
    """One line per number: name, value (as its metric formats it), and the sample counts."""
    lines = []
    for name, r in results.items():
        metric = METRICS.get(name)
        if metric is not None and metric.format is not None:
            value = metric.format(r)
        elif "value" in r:
            value = _value(r)
        else:
            value = ", ".join(f"{k} {v}" for k, v in r.items() if isinstance(v, (int, float)) and k != "seed")
        extra = f"  [n_fake {r['n_fake']}, n_real {r['n_real']}]" if "n_real" in r else ""
        if "real_floor" in r:
            extra += "  floor: " + _floor_text(name, r["real_floor"])
        lines.append(f"  {name:14s} {value}{extra}")
    return "\n".join(lines)
