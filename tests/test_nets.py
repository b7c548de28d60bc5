"""Architectures: shape arithmetic, output shapes for every image size, DCGAN layout rules, spectral norm."""
import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from genzoo.losses import g_loss_non_saturating
from genzoo.nets import (ConvDecoder, ConvEncoder, DCGANDiscriminator, DCGANGenerator, conv_out_size, conv_plan,
                         conv_transpose_out_size, dcgan_init_, mlp)

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny nets: one thread is fastest, and spares a busy CPU

SHAPES = [(1, 28, 28), (3, 32, 32), (3, 64, 64), (1, 8, 8)]
NORM_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d, nn.LayerNorm)
W = 8  # narrow nets keep the tests fast; the layout does not depend on the width


# ---- shape arithmetic ----------------------------------------------------------------------------

def test_conv_out_size_by_hand():
    assert conv_out_size(28, 4, 2, 1) == 14       # (28 + 2 - 4) / 2 + 1
    assert conv_out_size(5, 3) == 3               # (5 - 3) / 1 + 1
    assert conv_out_size(7, 3, 2, 1) == 4         # floor((7 + 2 - 3) / 2) + 1
    assert conv_out_size(8, 4, 2, 1) == 4


def test_conv_transpose_out_size_by_hand():
    assert conv_transpose_out_size(7, 4, 2, 1) == 14                    # 2*6 - 2 + 4
    assert conv_transpose_out_size(4, 3, 2, 1, output_padding=1) == 8   # 2*3 - 2 + 3 + 1
    assert conv_transpose_out_size(1, 4) == 4


@pytest.mark.parametrize("shape,plan", [
    ((1, 28, 28), (7, 7, 2)), ((3, 32, 32), (4, 4, 3)), ((3, 64, 64), (4, 4, 4)), ((1, 8, 8), (4, 4, 1)),
    ((28, 32), (7, 8, 2)), ((3, 128, 128), (8, 8, 4)), ((1, 12, 12), (6, 6, 1)),
])
def test_conv_plan(shape, plan):
    assert conv_plan(shape) == plan


def test_conv_plan_explains_impossible_sizes():
    with pytest.raises(ValueError, match=r"image size 27x27 cannot be built by stride-2 up-sampling; "
                                         r"resize to e\.g\. 28 or 32"):
        conv_plan((3, 27, 27))
    with pytest.raises(ValueError, match="6x6"):
        conv_plan((1, 6, 6))  # halving gives 3 < 4
    with pytest.raises(ValueError, match="27x27"):
        DCGANGenerator(8, (1, 27, 27))


# ---- output shapes ------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("num_classes", [0, 3])
def test_generator_and_discriminator_shapes(shape, num_classes):
    y = torch.tensor([0, 2]) if num_classes else None
    G = DCGANGenerator(16, shape, width=W, num_classes=num_classes)
    D = DCGANDiscriminator(shape, width=W, num_classes=num_classes)
    x = G(torch.randn(2, 16), y)
    assert x.shape == (2, *shape)
    assert x.abs().max() <= 1  # tanh output
    assert D(x, y).shape == (2,)
    base_h, base_w, levels = conv_plan(shape)
    assert D.features(x).shape == (2, W * 2 ** (levels - 1) * base_h * base_w)
    assert DCGANDiscriminator(shape, width=W, out_dim=5)(x).shape == (2, 5)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("num_classes", [0, 3])
def test_encoder_and_decoder_shapes(shape, num_classes):
    y = torch.tensor([1, 2]) if num_classes else None
    enc = ConvEncoder(shape, out_dim=6, width=W, num_classes=num_classes)
    dec = ConvDecoder(3, shape, width=W, num_classes=num_classes, class_embed_dim=4 if num_classes else None)
    h = enc(torch.rand(2, *shape), y)
    assert h.shape == (2, 6)
    assert dec(h[:, :3], y).shape == (2, *shape)


def test_decoder_returns_logits_by_default():
    dec = ConvDecoder(4, (1, 8, 8), width=W)
    assert not any(isinstance(m, (nn.Tanh, nn.Sigmoid)) for m in dec.modules())
    torch.manual_seed(0)   # a large unseeded input can saturate the float sigmoid to exactly 1.0
    out = ConvDecoder(4, (1, 8, 8), width=W, out_activation="sigmoid").eval()(torch.randn(3, 4) * 3)
    assert ((out > 0) & (out < 1)).all()


def test_conditional_nets_need_labels():
    with pytest.raises(ValueError, match="labels"):
        DCGANGenerator(4, (1, 8, 8), width=W, num_classes=3)(torch.randn(2, 4))
    with pytest.raises(ValueError, match="labels"):
        DCGANDiscriminator((1, 8, 8), width=W, num_classes=3)(torch.rand(2, 1, 8, 8))


# ---- DCGAN layout rules ----------------------------------------------------------------------------

@pytest.mark.parametrize("norm,norm_type", [("batch", nn.BatchNorm2d), ("layer", nn.GroupNorm),
                                            ("instance", nn.InstanceNorm2d)])
def test_discriminator_input_layer_has_no_normalization(norm, norm_type):
    D = DCGANDiscriminator((3, 32, 32), width=W, norm=norm)
    layers = list(D.body)
    assert isinstance(layers[0], nn.Conv2d) and layers[0].in_channels == 3
    assert isinstance(layers[1], nn.LeakyReLU) and layers[1].negative_slope == 0.2
    # one normalization per later block: 3 levels -> 2 blocks
    assert sum(isinstance(m, norm_type) for m in D.modules()) == 2


def test_wgan_gp_critic_has_no_normalization():
    D = DCGANDiscriminator((3, 32, 32), width=W, norm="none")
    assert not any(isinstance(m, NORM_TYPES) for m in D.modules())
    with pytest.raises(ValueError, match="'batch', 'layer', 'instance', 'none'"):
        DCGANDiscriminator((3, 32, 32), norm="group")


@pytest.mark.parametrize("shape", SHAPES)
def test_generator_output_has_no_batch_norm_and_ends_in_tanh(shape):
    G = DCGANGenerator(16, shape, width=W)
    layers = list(G.net)
    last = layers[-1]
    assert isinstance(last, nn.ConvTranspose2d) and last.out_channels == shape[0] and last.bias is not None
    assert isinstance(G.out_activation, nn.Tanh)
    # project (Linear, no bias) + BN + ReLU, then one BN per hidden up-sampling block: L in all
    assert isinstance(layers[0], nn.Linear) and layers[0].bias is None
    assert sum(isinstance(m, nn.BatchNorm2d) for m in G.modules()) == conv_plan(shape)[2]
    # channels halve at each up-sampling step: width * 2**(L-1) ... width
    convs = [m for m in layers if isinstance(m, nn.ConvTranspose2d)]
    assert [c.in_channels for c in convs] == [W * 2 ** i for i in reversed(range(conv_plan(shape)[2]))]


def test_dcgan_init_statistics():
    torch.manual_seed(0)
    G = DCGANGenerator(100, (3, 64, 64), width=32)
    big = G.net[4].weight  # 256 -> 128 transposed conv: 524k weights
    assert big.std().item() == pytest.approx(0.02, rel=0.02)
    assert big.mean().item() == pytest.approx(0.0, abs=1e-3)
    bn = [m for m in G.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(m.bias.abs().max() == 0 for m in bn)
    assert torch.cat([m.weight for m in bn]).mean().item() == pytest.approx(1.0, abs=0.01)
    assert G.net[-1].bias.abs().max() == 0
    # applied to any module, in place
    lin = dcgan_init_(nn.Linear(1000, 100))
    assert lin.weight.std().item() == pytest.approx(0.02, rel=0.02) and lin.bias.abs().max() == 0


# ---- spectral normalization -------------------------------------------------------------------------

def _sn_modules(net):
    return [m for m in net.modules() if parametrize.is_parametrized(m, "weight")]


@pytest.mark.slow
def test_spectral_norm_makes_each_weight_1_lipschitz_after_power_iterations():
    torch.manual_seed(0)
    D = DCGANDiscriminator((3, 32, 32), width=W, norm="none", num_classes=3, spectral_norm=True)
    sn = _sn_modules(D)
    assert len(sn) == 3 + 1 + 1  # 3 convs, the head, the projection embedding
    x, y = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 0])
    D.train()
    with torch.no_grad():
        for _ in range(30):  # one power iteration per training-mode forward
            D(x, y)
    D.eval()  # eval: use the estimated u, v without updating them
    for m in sn:
        w = m.weight.reshape(m.weight.shape[0], -1)
        w_raw = m.parametrizations.weight.original.reshape(w.shape)
        sigma_true = torch.linalg.matrix_norm(w_raw, 2)
        assert torch.linalg.matrix_norm(w, 2).item() == pytest.approx(1.0, rel=0.01)
        assert (w_raw.norm() / w.norm()).item() == pytest.approx(sigma_true.item(), rel=0.01)  # the sigma estimate


def test_mlp_spectral_norm_wraps_every_linear():
    net = mlp(2, [32, 32], 1, activation="leaky_relu", spectral_norm=True)
    assert len(_sn_modules(net)) == 3
    net.train()
    with torch.no_grad():
        for _ in range(30):
            net(torch.randn(8, 2))
    net.eval()
    for m in _sn_modules(net):
        assert torch.linalg.matrix_norm(m.weight, 2).item() == pytest.approx(1.0, rel=0.01)


# ---- MLP ----------------------------------------------------------------------------------------------------

def test_mlp_layout():
    net = mlp(2, [16, 8], 3, activation="leaky_relu", norm="layer", out_activation="sigmoid", dropout=0.1)
    kinds = [type(m) for m in net]
    assert kinds == [nn.Linear, nn.LayerNorm, nn.LeakyReLU, nn.Dropout,
                     nn.Linear, nn.LayerNorm, nn.LeakyReLU, nn.Dropout, nn.Linear, nn.Sigmoid]
    assert net[2].negative_slope == 0.2
    out = net.eval()(torch.randn(5, 2))
    assert out.shape == (5, 3) and ((out > 0) & (out < 1)).all()
    assert [type(m) for m in mlp(4, [], 2)] == [nn.Linear]  # plain linear map (e.g. linear AE)
    assert isinstance(mlp(4, [8], 2, norm="batch")[1], nn.BatchNorm1d)


@pytest.mark.parametrize("kw,valid", [({"activation": "gelu"}, "leaky_relu"), ({"norm": "group"}, "layer"),
                                      ({"out_activation": "relu"}, "sigmoid")])
def test_mlp_unknown_names_list_the_valid_ones(kw, valid):
    with pytest.raises(ValueError, match=valid):
        mlp(2, [4], 1, **kw)


# ---- gradients -------------------------------------------------------------------------------------

@pytest.mark.parametrize("num_classes", [0, 3])
def test_gradients_flow_to_every_generator_parameter_through_the_discriminator(num_classes):
    torch.manual_seed(0)
    y = torch.tensor([0, 1, 2, 1]) if num_classes else None
    G = DCGANGenerator(8, (1, 28, 28), width=W, num_classes=num_classes, class_embed_dim=5 if num_classes else None)
    D = DCGANDiscriminator((1, 28, 28), width=W, num_classes=num_classes, spectral_norm=True)
    g_loss_non_saturating(D(G(torch.randn(4, 8), y), y)).backward()
    for name, p in G.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_projection_discriminator_adds_inner_product_of_label_embedding_and_features():
    D = DCGANDiscriminator((1, 8, 8), width=W, num_classes=4).eval()
    x, y = torch.rand(3, 1, 8, 8), torch.tensor([0, 3, 1])
    h = D.features(x)
    expected = D.head(h).squeeze(1) + (D.embed.weight[y] * h).sum(1)
    torch.testing.assert_close(D(x, y), expected)
    assert not torch.allclose(D(x, y), D(x, torch.tensor([1, 2, 3])))


# ---- InfoGAN's fully connected hidden layer (fc_width) --------------------------------------------

def n_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_generator_fc_layer_matches_infogan_mnist_generator_by_hand():
    G = DCGANGenerator(100, (1, 28, 28), width=64, fc_width=1024)
    layers = list(G.net)
    assert isinstance(layers[0], nn.Linear) and (layers[0].in_features, layers[0].out_features) == (100, 1024)
    assert isinstance(layers[1], nn.BatchNorm1d) and isinstance(layers[2], nn.ReLU)
    assert isinstance(layers[3], nn.Linear) and (layers[3].in_features, layers[3].out_features) == (1024, 128 * 7 * 7)
    # FC 100*1024 + BN 2*1024 + FC 1024*6272 + BN 2*128 + ConvT 128*64*16 + BN 2*64 + ConvT 64*16 + 1
    assert n_params(G) == 102_400 + 2_048 + 6_422_528 + 256 + 131_072 + 128 + 1_025
    # the same net without the layer: projection 100*6272 instead of the two FC layers and their BN
    assert n_params(DCGANGenerator(100, (1, 28, 28), width=64)) == 627_200 + 256 + 131_072 + 128 + 1_025
    assert G(torch.randn(2, 100)).shape == (2, 1, 28, 28)


@pytest.mark.slow
def test_feature_projection_norm_is_infogans_batch_norm_of_each_projected_feature():
    G = DCGANGenerator(100, (1, 28, 28), width=64, fc_width=1024, projection_norm="feature")
    fc, norm, reshape, relu = list(G.net)[3:7]
    assert (fc.out_features, norm.num_features) == (128 * 7 * 7, 128 * 7 * 7) and isinstance(norm, nn.BatchNorm1d)
    assert isinstance(reshape, nn.Unflatten) and isinstance(relu, nn.ReLU)   # the norm comes before the reshape
    # BN 2*6272 on the projection instead of 2*128
    assert n_params(G) == 102_400 + 2_048 + 6_422_528 + 12_544 + 131_072 + 128 + 1_025
    # in training mode every one of the 6272 features has batch mean 0 and variance 1 (scale ~1, shift 0) ...
    h = G.net[:6](torch.randn(256, 100))
    assert h.shape == (256, 128, 7, 7)
    scale = norm.weight.view(128, 7, 7)
    assert h.mean(0).abs().max() < 1e-5 and (h.var(0, unbiased=False) - scale**2).abs().max() < 1e-3
    # ... while the channel-wise norm only centres each channel over the batch and the 7x7 positions together
    channel = DCGANGenerator(100, (1, 28, 28), width=64, fc_width=1024)
    c = channel.net[:6](torch.randn(256, 100))
    assert c.mean((0, 2, 3)).abs().max() < 1e-5 and c.mean(0).abs().max() > 0.1
    with pytest.raises(ValueError, match="projection_norm"):
        DCGANGenerator(100, (1, 28, 28), projection_norm="pixel")


def test_discriminator_fc_layer_matches_infogan_mnist_discriminator_by_hand():
    D = DCGANDiscriminator((1, 28, 28), width=64, fc_width=1024)
    assert D.feature_dim == 1024 and D.features(torch.rand(2, 1, 28, 28)).shape == (2, 1024)
    fc, norm, act = list(D.body)[-3:]
    assert (fc.in_features, fc.out_features, fc.bias) == (128 * 7 * 7, 1024, None)
    assert isinstance(norm, nn.BatchNorm1d) and act.negative_slope == 0.2
    # conv 16*64 + 64, conv 64*128*16, BN 2*128, FC 6272*1024, BN 2*1024, head 1024 + 1
    assert n_params(D) == 1_088 + 131_072 + 256 + 6_422_528 + 2_048 + 1_025
    assert D(torch.rand(2, 1, 28, 28)).shape == (2,)


def test_critic_fc_layer_has_a_bias_and_no_normalization():
    D = DCGANDiscriminator((1, 28, 28), width=W, norm="none", fc_width=32)
    assert not any(isinstance(m, NORM_TYPES) for m in D.modules())
    assert list(D.body)[-3].bias is not None
    projection = DCGANDiscriminator((1, 28, 28), width=W, num_classes=3, fc_width=32)
    assert projection.embed.weight.shape == (3, 32)


# ---- moving averages -------------------------------------------------------------------------------

def test_a_moving_average_warms_up_then_keeps_its_decay():
    from genzoo.nets.layers import moving_average_copy, update_moving_average, warmed_up_decay
    assert warmed_up_decay(0.999, 0) == pytest.approx(0.1)             # (1 + 0) / (10 + 0)
    assert warmed_up_decay(0.999, 90) == pytest.approx(0.91)           # 91 / 100
    assert warmed_up_decay(0.999, 8990) == pytest.approx(0.999)        # 8991 / 9000: the warm-up ends here
    assert warmed_up_decay(0.999, 20000) == 0.999
    assert warmed_up_decay(0.5, 3) == pytest.approx(4 / 13)
    assert warmed_up_decay(0.5, 9) == 0.5                              # 10 / 19 is past it
    net = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        net.weight.fill_(0.0)
        average = moving_average_copy(net)
        net.weight.fill_(1.0)
    update_moving_average(average, net, 0.999, 0)                      # 0.1 * 0 + 0.9 * 1
    assert average.weight.item() == pytest.approx(0.9)
    update_moving_average(average, net, 0.999, 1)                      # 2/11 * 0.9 + 9/11 * 1 = 10.8 / 11
    assert average.weight.item() == pytest.approx(10.8 / 11)
    with torch.no_grad():
        net.weight.fill_(0.0)
    update_moving_average(average, net, 0.999, 20000)                  # 0.999 * 10.8 / 11
    assert average.weight.item() == pytest.approx(0.999 * 10.8 / 11)
