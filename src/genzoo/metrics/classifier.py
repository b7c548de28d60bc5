"""Metrics on a classifier's predictions p(y|x) for generated images.

- classifier score (the Inception Score of Salimans et al. 2016 with genzoo's own classifier):
  CS = exp( E_x KL( p(y|x) || p(y) ) ), p(y) = E_x p(y|x), computed on each of `splits`
  equal parts of the (seeded-shuffled) samples; mean and std (ddof=0) over parts. Ranges from 1
  (every sample gets the same prediction) to K (confident and uniform over the K classes).
- class histogram: the fraction of samples whose arg-max class is c, its KL to the data's class
  distribution, KL(p_pred || p_data) = sum_c p_pred(c) log(p_pred(c) / p_data(c)), and the
  number of classes covered.

Covered-class rule (a choice, stated in every result): class c is covered when at least one
sample is predicted as c with probability > 0.5 (a confident prediction, not a borderline one).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ._common import MetricError

COVERAGE_RULE = "class c is covered if at least one sample has argmax c with p(c|x) > 0.5"


def _probs64(probs) -> np.ndarray:
    if isinstance(probs, torch.Tensor):
        probs = probs.detach().cpu().to(torch.float64).numpy()
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise MetricError(f"probs must have shape (N, K); got {tuple(p.shape)}")
    if p.shape[0] == 0:
        raise MetricError("probs is empty")
    if np.any(p < -1e-6) or not np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
        raise MetricError("probs must be probabilities (non-negative, rows summing to 1): apply softmax first")
    return np.clip(p, 0.0, 1.0)


def classifier_score(probs, *, splits: int = 10, shuffle: bool = True, seed: int = 0) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) || p(y))) over `splits` parts of the samples: (mean, std).

    shuffle: permute the samples (numpy RandomState(seed)) before splitting, so that ordered inputs
    (a class grid, a dataset sorted by label) are not split by class - each part must be a fair
    sample for its p(y) to mean anything. For i.i.d. samples it changes nothing but the split.
    """
    p = _probs64(probs)
    n = p.shape[0]
    if splits < 1 or n < splits:
        raise MetricError(f"classifier score needs at least `splits` samples; got {n} samples for {splits} splits")
    if shuffle:
        p = p[np.random.RandomState(seed).permutation(n)]
    scores = []
    for part in np.array_split(p, splits):
        py = part.mean(axis=0, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(part > 0, part * (np.log(part) - np.log(py)), 0.0)
        scores.append(np.exp(terms.sum(axis=1).mean()))
    scores = np.asarray(scores)
    return float(scores.mean()), float(scores.std())


def class_histogram(probs, data_class_probs=None, *, threshold: float = 0.5) -> dict:
    """Predicted-class histogram, its KL to the data's class distribution, and classes covered.

    data_class_probs: (K,) class frequencies of the real data (uniform if None).
    """
    p = _probs64(probs)
    k = p.shape[1]
    pred = p.argmax(axis=1)
    counts = np.bincount(pred, minlength=k)
    hist = counts / counts.sum()
    if data_class_probs is None:
        q = np.full(k, 1.0 / k)
    else:
        q = np.asarray(data_class_probs, dtype=np.float64)
        if q.shape != (k,):
            raise MetricError(f"data_class_probs must have shape ({k},) to match probs {p.shape}; got {q.shape}")
        q = q / q.sum()
    nz = hist > 0
    if np.any(q[nz] == 0):
        kl = float("inf")
    else:
        kl = float(np.sum(hist[nz] * np.log(hist[nz] / q[nz])))
    confident = p[np.arange(len(p)), pred] > threshold
    covered = np.bincount(pred[confident], minlength=k) > 0
    return {
        "histogram": hist.tolist(),
        "counts": counts.tolist(),
        "kl_to_data": kl,
        "classes_covered": int(covered.sum()),
        "num_classes": k,
        "rule": COVERAGE_RULE.replace("0.5", str(threshold)),
    }


@torch.no_grad()
def accuracy(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> float:
    """The fraction of x whose arg-max class under `net` (in eval mode) is its label y, in batches."""
    net.eval()
    correct = sum(int((net(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum())
                  for i in range(0, len(x), batch_size))
    return correct / max(1, len(x))


class ClassifierFit:
    """genzoo's one recipe for training a classifier: Adam on the cross-entropy of its logits, one minibatch
    at a time, the learning rate scaled by `lr_factor(step)` (constant when None).

    Only `params` (default: all of net's) are trained; a part of `net` that has parameters, none of
    them trained, runs in eval mode, so its batch-norm statistics and dropout stay as they are. Used by the
    cached feature classifier of the image metrics and by fine-tuning an autoencoder's encoder.
    """

    def __init__(self, net: torch.nn.Module, *, lr: float, params=None, weight_decay: float = 0.0,
                 lr_factor: Callable[[int], float] | None = None):
        self.net = net
        self.params = list(net.parameters() if params is None else params)
        self.opt = torch.optim.Adam(self.params, lr=lr, weight_decay=weight_decay)
        self.schedule = None if lr_factor is None else torch.optim.lr_scheduler.LambdaLR(self.opt, lr_factor)
        net.train()
        trained = {id(p) for p in self.params}
        for part in net.children():
            own = list(part.parameters())
            if own and not any(id(p) in trained for p in own):
                part.eval()

    def step(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """One update on the minibatch (x, y); returns its loss."""
        loss = F.cross_entropy(self.net(x), y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward(inputs=self.params)
        self.opt.step()
        if self.schedule is not None:
            self.schedule.step()
        return float(loss.detach())
