"""Test error of a categorical code q(y|x): as a classifier, or as clusters given labels afterwards.

Protocols (Makhzani et al. 2015):
- classification (semi-supervised, Table 2): the class is argmax_y q(y|x); the error is the
  percent of test examples whose class differs from their label;
- clustering (section 6, Table 3): each cluster is given a label, then every test example takes
  the label of its cluster argmax_y q(y|x). Two ways to label the clusters:
  - "exemplar", the paper's: cluster i takes the label of the training example x_n that
    maximizes q(y_i|x_n), so K labels are used in all;
  - "majority": cluster i takes the most common label of the training examples assigned to it
    (every training label is used: the usual cluster-purity protocol); a cluster that no
    training example falls in keeps its exemplar's label.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from ._common import MetricError
from ..models.capabilities import CategoricalCode
from .registry import register_metric

if TYPE_CHECKING:
    from .context import Evaluation


def _check(probs: torch.Tensor, labels: torch.Tensor, name: str) -> None:
    if probs.ndim != 2 or labels.ndim != 1 or len(probs) != len(labels):
        raise MetricError(f"{name}: expected q(y|x) of shape (N, K) and N labels; got shapes "
                          f"{tuple(probs.shape)} and {tuple(labels.shape)}")
    if not len(labels):
        raise MetricError(f"{name}: no examples")


def error_percent(predicted: torch.Tensor, labels: torch.Tensor) -> float:
    """Percent of predictions that differ from the labels."""
    if predicted.shape != labels.shape or not len(labels):
        raise MetricError(f"predictions and labels must be two non-empty vectors of one length; got shapes "
                          f"{tuple(predicted.shape)} and {tuple(labels.shape)}")
    return 100.0 * (predicted != labels).float().mean().item()


def pair_counts(rows: torch.Tensor, cols: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """(R, C) counts, on the CPU, of the pairs (rows[n], cols[n]): a contingency table (a confusion
    matrix when rows are labels and cols predictions)."""
    counts = torch.zeros(shape, dtype=torch.long)
    counts.index_put_((rows.cpu().long(), cols.cpu().long()), torch.ones(len(rows), dtype=torch.long),
                      accumulate=True)
    return counts


def exemplar_cluster_labels(train_probs: torch.Tensor, train_labels: torch.Tensor) -> torch.Tensor:
    """(K,) the label of argmax_n q(y_i|x_n) for each cluster i (the paper's protocol)."""
    _check(train_probs, train_labels, "exemplar_cluster_labels")
    return train_labels[train_probs.argmax(0)]


def majority_cluster_labels(train_probs: torch.Tensor, train_labels: torch.Tensor) -> torch.Tensor:
    """(K,) the most common label among the training examples assigned to each cluster (ties: the
    smallest label); an empty cluster keeps its exemplar's label."""
    _check(train_probs, train_labels, "majority_cluster_labels")
    k, classes = train_probs.shape[1], int(train_labels.max()) + 1
    counts = pair_counts(train_probs.argmax(1), train_labels, (k, classes))
    empty = counts.sum(1) == 0
    return torch.where(empty, exemplar_cluster_labels(train_probs, train_labels).cpu(), counts.argmax(1))


def cluster_error(train_probs, train_labels, test_probs, test_labels) -> dict:
    """Test error (%) of the clusters labelled each way, and how many of the K clusters the test set uses."""
    _check(test_probs, test_labels, "cluster_error (test)")
    if test_probs.shape[1] != train_probs.shape[1]:
        raise MetricError(f"the training and test q(y|x) have different numbers of clusters: "
                          f"{train_probs.shape[1]} and {test_probs.shape[1]}")
    assigned = test_probs.argmax(1).cpu()
    test_labels = test_labels.cpu()
    exemplar = exemplar_cluster_labels(train_probs, train_labels).cpu()
    majority = majority_cluster_labels(train_probs, train_labels)
    return {"exemplar_error_percent": error_percent(exemplar[assigned], test_labels),
            "majority_error_percent": error_percent(majority[assigned], test_labels),
            "clusters": train_probs.shape[1], "clusters_used": int(assigned.unique().numel()),
            "exemplar_labels": exemplar.tolist(), "majority_labels": majority.tolist()}


# ----------------------------------------------------------------------------- genzoo eval's classify metric

def class_probabilities(model, x: torch.Tensor, *, averaged: bool = True, batch: int = 2000) -> torch.Tensor:
    """q(y|x) of a model with a categorical code, (N, K) on the CPU; x in batches on the model's device."""
    return torch.cat([model.class_probabilities(b.to(model.device), averaged).float().cpu() for b in x.split(batch)])


NO_CODE = "the classify metric reads a categorical code q(y|x): it applies to an AAE with model.mode=semi or cluster"


def _format_classify(r: dict) -> str:
    if "error_percent" in r:
        return f"{r['error_percent']:.2f}% test error (n={r['n_test']}, labels used: {r['labels_used']})"
    return (f"{r['exemplar_error_percent']:.2f}% test error with exemplar labels, "
            f"{r['majority_error_percent']:.2f}% with majority labels; "
            f"{r['clusters_used']} of {r['clusters']} clusters used (n={r['n_test']})")


@register_metric("classify", kinds=("image",), protocol="test error of the categorical code q(y|x) (AAE semi-"
                                                       "supervised, or clusters labelled from the training set)",
                 needs=(CategoricalCode,), lacking=NO_CODE,
                 applies=lambda ev: None if ev.model.classifies else NO_CODE, format=_format_classify)
def classify(ev: Evaluation) -> dict:
    """The `classify` metric: semi-supervised test error, or the cluster error under both labellings."""
    model, test, n = ev.model, ev.split("test"), ev.n
    if test.y is None:
        raise MetricError(f"the classify metric needs labels and {test.source} has none")
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
        raise MetricError(f"labelling the clusters needs training labels and {train.source} has none")
    r = cluster_error(class_probabilities(model, train.x.float().div(255)), train.y.long(), probs, y)
    return {**r, "n_train": len(train), "n_test": len(x),
            "protocol": f"each test image takes its cluster's label: exemplar = the label of the training image "
                        f"with the largest q(y_i|x) (Makhzani et al. 2015, section 6), majority = the most common "
                        f"label of the cluster's {len(train)} training images; {split}"}
