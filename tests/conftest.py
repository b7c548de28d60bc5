import os

import pytest
import torch

# The suite runs on 2 cores next to other work: keep torch from oversubscribing them. Under pytest-xdist
# (`-n 2`) each worker process takes one core.
torch.set_num_threads(1 if os.environ.get("PYTEST_XDIST_WORKER") else min(2, os.cpu_count() or 1))


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory, monkeypatch):
    """Runs and caches go to temporary folders, never into the user's home."""
    base = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("GENZOO_DATA", str(base / "genzoo-data"))
    monkeypatch.setenv("GENZOO_CACHE", str(base / "genzoo-cache"))


@pytest.fixture
def one_thread():
    """Tiny nets: one thread is fastest, and spares a shared CPU the cost of oversubscription."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


#: what a test passes to train() to keep it silent: no progress bar, no log lines
QUIET = {"progress": False, "log": lambda *_: None}


@pytest.fixture
def tiny_run(tmp_path):
    """The one way a test trains a preset: tiny_run(preset, *sets, name=None, out=None, **train_kwargs)
    resolves the preset with the override mappings `sets` ({dotted.key: value}, a later one wins) and
    trains it quietly into tmp_path/NAME (default: the preset's name), or into `out`; it returns the Run."""
    from genzoo.presets import resolve
    from genzoo.training.trainer import train

    def make(preset, *sets, name=None, out=None, **kwargs):
        cfg = resolve(preset, overrides={k: v for overrides in sets for k, v in overrides.items()})
        return train(cfg, out=out if out is not None else tmp_path / (name or preset), **{**QUIET, **kwargs})
    return make


EXTRACTOR_EPOCHS = 2


@pytest.fixture(scope="session")
def splits():
    """mnist5k's splits, as the feature extractor sees them."""
    from genzoo.metrics import features
    return features.load_splits("mnist5k")


@pytest.fixture(scope="session")
def fx_cache(tmp_path_factory, splits):
    """One mnist5k feature extractor per session (two short epochs) in a temporary cache: (extractor, cache)."""
    from genzoo.metrics import get_feature_extractor
    cache = tmp_path_factory.mktemp("genzoo-features")
    fx = get_feature_extractor("mnist5k", cache_dir=cache, epochs=EXTRACTOR_EPOCHS, min_steps=0, splits=splits,
                               threads=1)
    return fx, cache


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    """A 3-step GAN on the ring of 8 Gaussians: the cheapest run that samples (one per test module)."""
    from genzoo.presets import resolve
    from genzoo.training.trainer import train

    cfg = resolve("gan", overrides={"data.name": "ring8", "data.n_samples": 512, "train.steps": 3,
                                    "train.sample_every": 0, "train.batch_size": 64})
    return train(cfg, out=tmp_path_factory.mktemp("toy") / "run", progress=False, log=lambda *_: None).dir
