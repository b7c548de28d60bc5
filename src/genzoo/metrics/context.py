"""What a metric sees: `Evaluation`, the run (its configuration, its data splits loaded once), its model at
the evaluated checkpoint, and the options of `genzoo eval` under one of its protocols (PROTOCOLS)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from ..models.capabilities import GibbsSampler
from ..runs.splits import run_split
from ._common import MetricError
from .features import default_cache_dir, get_feature_extractor

if TYPE_CHECKING:
    from ..runs import RunDir


#: `genzoo eval --protocol`: "quick" (the default) is sized for a CPU (its time for each family's run:
#: docs/results/engine.md#eval-run-speed) and reports standard errors; "paper" is the papers' budget: 10,000
#: samples (Lucic et al. 2018), k = 5,000 importance samples (Burda et al. 2016), AIS with 100 runs x 14,500
#: temperatures (Salakhutdinov & Murray 2008).
#: gibbs_sweeps: the Gibbs chains an RBM's or DBM's samples come from are cut to this length (0: the model's own,
#: sample_steps, 1,000 in the presets): a DBM's 2,000 samples at 1,000 sweeps each are slow on a CPU
PROTOCOLS = {
    "quick": {"n": 2000, "k": 100, "ais_runs": 20, "ais_betas": 1000, "inception_n": 500, "gibbs_sweeps": 200},
    "paper": {"n": 10000, "k": 5000, "ais_runs": 100, "ais_betas": 14500, "inception_n": 10000, "gibbs_sweeps": 0},
}
QUICK_NOTE = ("the quick protocol: fewer samples, importance samples and AIS temperatures than the papers', and "
              "shorter Gibbs chains for an RBM's or DBM's samples, so "
              "noisier (read the standard errors) and biased toward worse likelihoods; compare only with numbers "
              "of the same protocol (`genzoo eval --protocol paper` for the papers')")


def _sample(model, n: int, seed: int, gibbs_sweeps: int = 0, batch: int = 1000) -> torch.Tensor:
    """n samples in batches from one generator; a Gibbs sampler's chains are cut to gibbs_sweeps (0: its own length)."""
    g = torch.Generator(device=model.device).manual_seed(seed)
    chain = {}
    if gibbs_sweeps and isinstance(model, GibbsSampler):
        chain = {"steps": min(gibbs_sweeps, model.sample_steps)}
    return torch.cat([model.sample(min(batch, n - i), generator=g, **chain).float().cpu()
                      for i in range(0, n, batch)])


class Evaluation:
    """What a metric sees: the run (configuration, data splits loaded once), its model at the evaluated
    checkpoint, and the options of `genzoo eval` (the protocol's name and budget: n, k, AIS runs and
    temperatures, Inception-FID's sample count; the seed)."""

    def __init__(self, run: "RunDir", *, step: int | None = None, protocol: str = "quick", seed: int = 0,
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
            self._splits[name] = run_split(self.config, name, subset=False)
        return self._splits[name]

    def samples(self, n: int) -> torch.Tensor:
        """n samples of the model (float, CPU), drawn with the evaluation seed (the same for every metric)."""
        return self._once(("samples", n), lambda: _sample(self.model, n, self.seed, self.budget["gibbs_sweeps"]))

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


def dataset_classifier(ev: Evaluation, dataset: str):
    """genzoo's classifier for `dataset` (the feature space of the image and caption metrics): from the cache,
    or trained once, saying so first, since it takes a minute or more."""
    root = ev.config.data.root
    try:
        return get_feature_extractor(dataset, root=root, train_if_missing=False)
    except MetricError:
        ev.log(f"genzoo: training genzoo's classifier for {dataset}, the feature space of its metrics (a one-time "
               f"cost: it is cached in {default_cache_dir()} for every later evaluation)")
        return get_feature_extractor(dataset, root=root, verbose=ev.progress)
