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

import torch

from ._common import MetricError


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
