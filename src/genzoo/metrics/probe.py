"""Linear-probe accuracy: how linearly separable the classes are in a representation.

Protocol (fixed, recorded by `PROBE_PROTOCOL`): features are standardized with the training
features' mean and std (sklearn StandardScaler), then multinomial logistic regression
(sklearn LogisticRegression, lbfgs, C=1.0, max_iter=1000) is fit on the training part and
its accuracy measured on the test part.

Representations compared (DCGAN paper, Radford et al. 2015, section 5.1):
(a) a model's features (encoder output, discriminator features),
(b) raw pixels (flattened, in [0, 1]),
(c) K-means features: k-means (sklearn KMeans, k-means++, n_init=1, fixed seed) on flattened
    raw training pixels; each image encoded with the "triangle" encoding of Coates, Lee & Ng
    (2011): f_j(x) = max(0, mean_l d_l(x) - d_j(x)), d_j(x) = ||x - c_j|| - a soft,
    sparse assignment to the centroids (the K-means baseline the DCGAN paper cites).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from ._common import MetricError
from ..models.capabilities import FeatureEncoder
from .registry import register_metric

if TYPE_CHECKING:
    from .context import Evaluation

PROBE_PROTOCOL = {"scaler": "StandardScaler (fit on train)", "classifier": "LogisticRegression(lbfgs)",
                  "C": 1.0, "max_iter": 1000}


def _np2d(x, name) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if x.ndim > 2:
        x = x.reshape(x.shape[0], -1)
    if x.ndim != 2:
        raise MetricError(f"{name} must have shape (N, D) (or (N, ...) to flatten); got {x.shape}")
    x = x.astype(np.float64) / 255.0 if x.dtype == np.uint8 else x.astype(np.float64)
    return x


def _labels(y, n, name) -> np.ndarray:
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    y = np.asarray(y).reshape(-1)
    if y.shape[0] != n:
        raise MetricError(f"{name} has {y.shape[0]} labels for {n} feature rows")
    return y


def linear_probe(train_feats, train_y, test_feats, test_y, *, C: float = 1.0, max_iter: int = 1000,
                 seed: int = 0) -> float:
    """Test accuracy of a standardized multinomial logistic regression fit on the training features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    xtr = _np2d(train_feats, "train_feats")
    xte = _np2d(test_feats, "test_feats")
    if xtr.shape[1] != xte.shape[1]:
        raise MetricError(f"train_feats and test_feats must have the same dimension; got shapes "
                          f"{xtr.shape} and {xte.shape}")
    ytr = _labels(train_y, xtr.shape[0], "train_y")
    yte = _labels(test_y, xte.shape[0], "test_y")
    if len(np.unique(ytr)) < 2:
        raise MetricError("linear_probe needs at least two classes in train_y")
    scaler = StandardScaler().fit(xtr)
    clf = LogisticRegression(C=C, max_iter=max_iter, random_state=seed)
    import warnings
    from sklearn.exceptions import ConvergenceWarning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # fixed max_iter is the protocol
        clf.fit(scaler.transform(xtr), ytr)
    return float((clf.predict(scaler.transform(xte)) == yte).mean())


class KMeansEncoder:
    """k-means centroids on flattened raw pixels + triangle encoding (Coates, Lee & Ng 2011)."""

    def __init__(self, k: int = 256, *, seed: int = 0, max_iter: int = 100):
        self.k, self.seed, self.max_iter = k, seed, max_iter
        self.centroids: np.ndarray | None = None

    def fit(self, x) -> "KMeansEncoder":
        from sklearn.cluster import KMeans

        xf = _np2d(x, "x")
        if xf.shape[0] < self.k:
            raise MetricError(f"k-means with k={self.k} needs at least {self.k} samples; got {xf.shape[0]}")
        km = KMeans(n_clusters=self.k, n_init=1, max_iter=self.max_iter, random_state=self.seed)
        km.fit(xf)
        self.centroids = km.cluster_centers_
        return self

    def transform(self, x) -> np.ndarray:
        if self.centroids is None:
            raise MetricError("KMeansEncoder.transform called before fit")
        xf = _np2d(x, "x")
        if xf.shape[1] != self.centroids.shape[1]:
            raise MetricError(f"x has {xf.shape[1]} values per sample but the centroids have "
                              f"{self.centroids.shape[1]}")
        d = torch.cdist(torch.from_numpy(xf), torch.from_numpy(self.centroids)).numpy()
        return np.maximum(0.0, d.mean(axis=1, keepdims=True) - d)


def kmeans_features(train_x, test_x, *, k: int = 256, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Fit k-means on train_x (raw pixels) and return triangle-encoded (train, test) features (N, k)."""
    enc = KMeansEncoder(k, seed=seed).fit(train_x)
    return enc.transform(train_x), enc.transform(test_x)


# ----------------------------------------------------------------------------- genzoo eval's probe metric

@register_metric("probe", kinds=("image",), protocol="linear probe: logistic regression on the model's features, "
                                                    "raw pixels and K-means features", needs=(FeatureEncoder,),
                 applies=lambda ev: None if ev.model.has_features else "",
                 format=lambda r: ", ".join(f"{k} {r[k]:.4f}" for k in ("model_features", "raw_pixels",
                                                                          "kmeans_features")))
def probe(ev: Evaluation) -> dict:
    model, train, ds, seed = ev.model, ev.split("train"), ev.split("test"), ev.seed
    if train.y is None:
        raise MetricError(f"the linear probe needs labels and {train.source} has none")
    m = min(ev.n, len(train))
    xtr, ytr = train.x[:m].float().div(255), train.y[:m]
    xte, yte = ds.x.float().div(255), ds.y
    with torch.no_grad():
        ftr, fte = (torch.cat([model.features(b.to(model.device)).flatten(1).cpu()
                               for b in xs.split(1000)]) for xs in (xtr, xte))
    centroids = min(256, m // 2)  # the DCGAN paper's K-means baseline, capped for small sets
    ktr, kte = kmeans_features(xtr.flatten(1), xte.flatten(1), k=centroids, seed=seed)
    return {"model_features": linear_probe(ftr, ytr, fte, yte, seed=seed),
            "raw_pixels": linear_probe(xtr.flatten(1), ytr, xte.flatten(1), yte, seed=seed),
            "kmeans_features": linear_probe(ktr, ytr, kte, yte, seed=seed),
            "protocol": f"logistic regression on standardized features; {m} training images, "
                        f"{len(xte)} test images of {ds.source}; K-means with {centroids} centroids"}
