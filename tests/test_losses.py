"""The GAN losses, penalties and VAE terms against their equations, on numbers computed by hand."""
import math

import pytest
import torch
from torch import nn

from genzoo.errors import ConfigError
from genzoo.losses import (GAN_LOSSES, bernoulli_log_likelihood, clip_weights_, d_loss_hinge, d_loss_least_squares,
                           d_loss_minimax, d_loss_wasserstein, g_loss_hinge, g_loss_least_squares,
                           g_loss_max_likelihood, g_loss_minimax, g_loss_non_saturating, g_loss_wasserstein,
                           gaussian_kl, gaussian_log_likelihood, get_gan_loss, gradient_penalty, log_normal_pdf,
                           log_standard_normal, orthogonal_regularization, r1_penalty, top_k_scores)

LOG3 = math.log(3.0)


def t(*v):
    return torch.tensor(v, dtype=torch.float32)


# ---- minimax / non-saturating / maximum likelihood ------------------------------------------

def test_minimax_d_loss_at_chance():
    # D outputs 1/2 everywhere -> J(D) = -log 1/2 - log 1/2 = 2 log 2
    assert d_loss_minimax(torch.zeros(4), torch.zeros(4)).item() == pytest.approx(2 * math.log(2))


def test_minimax_d_loss_on_given_probabilities():
    # logit log 3 -> D = 3/4 on reals; logit -log 3 -> D = 1/4 on fakes: -log(3/4) - log(1 - 1/4) = 2 log(4/3)
    assert d_loss_minimax(t(LOG3), t(-LOG3)).item() == pytest.approx(2 * math.log(4 / 3))


def test_minimax_d_loss_one_sided_label_smoothing():
    # target 0.9 on reals with D(x) = 3/4: -(0.9 log 3/4 + 0.1 log 1/4); fakes keep target 0: -log(1 - 1/4)
    expected = -(0.9 * math.log(0.75) + 0.1 * math.log(0.25)) - math.log(0.75)
    assert d_loss_minimax(t(LOG3), t(-LOG3), real_target=0.9).item() == pytest.approx(expected)
    # default target is exactly the unsmoothed equation
    assert d_loss_minimax(t(LOG3), t(-LOG3), real_target=1.0).item() == pytest.approx(2 * math.log(4 / 3))


def test_minimax_d_loss_is_finite_for_extreme_logits():
    loss = d_loss_minimax(t(-200.0, 200.0), t(200.0, -200.0))
    # reals: -log D = softplus(200) = 200 and softplus(-200) ~ 0 -> mean 100; fakes likewise -> 100
    assert math.isfinite(loss.item()) and loss.item() == pytest.approx(200.0)


def test_generator_losses_by_hand():
    # D(G(z)) = 1/4 (logit -log 3)
    assert g_loss_minimax(t(-LOG3)).item() == pytest.approx(math.log(0.75))          # log(1 - D)
    assert g_loss_non_saturating(t(-LOG3)).item() == pytest.approx(math.log(4.0))    # -log D
    assert g_loss_non_saturating(torch.zeros(3)).item() == pytest.approx(math.log(2))
    assert g_loss_minimax(torch.zeros(3)).item() == pytest.approx(-math.log(2))
    # maximum likelihood game: -E exp(logit); logits 0 and log 2 -> -(1 + 2) / 2
    assert g_loss_max_likelihood(t(0.0, math.log(2))).item() == pytest.approx(-1.5)


def test_minimax_generator_gradient_vanishes_but_non_saturating_does_not():
    # D confidently rejects the fake: logit -5, D(G(z)) = sigmoid(-5) ~ 0.0067
    f1 = t(-5.0).requires_grad_(True)
    g_loss_minimax(f1).backward()
    f2 = t(-5.0).requires_grad_(True)
    g_loss_non_saturating(f2).backward()
    s = 1 / (1 + math.exp(5.0))
    # both push the logit up (negative derivative); minimax by sigma(l), non-saturating by 1 - sigma(l)
    assert f1.grad.item() == pytest.approx(-s)
    assert f2.grad.item() == pytest.approx(-(1 - s))
    assert abs(f2.grad.item()) > 100 * abs(f1.grad.item())


def test_max_likelihood_gradient_equals_kl_gradient_with_optimal_discriminator():
    # p_data = N(0, 1), p_g = N(theta, 1) with x = theta + z. The optimal D at theta0 has logit
    # l*(x) = log p_data(x) - log p_g(x) = ((x - theta0)^2 - x^2) / 2.
    # d/dtheta KL(p_data || p_theta) = d/dtheta theta^2 / 2 = theta0.
    theta0 = 0.5
    theta = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
    z = torch.randn(400_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x = theta + z
    logits = ((x - theta0) ** 2 - x ** 2) / 2
    g_loss_max_likelihood(logits).backward()
    assert theta.grad.item() == pytest.approx(theta0, rel=0.02)


# ---- least squares, Wasserstein, hinge --------------------------------------------------------

def test_least_squares_losses_by_hand():
    real, fake = t(1.0, 0.5), t(0.0, 0.5)
    # 1/2 mean((1-1)^2, (0.5-1)^2) + 1/2 mean((0-0)^2, (0.5-0)^2) = 1/2 * 0.125 + 1/2 * 0.125
    assert d_loss_least_squares(real, fake).item() == pytest.approx(0.125)
    # 1/2 mean((0-1)^2, (0.5-1)^2) = 1/2 * 0.625
    assert g_loss_least_squares(fake).item() == pytest.approx(0.3125)
    # a=-1, b=1, c=0: 1/2 mean(0, .25) + 1/2 mean(1, 2.25); 1/2 mean(0, .25)
    assert d_loss_least_squares(real, fake, a=-1.0, b=1.0).item() == pytest.approx(0.0625 + 0.8125)
    assert g_loss_least_squares(fake, c=0.0).item() == pytest.approx(0.0625)


def test_wasserstein_losses_by_hand():
    real, fake = t(1.0, 2.0, 3.0), t(-1.0, 0.0)
    assert d_loss_wasserstein(real, fake).item() == pytest.approx(-0.5 - 2.0)
    assert g_loss_wasserstein(fake).item() == pytest.approx(0.5)


def test_hinge_losses_by_hand():
    real, fake = t(2.0, 0.5, -1.0), t(-2.0, 0.0, 0.5)
    # mean(relu(1 - r)) = mean(0, .5, 2) = 5/6; mean(relu(1 + f)) = mean(0, 1, 1.5) = 5/6
    assert d_loss_hinge(real, fake).item() == pytest.approx(5 / 3)
    assert g_loss_hinge(fake).item() == pytest.approx(0.5)


# ---- registry ----------------------------------------------------------------------------------

def test_registry_pairs_losses_by_name():
    assert set(GAN_LOSSES) == {"minimax", "non-saturating", "max-likelihood", "least-squares", "wasserstein", "hinge"}
    d, g = get_gan_loss("non-saturating")
    assert d is d_loss_minimax and g is g_loss_non_saturating
    loss = get_gan_loss("hinge")
    assert loss.d is d_loss_hinge and loss.g is g_loss_hinge
    assert get_gan_loss("max-likelihood").g is g_loss_max_likelihood


def test_top_k_keeps_the_highest_scores_and_zeroes_the_others_gradient():
    # Sinha et al. 2020: G's loss over the k fakes D rates most real; the rest get no gradient.
    logits = torch.tensor([0.1, 3.0, -2.0, 1.0], requires_grad=True)
    top = top_k_scores(logits, 2)
    assert sorted(top.tolist()) == [1.0, 3.0]
    loss = g_loss_non_saturating(top)  # mean of softplus(-l) over {3, 1}
    assert loss.item() == pytest.approx((math.log1p(math.exp(-3.0)) + math.log1p(math.exp(-1.0))) / 2)
    loss.backward()
    assert logits.grad[0] == 0 and logits.grad[2] == 0
    assert logits.grad[1].item() == pytest.approx(-torch.sigmoid(torch.tensor(-3.0)).item() / 2)
    assert top_k_scores(logits, 4) is logits and top_k_scores(logits, 9) is logits
    per_seed = top_k_scores(torch.tensor([[1.0, 5.0, 2.0], [9.0, 0.0, -1.0]]), 1)  # along the last dimension
    assert per_seed.flatten().tolist() == [5.0, 9.0]


def test_unknown_loss_name_is_a_config_error_listing_valid_names():
    with pytest.raises(ConfigError, match="non-saturating.*wasserstein"):
        get_gan_loss("wgan")


# ---- penalties -----------------------------------------------------------------------------------

class LinearCritic(nn.Module):
    """D(x) = <w, flatten(x)>: its input gradient is w everywhere."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.as_tensor(w, dtype=torch.float32))

    def forward(self, x, y=None):
        out = x.flatten(1) @ self.w
        return out if y is None else out + y


def test_gradient_penalty_is_zero_for_unit_norm_linear_critic():
    critic = LinearCritic([0.6, 0.0, 0.8, 0.0])  # ||w|| = 1
    real, fake = torch.randn(8, 1, 2, 2), torch.randn(8, 1, 2, 2)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(0.0, abs=1e-10)


def test_gradient_penalty_equals_lambda_norm_minus_one_squared_and_trains():
    critic = LinearCritic([0.0, 3.0, 0.0, 0.0])  # ||w|| = 3 -> 10 * (3 - 1)^2 = 40
    real, fake = torch.randn(8, 1, 2, 2), torch.randn(8, 1, 2, 2, requires_grad=True)
    gp = gradient_penalty(critic, real, fake, weight=10.0, generator=torch.Generator().manual_seed(1))
    assert gp.item() == pytest.approx(40.0, rel=1e-5)
    gp.backward()
    # d/dw lambda (||w|| - 1)^2 = 2 lambda (||w|| - 1) w / ||w|| = 40 * e_2: only possible with create_graph=True
    torch.testing.assert_close(critic.w.grad, t(0.0, 40.0, 0.0, 0.0))
    assert fake.grad is None  # the penalty never reaches the generator


def test_gradient_penalty_passes_critic_kwargs():
    critic = LinearCritic([0.0, 2.0])
    gp = gradient_penalty(critic, torch.randn(4, 2), torch.randn(4, 2), weight=1.0, y=torch.ones(4))
    assert gp.item() == pytest.approx(1.0, rel=1e-5)  # (2 - 1)^2


def test_r1_penalty_for_linear_discriminator():
    d = LinearCritic([3.0, 4.0])  # gamma/2 ||w||^2 = 5 * 25
    assert r1_penalty(d, torch.randn(6, 2), gamma=10.0).item() == pytest.approx(125.0)


def test_clip_weights_bounds_every_parameter():
    net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0, 1.0)
    clip_weights_(net, c=0.01)
    values = torch.cat([p.flatten() for p in net.parameters()])
    assert values.abs().max().item() == pytest.approx(0.01)
    assert (values.abs() <= 0.01).all()



def test_orthogonal_regularization_penalizes_the_off_diagonal_of_each_weights_gram_matrix():
    # W = [[1, 2], [3, 4]]: W W^T = [[5, 11], [11, 25]], off-diagonal squares 2 * 121 = 242; its gradient
    # 4 (W W^T (.) (1 - I)) W = 4 [[0, 11], [11, 0]] [[1, 2], [3, 4]] = [[132, 176], [44, 88]]
    net = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2), nn.Conv2d(1, 2, (1, 2)))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
        net[0].bias.fill_(5.0)                                        # biases and norms' scales: not penalized
        net[1].weight.fill_(3.0)
        net[2].weight.copy_(torch.tensor([[[[2.0, 0.0]]], [[[0.0, 7.0]]]]))   # orthogonal filters: 0
    r = orthogonal_regularization(net, beta=0.5)
    assert r.item() == pytest.approx(0.5 * 242)
    r.backward()
    assert torch.equal(net[0].weight.grad, 0.5 * torch.tensor([[132.0, 176.0], [44.0, 88.0]]))
    assert net[0].bias.grad is None and net[1].weight.grad is None
    assert torch.equal(net[2].weight.grad, torch.zeros(2, 1, 1, 2))
    with torch.autocast("cpu", dtype=torch.bfloat16):   # float32 weights, a float32 penalty
        assert orthogonal_regularization(net, beta=1 / 3).dtype == torch.float32

# ---- VAE terms --------------------------------------------------------------------------------------

def test_gaussian_kl_by_hand():
    zeros = torch.zeros(2, 3)
    torch.testing.assert_close(gaussian_kl(zeros, zeros), torch.zeros(2))          # KL(N(0,1) || N(0,1)) = 0
    torch.testing.assert_close(gaussian_kl(torch.ones(2, 3), zeros), t(1.5, 1.5))  # 1/2 per dim for N(1, e^0)
    # N(0, 2): -1/2 (1 + log 2 - 0 - 2) per dim
    kl = gaussian_kl(torch.zeros(1, 1), torch.full((1, 1), math.log(2)))
    assert kl.item() == pytest.approx(0.5 * (1 - math.log(2)))


def test_bernoulli_log_likelihood_by_hand():
    # p = 1/2 everywhere: 4 pixels -> 4 log 1/2
    assert bernoulli_log_likelihood(torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2)).item() == pytest.approx(-4 * math.log(2))
    # p = 3/4 (logit log 3), x = (1, 0): log 3/4 + log 1/4
    ll = bernoulli_log_likelihood(torch.full((1, 2), LOG3), t(1.0, 0.0)[None])
    assert ll.item() == pytest.approx(math.log(0.75) + math.log(0.25), rel=1e-6)


def test_gaussian_log_likelihood_by_hand():
    d = 5
    ll = gaussian_log_likelihood(torch.zeros(2, d), torch.zeros(2, d), 0.0)
    torch.testing.assert_close(ll, torch.full((2,), -0.5 * d * math.log(2 * math.pi)))
    # x = 1, mean 0, variance 4: -1/2 (log 2 pi + log 4 + 1/4)
    ll = gaussian_log_likelihood(torch.zeros(1, 1), torch.ones(1, 1), torch.full((1, 1), math.log(4)))
    assert ll.item() == pytest.approx(-0.5 * (math.log(2 * math.pi) + math.log(4) + 0.25))
    assert log_normal_pdf(torch.zeros(1)).item() == pytest.approx(-0.5 * math.log(2 * math.pi))
    assert log_standard_normal(torch.ones(3, 2)).tolist() == pytest.approx([-math.log(2 * math.pi) - 1] * 3)
