"""Unit tests of the metric functions on hand-made inputs with known answers (fast, no data, no training)."""
import math

import numpy as np
import pytest
import scipy.linalg
import torch

from genzoo.errors import GenzooError
from genzoo.metrics import (
    MetricError, class_histogram, classifier_score, cluster_error, error_percent, frechet_distance,
    frechet_distance_from_stats, gaussian_blur, gaussian_noise, importance_sampled_nll, kid, kmeans_features,
    linear_probe, mean_log_density, mmd2_unbiased, mode_metrics, prdc, toy_metrics, aggregate_over_seeds,
)


# ---------------------------------------------------------------------------------------- FD


def test_fd_identical_sets_is_zero():
    x = torch.randn(500, 16, generator=torch.Generator().manual_seed(0))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)


def test_fd_from_stats_closed_form_diagonal():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)  # 5 + (1 + 1 + 4)
    assert expected == pytest.approx(11.0)
    assert frechet_distance_from_stats(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)


def test_fd_from_stats_non_commuting_covariances():
    rng = np.random.RandomState(0)
    a, b = rng.randn(4, 4), rng.randn(4, 4)
    s1, s2 = a @ a.T + 0.1 * np.eye(4), b @ b.T + 0.1 * np.eye(4)
    r1 = scipy.linalg.sqrtm(s1).real
    # Tr (S1 S2)^1/2 = Tr (S1^1/2 S2 S1^1/2)^1/2, a symmetric PSD root: an independent route.
    tr = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh(r1 @ s2 @ r1), 0, None)))
    expected = 1.0 + np.trace(s1) + np.trace(s2) - 2 * tr
    got = frechet_distance_from_stats(np.zeros(4), s1, np.eye(4)[0], s2)
    assert got == pytest.approx(expected, rel=1e-8)


def test_fd_of_sampled_gaussians_matches_closed_form():
    g = torch.Generator().manual_seed(1)
    n = 40000
    x = torch.randn(n, 2, generator=g, dtype=torch.float64) * torch.tensor([1.0, 2.0])
    y = torch.randn(n, 2, generator=g, dtype=torch.float64) * torch.tensor([2.0, 1.0]) + torch.tensor([3.0, 0.0])
    expected = 9.0 + (1 - 2) ** 2 + (2 - 1) ** 2
    assert frechet_distance(x, y) == pytest.approx(expected, rel=0.03)


def test_fd_singular_covariance_is_finite():
    x = torch.randn(100, 8, generator=torch.Generator().manual_seed(0))
    x[:, :4] = 0.0  # dead features: singular covariances
    y = x + 0.01
    v = frechet_distance(x, y)
    assert math.isfinite(v) and v == pytest.approx(8 * 0.01**2, abs=1e-6)


def test_fd_dimension_mismatch_names_both_shapes():
    with pytest.raises(GenzooError, match=r"\(10, 4\).*\(12, 5\)"):
        frechet_distance(torch.zeros(10, 4), torch.zeros(12, 5))
    with pytest.raises(MetricError, match="2-D"):
        frechet_distance(torch.zeros(10), torch.zeros(10))
    with pytest.raises(MetricError, match="NaN"):
        frechet_distance(torch.full((3, 2), float("nan")), torch.zeros(3, 2))


# ---------------------------------------------------------------------------------------- KID


def test_mmd2_unbiased_matches_brute_force():
    rng = np.random.RandomState(0)
    x, y = rng.randn(7, 3), rng.randn(5, 3) + 0.5
    k = lambda a, b: (a @ b / 3 + 1) ** 3  # noqa: E731
    sxx = sum(k(x[i], x[j]) for i in range(7) for j in range(7) if i != j) / (7 * 6)
    syy = sum(k(y[i], y[j]) for i in range(5) for j in range(5) if i != j) / (5 * 4)
    sxy = sum(k(x[i], y[j]) for i in range(7) for j in range(5)) / 35
    assert mmd2_unbiased(x, y) == pytest.approx(sxx + syy - 2 * sxy, rel=1e-12)


def test_kid_same_distribution_near_zero_shifted_positive():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(1000, 8, generator=g), torch.randn(1000, 8, generator=g)
    mean, std = kid(a, b, subsets=20, subset_size=200, seed=0)
    assert abs(mean) < 3 * std + 1e-3
    shifted, sstd = kid(a, b + 0.5, subsets=20, subset_size=200, seed=0)
    assert shifted > 0.05 and shifted > 10 * abs(mean) and shifted > 5 * sstd
    assert kid(a, b, subsets=5, subset_size=100, seed=3) == kid(a, b, subsets=5, subset_size=100, seed=3)


def test_kid_shape_errors():
    with pytest.raises(MetricError, match=r"\(5, 3\).*\(5, 4\)"):
        kid(torch.zeros(5, 3), torch.zeros(5, 4))
    with pytest.raises(MetricError, match="at least 2"):
        kid(torch.zeros(1, 3), torch.zeros(5, 3))


# ---------------------------------------------------------------------------------------- PRDC


def _prdc_reference(real, fake, k):
    """Plain numpy transcription of the definitions (Naeem et al. 2020)."""
    d_rr = np.linalg.norm(real[:, None] - real[None], axis=2)
    d_ff = np.linalg.norm(fake[:, None] - fake[None], axis=2)
    d_rf = np.linalg.norm(real[:, None] - fake[None], axis=2)
    r_rad = np.sort(d_rr, axis=1)[:, k]
    f_rad = np.sort(d_ff, axis=1)[:, k]
    inside = d_rf < r_rad[:, None]
    return (inside.any(0).mean(), (d_rf < f_rad[None]).any(1).mean(), inside.sum(0).mean() / k,
            (d_rf.min(1) < r_rad).mean())


def test_prdc_identical_sets():
    x = torch.randn(200, 6, generator=torch.Generator().manual_seed(0))
    r = prdc(x, x, k=5)
    assert (r.precision, r.recall, r.coverage) == (1.0, 1.0, 1.0)
    assert r.density > 0.5 and r.k == 5 and r.n_real == r.n_fake == 200


def test_prdc_disjoint_sets():
    x = torch.randn(100, 3, generator=torch.Generator().manual_seed(0))
    r = prdc(x, x + 100.0)
    assert (r.precision, r.recall, r.density, r.coverage) == (0.0, 0.0, 0.0, 0.0)


@pytest.mark.slow
def test_prdc_matches_reference_and_chunking():
    g = torch.Generator().manual_seed(2)
    real = torch.randn(150, 4, generator=g, dtype=torch.float64)
    fake = torch.randn(130, 4, generator=g, dtype=torch.float64) * 1.3 + 0.3
    ref = _prdc_reference(real.numpy(), fake.numpy(), 5)
    for chunk in (7, 64, 4096):
        r = prdc(real, fake, k=5, chunk=chunk)
        assert (r.precision, r.recall, r.density, r.coverage) == pytest.approx(ref, abs=1e-12)


def test_prdc_mode_dropping_lowers_recall_and_coverage_not_precision():
    g = torch.Generator().manual_seed(0)
    real = torch.cat([torch.randn(200, 2, generator=g), torch.randn(200, 2, generator=g) + 10])
    fake = torch.randn(400, 2, generator=g)  # only the first mode
    r = prdc(real, fake)
    assert r.precision > 0.9 and r.recall < 0.6 and r.coverage < 0.6


def test_prdc_errors():
    with pytest.raises(MetricError, match="at least 6"):
        prdc(torch.zeros(5, 2), torch.zeros(50, 2))
    with pytest.raises(MetricError, match=r"\(50, 2\).*\(50, 3\)"):
        prdc(torch.zeros(50, 2), torch.zeros(50, 3))


# ---------------------------------------------------------------------------------------- classifier


def test_classifier_score_perfect_uniform_and_single_class():
    k, n = 10, 1000
    probs = torch.nn.functional.one_hot(torch.arange(n) % k, k).double()
    mean, std = classifier_score(probs, splits=10, shuffle=False)  # each part exactly balanced
    assert mean == pytest.approx(k, rel=1e-9) and std == pytest.approx(0.0, abs=1e-9)
    # sorted by class: unshuffled parts hold one class each (score 1); the default shuffle fixes that
    ordered = torch.nn.functional.one_hot(torch.arange(n) // (n // k), k).double()
    assert classifier_score(ordered, shuffle=False)[0] == pytest.approx(1.0)
    assert classifier_score(ordered)[0] > 0.93 * k
    single = torch.nn.functional.one_hot(torch.zeros(n, dtype=torch.long), k).double()
    assert classifier_score(single)[0] == pytest.approx(1.0)
    uniform = torch.full((n, k), 1.0 / k)
    assert classifier_score(uniform)[0] == pytest.approx(1.0)


def test_class_histogram_and_coverage_rule():
    k = 4
    probs = torch.tensor([[0.9, 0.1, 0, 0], [0.8, 0.2, 0, 0], [0.3, 0.3, 0.4, 0.0], [0.1, 0.1, 0.1, 0.7]])
    h = class_histogram(probs)
    assert h["counts"] == [2, 0, 1, 1]
    # class 2 is predicted once but only with p = 0.4 <= 0.5: not covered
    assert h["classes_covered"] == 2 and h["num_classes"] == k
    hist = np.array([0.5, 0, 0.25, 0.25])
    nz = hist > 0
    assert h["kl_to_data"] == pytest.approx(np.sum(hist[nz] * np.log(hist[nz] * k)))
    assert "0.5" in h["rule"]
    with pytest.raises(MetricError, match="softmax"):
        class_histogram(torch.randn(3, 4) * 5)
    with pytest.raises(MetricError, match=r"\(4,\)"):
        class_histogram(probs, [0.5, 0.5])


# ---------------------------------------------------------------------------------------- toy


def _ring(m=8, r=1.0):
    a = torch.arange(m, dtype=torch.float64) * 2 * math.pi / m
    return torch.stack([r * torch.cos(a), r * torch.sin(a)], 1)


def test_toy_modes_hand_counted():
    centers, std = _ring(), 0.01
    counts = [40, 30, 20, 5, 5, 0, 0, 0]  # 5 of 8 modes
    g = torch.Generator().manual_seed(0)
    parts = []
    for i, c in enumerate(counts):
        # within 2 std of its mode (radius 2 std, random direction): high quality
        ang = torch.rand(c, generator=g, dtype=torch.float64) * 2 * math.pi
        parts.append(centers[i] + 2 * std * torch.stack([torch.cos(ang), torch.sin(ang)], 1))
    parts.append(torch.zeros(100, 2, dtype=torch.float64))          # the origin: 100 std from every mode
    parts.append(centers[6:7] + torch.tensor([[3.5 * std, 0.0]]))   # 3.5 std from mode 6: not high quality
    x = torch.cat(parts)
    m = mode_metrics(x, centers, std)
    assert m.modes_captured == 5 and m.num_modes == 8
    assert m.mode_counts == counts
    assert m.n_samples == 201 and m.high_quality_fraction == pytest.approx(100 / 201)
    assert m.high_quality_percent == pytest.approx(100 * 100 / 201)
    p = np.array([0.4, 0.3, 0.2, 0.05, 0.05])
    assert m.reverse_kl == pytest.approx(np.sum(p * np.log(p * 8)))  # = log 8 - H(p)
    assert m.reverse_kl == pytest.approx(math.log(8) + np.sum(p * np.log(p)))
    # the misses: one sample 3.5 std from a mode (near), the 100 at the origin (far)
    assert m.near_miss_fraction == pytest.approx(1 / 201) and m.far_miss_fraction == pytest.approx(100 / 201)
    assert m.spread == pytest.approx(math.sqrt((100 * 2.0**2 + 3.5**2) / 101 / 2))


def test_samples_of_the_mixture_itself_have_spread_one_and_the_gaussian_near_misses():
    g = torch.Generator().manual_seed(0)
    centers, std = _ring(), 0.01
    n = 200_000
    x = centers[torch.randint(8, (n,), generator=g)] + std * torch.randn(n, 2, generator=g, dtype=torch.float64)
    m = mode_metrics(x, centers, std)
    assert m.spread == pytest.approx(1.0, abs=0.005)
    assert m.near_miss_fraction == pytest.approx(math.exp(-4.5), abs=0.001)  # P(3 <= |N(0, I_2)| < 6)
    assert m.far_miss_fraction == 0.0
    assert m.high_quality_fraction == pytest.approx(1 - math.exp(-4.5), abs=0.001)


def test_toy_threshold_is_strict_three_std_and_uniform_has_zero_kl():
    centers, std = _ring(), 0.01
    x = torch.cat([centers, centers + torch.tensor([2.999 * std, 0.0]), centers + torch.tensor([0.0, 3.001 * std])])
    m = mode_metrics(x, centers, std)
    assert m.mode_counts == [2] * 8 and m.modes_captured == 8
    assert m.high_quality_fraction == pytest.approx(16 / 24)
    assert m.reverse_kl == pytest.approx(0.0, abs=1e-12)
    none = mode_metrics(torch.full((10, 2), 50.0), centers, std)
    assert none.modes_captured == 0 and none.high_quality_fraction == 0 and math.isnan(none.reverse_kl)


def test_mean_log_density_exact():
    centers, std = _ring(), 0.01
    # at a centre, the other modes are >= 76 std away: log p = log(1/8) - log(2 pi std^2)
    expected = -math.log(8) - math.log(2 * math.pi * std**2)
    assert mean_log_density(centers, centers, std) == pytest.approx(expected, rel=1e-12)
    # one far-from-separated case checked against a direct sum of densities
    c2 = torch.tensor([[0.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    x = torch.tensor([[0.3, 0.2], [0.5, -0.1]], dtype=torch.float64)
    s = 0.7
    dens = [sum(0.5 * math.exp(-((xi - c) ** 2).sum().item() / (2 * s * s)) / (2 * math.pi * s * s) for c in c2)
            for xi in x]
    assert mean_log_density(x, c2, s) == pytest.approx(np.mean(np.log(dens)), rel=1e-12)
    d = toy_metrics(centers, centers, std)
    assert d["modes_captured"] == 8 and d["high_quality_percent"] == 100.0 and "protocol" in d
    agg = aggregate_over_seeds([{"modes_captured": 8, "high_quality_percent": 90.0, "reverse_kl": 0.1},
                                {"modes_captured": 6, "high_quality_percent": 80.0, "reverse_kl": 0.3}])
    assert agg["modes_captured"]["mean"] == 7 and agg["modes_captured"]["stderr"] == pytest.approx(1.0)
    with pytest.raises(MetricError, match=r"\(N, 2\)"):
        mode_metrics(torch.zeros(5, 3), centers, std)


# ---------------------------------------------------------------------------------------- likelihood


class PPCA:
    """z ~ N(0, I_q), x | z ~ N(W z + b, s^2 I_d): exact marginal and posterior."""

    def __init__(self, d=5, q=2, s=0.5, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.W = torch.randn(d, q, generator=g, dtype=torch.float64)
        self.b = torch.randn(d, generator=g, dtype=torch.float64)
        self.s, self.d, self.q = s, d, q
        self.g = torch.Generator().manual_seed(seed + 1)
        m = self.W.T @ self.W + s**2 * torch.eye(q, dtype=torch.float64)
        self.Minv = torch.linalg.inv(m)

    def log_marginal(self, x):
        cov = self.W @ self.W.T + self.s**2 * torch.eye(self.d, dtype=torch.float64)
        return torch.distributions.MultivariateNormal(self.b, covariance_matrix=cov).log_prob(x)

    def posterior(self, x):
        mean = (x - self.b) @ self.W @ self.Minv.T
        return mean, self.s**2 * self.Minv

    def log_weights_fn(self, mean_shift=0.0, scale=1.0):
        def fn(xb, kc):
            mean, cov = self.posterior(xb)
            q = torch.distributions.MultivariateNormal(mean + mean_shift, covariance_matrix=cov * scale**2)
            z = q.sample((kc,))                                   # (kc, B, q)
            prior = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)
            lik = torch.distributions.Normal(z @ self.W.T + self.b, self.s).log_prob(xb).sum(-1)
            return (prior + lik - q.log_prob(z)).T                # (B, kc)
        return fn


@pytest.mark.slow
def test_is_nll_exact_with_exact_posterior():
    torch.manual_seed(0)
    model = PPCA()
    x = model.b + torch.randn(30, model.d, dtype=torch.float64) * 1.5
    exact = -model.log_marginal(x).mean().item()
    r = importance_sampled_nll(model.log_weights_fn(), x, k=50, batch_size=7, chunk=16,
                               protocol={"data": "synthetic PPCA"})
    assert r.nll == pytest.approx(exact, abs=1e-9)
    assert r.k == 50 and r.n == 30 and r.protocol["data"] == "synthetic PPCA" and r.protocol["units"] == "nats"
    assert r.stderr > 0


@pytest.mark.slow
def test_is_nll_close_with_imperfect_posterior_k5000():
    torch.manual_seed(1)
    model = PPCA()
    x = model.b + torch.randn(20, model.d, dtype=torch.float64) * 1.5
    exact = -model.log_marginal(x).mean().item()
    fn = model.log_weights_fn(mean_shift=0.1, scale=1.5)
    r = importance_sampled_nll(fn, x, k=5000, batch_size=10, chunk=1000)
    assert abs(r.nll - exact) < 0.5
    assert r.nll >= exact - 0.05  # a lower bound on log p in expectation: NLL not much below the truth
    # the crude k=1 estimate (the ELBO) is worse than k=5000
    r1 = importance_sampled_nll(fn, x, k=1)
    assert r1.nll > r.nll


def test_is_nll_shape_error():
    with pytest.raises(MetricError, match=r"\(4, 10\)"):
        importance_sampled_nll(lambda xb, kc: torch.zeros(kc, xb.shape[0]), torch.zeros(4, 3), k=10, chunk=10)


# ---------------------------------------------------------------------------------------- probe


def test_linear_probe_separable_and_kmeans_features():
    g = torch.Generator().manual_seed(0)
    centers = torch.randn(3, 20, generator=g) * 5
    y = torch.arange(300) % 3
    x = centers[y] + torch.randn(300, 20, generator=g)
    assert linear_probe(x[:200], y[:200], x[200:], y[200:]) == 1.0
    ftr, fte = kmeans_features(x[:200], x[200:], k=6, seed=0)
    assert ftr.shape == (200, 6) and fte.shape == (100, 6) and (ftr >= 0).all()
    assert linear_probe(ftr, y[:200], fte, y[200:]) > 0.9
    with pytest.raises(MetricError, match="same dimension"):
        linear_probe(x[:200], y[:200], x[200:, :5], y[200:])
    with pytest.raises(MetricError, match="labels"):
        linear_probe(x[:200], y[:100], x[200:], y[200:])


# ---------------------------------------------------------------------------------------- corruptions


def test_corruptions():
    x = (torch.arange(2 * 1 * 9 * 9) % 256).to(torch.uint8).reshape(2, 1, 9, 9)
    xf = x.float() / 255
    assert torch.equal(gaussian_noise(x, 0.0), xf)
    n = gaussian_noise(x, 0.3, seed=1)
    assert n.min() >= 0 and n.max() <= 1 and not torch.equal(n, xf)
    assert torch.equal(n, gaussian_noise(x, 0.3, seed=1))
    const = torch.full((1, 3, 10, 12), 0.4)
    assert torch.allclose(gaussian_blur(const, 1.5), const, atol=1e-6)
    dot = torch.zeros(1, 1, 21, 21)
    dot[0, 0, 10, 10] = 1.0
    b = gaussian_blur(dot, 1.0)
    assert b.sum().item() == pytest.approx(1.0, abs=1e-5) and b[0, 0, 10, 10] < 0.2
    assert torch.equal(gaussian_blur(xf, 0.0), xf)
    with pytest.raises(MetricError, match=r"\[0, 1\]"):
        gaussian_noise(torch.full((1, 1, 4, 4), 2.0), 0.1)


# ---------------------------------------------------------------------------------------- clusters


def test_cluster_error_labels_clusters_by_exemplar_and_by_majority():
    # 6 training examples, 4 clusters; rows are q(y|x). Each row's argmax is its cluster:
    # x0, x1, x2 -> cluster 0 (labels 0, 1, 1); x3, x4 -> cluster 1 (labels 2, 2); x5 -> cluster 2 (label 0);
    # cluster 3 is empty.
    train = torch.tensor([[.7, .1, .1, .1], [.6, .2, .1, .1], [.5, .3, .1, .1],
                          [.1, .7, .1, .1], [.2, .6, .1, .1], [.1, .1, .6, .2]])
    train_y = torch.tensor([0, 1, 1, 2, 2, 0])
    # exemplars (the column maxima): cluster 0 -> x0 (label 0), 1 -> x3 (2), 2 -> x5 (0), 3 -> x5 (0)
    # majorities: cluster 0 -> 1 (two of three), 1 -> 2, 2 -> 0, 3 (empty) -> its exemplar's 0
    test = torch.eye(4)[[0, 0, 1, 2, 3]]
    test_y = torch.tensor([1, 1, 2, 0, 1])
    r = cluster_error(train, train_y, test, test_y)
    assert r["exemplar_labels"] == [0, 2, 0, 0] and r["majority_labels"] == [1, 2, 0, 0]
    # exemplar predictions 0, 0, 2, 0, 0: three of five wrong; majority 1, 1, 2, 0, 0: one wrong
    assert r["exemplar_error_percent"] == pytest.approx(60.0)
    assert r["majority_error_percent"] == pytest.approx(20.0)
    assert r["clusters"] == 4 and r["clusters_used"] == 4
    assert error_percent(torch.tensor([1, 2, 3, 4]), torch.tensor([1, 2, 0, 0])) == 50.0


def test_cluster_error_shape_errors():
    with pytest.raises(MetricError, match="shapes"):
        cluster_error(torch.rand(5, 3), torch.zeros(4, dtype=torch.long), torch.rand(2, 3), torch.zeros(2))
    with pytest.raises(MetricError, match="different numbers of clusters: 3 and 4"):
        cluster_error(torch.rand(5, 3), torch.zeros(5, dtype=torch.long), torch.rand(2, 4),
                      torch.zeros(2, dtype=torch.long))
    with pytest.raises(MetricError, match="non-empty vectors of one length"):
        error_percent(torch.zeros(3), torch.zeros(2))
