"""Image-to-image translation nets: output shapes, U-Net depth and skips, batch statistics at test time,
dropout, the PatchGAN map size and receptive field (measured), layouts, and the size / name errors."""
import pytest
import torch
from torch import nn

from genzoo.nets import PatchDiscriminator, ResnetGenerator, UNetGenerator, patch_receptive_field
from genzoo.nets.translation import ResnetBlock

W = 8  # narrow nets keep the tests fast; the layouts do not depend on the width
SHAPES = [(1, 28, 28), (1, 32, 32), (3, 64, 64), (3, 64, 48)]


@pytest.fixture(autouse=True)
def _seed(one_thread):
    torch.manual_seed(0)


def leaves(net):
    return [m for m in net.modules() if not list(m.children())]


# ---- output shapes and range -------------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("out_channels", [None, 2])
def test_generators_map_images_to_images_of_the_same_size(shape, out_channels):
    x = torch.randn(2, *shape)
    want = (2, out_channels or shape[0], *shape[1:])
    assert UNetGenerator(shape, out_channels, width=W)(x).shape == want
    assert ResnetGenerator(shape, out_channels, width=W, n_blocks=2)(x).shape == want


@pytest.mark.parametrize("shape", SHAPES)
def test_patch_discriminator_map_size_matches_output_size(shape):
    D = PatchDiscriminator(2 * shape[0], width=W)  # pix2pix: condition and image concatenated
    out = D(torch.randn(2, 2 * shape[0], *shape[1:]))
    assert out.shape == (2, 1, *D.output_size(*shape[1:]))


def test_generator_outputs_are_in_minus_one_one():
    x = 10 * torch.randn(2, 3, 32, 32)
    for G in (UNetGenerator((3, 32, 32), width=W), ResnetGenerator((3, 32, 32), width=W, n_blocks=1)):
        nn.init.normal_(G.net[-2].weight if isinstance(G, ResnetGenerator) else G.up[0][1].weight, 0, 1)
        out = G(x)
        assert out.abs().max() <= 1 and out.abs().max() > 0.9  # tanh output, saturated by large weights
        assert isinstance(leaves(G)[-1] if isinstance(G, ResnetGenerator) else G.up[0][-1], nn.Tanh)


def test_paper_sizes_at_256x256():
    x = torch.randn(1, 3, 256, 256)
    G = UNetGenerator((3, 256, 256), width=4)
    assert G(x).shape == (1, 3, 256, 256)
    # C64-C128-C256-C512-C512-C512-C512-C512, scaled to width 4
    channels = [next(m for m in blk if isinstance(m, nn.Conv2d)).out_channels for blk in G.down]
    assert channels == [4, 8, 16, 32, 32, 32, 32, 32]
    D = PatchDiscriminator(6, width=4)
    assert D(torch.randn(1, 6, 256, 256)).shape == (1, 1, 30, 30)  # the 70x70 PatchGAN's 30x30 map
    assert D.output_size(256, 256) == (30, 30) and D.receptive_field == 70


# ---- U-Net ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("h,w,max_levels,levels", [
    (256, 256, 8, 8), (32, 32, 8, 5), (28, 28, 8, 2), (64, 48, 8, 4), (256, 256, 6, 6), (2, 2, 8, 1),
])
def test_unet_levels(h, w, max_levels, levels):
    G = UNetGenerator((1, h, w), width=2, max_levels=max_levels)
    assert G.levels == levels == len(G.down) == len(G.up)


def test_unet_batch_norm_uses_batch_statistics_in_eval_mode():
    G = UNetGenerator((1, 32, 32), width=W, norm="batch", dropout=0)
    assert all(m.running_mean is None for m in G.modules() if isinstance(m, nn.BatchNorm2d))
    x = torch.randn(4, 1, 32, 32)
    with torch.no_grad():
        train_out = G.train()(x)
        eval_out = G.eval()(x)
    torch.testing.assert_close(train_out, eval_out)


def test_unet_dropout_is_noise_in_train_mode_only():
    G = UNetGenerator((1, 32, 32), width=W, dropout=0.5, dropout_blocks=2)
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        assert not torch.allclose(G.train()(x), G(x))
        torch.testing.assert_close(G.eval()(x), G(x))


@pytest.mark.parametrize("size,blocks", [(256, [6, 5, 4]), (32, []), (28, [])])
def test_unet_default_dropout_blocks_sit_just_outside_the_innermost(size, blocks):
    G = UNetGenerator((1, size, size), width=2)
    assert [i for i, blk in enumerate(G.up) if isinstance(blk[-1], nn.Dropout)] == sorted(blocks)
    assert not any(isinstance(m, nn.Dropout) for m in UNetGenerator((1, size, size), width=2, dropout=0).modules())


def test_unet_every_input_pixel_reaches_the_output_and_skips_carry_it_without_the_bottleneck():
    G = UNetGenerator((1, 32, 32), width=W, norm="none")
    assert G.levels == 5  # 1x1 bottleneck
    x = torch.randn(1, 1, 32, 32, requires_grad=True)
    (grad,) = torch.autograd.grad(G(x).sum(), x)
    assert (grad != 0).all()
    # Cut the bottleneck: without skip connections the output would no longer depend on x.
    G.down[-1].register_forward_hook(lambda m, i, out: torch.zeros_like(out))
    (grad,) = torch.autograd.grad(G(x).sum(), x)
    assert (grad != 0).all()


# ---- ResNet generator ------------------------------------------------------------------------------------

@pytest.mark.parametrize("n_blocks", [0, 3, 9])
def test_resnet_n_blocks_counts_residual_blocks(n_blocks):
    G = ResnetGenerator((3, 16, 16), width=2, n_blocks=n_blocks)
    assert sum(isinstance(m, ResnetBlock) for m in G.modules()) == n_blocks
    assert G(torch.randn(1, 3, 16, 16)).shape == (1, 3, 16, 16)


def test_resnet_layout_c7s1_d_d_r_u_u_c7s1():
    G = ResnetGenerator((3, 32, 32), width=W, n_blocks=1)
    convs = [m for m in G.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert [(m.kernel_size[0], m.stride[0], m.out_channels) for m in convs] == [
        (7, 1, W), (3, 2, 2 * W), (3, 2, 4 * W), (3, 1, 4 * W), (3, 1, 4 * W), (3, 2, 2 * W), (3, 2, W), (7, 1, 3)]
    assert isinstance(convs[5], nn.ConvTranspose2d) and convs[5].output_padding == (1, 1)
    assert sum(isinstance(m, nn.ReflectionPad2d) for m in G.modules()) == 4
    assert ResnetGenerator((1, 64, 64), width=2, n_blocks=1, n_down=3)(torch.randn(1, 1, 64, 64)).shape == (1, 1, 64, 64)


# ---- PatchGAN ------------------------------------------------------------------------------------------

def test_patch_receptive_field_values():
    assert [patch_receptive_field(n) for n in (1, 2, 3)] == [16, 34, 70]
    assert PatchDiscriminator(3, width=2, n_layers=2).receptive_field == 34


@pytest.mark.parametrize("n_layers", [1, 2, 3])
def test_patch_receptive_field_measured_by_perturbing_one_pixel(n_layers):
    """Each output cell i sees input rows [s*i - P, s*i - P + rf - 1] (s = 2**n_layers, P the summed
    padding). Perturbing one pixel must change exactly the cells whose window covers it; moving the
    pixel over s consecutive positions pins both ends of the window, so rf is measured exactly."""
    D = PatchDiscriminator(1, width=2, n_layers=n_layers, norm="none").double().eval()
    with torch.no_grad():
        for p in D.parameters():
            p.normal_(0, 1)  # large weights: every path's effect is far above rounding
    rf, s = D.receptive_field, 2 ** n_layers
    pad = (s - 1) + 2 * s  # padding 1 at each conv, in input pixels: 1 + 2 + ... + s/2, then s + s
    size = 2 * rf + 4 * s
    c = size // 2
    x = torch.randn(1, 1, size, size, dtype=torch.float64).repeat(s + 1, 1, 1, 1)
    for d in range(s):
        x[d + 1, 0, c + d, c + d] += 5.0
    with torch.no_grad():
        out = D(x)[:, 0]
    cells = torch.arange(out.shape[-1])
    for d in range(s):
        covers = (s * cells - pad <= c + d) & (c + d <= s * cells - pad + rf - 1)
        changed = (out[d + 1] - out[0]).abs() > 1e-9 * out[0].abs().max()
        assert torch.equal(changed, covers[:, None] & covers[None, :]), f"pixel offset {d}"


def test_patch_discriminator_layout_caps_width_at_8x():
    D = PatchDiscriminator(3, width=2, n_layers=5)
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.stride[0], m.out_channels) for m in convs] == [
        (2, 2), (2, 4), (2, 8), (2, 16), (2, 16), (1, 16), (1, 1)]
    assert not isinstance(leaves(D)[1], nn.BatchNorm2d)  # no norm on the input layer


# ---- shared rules: bias, gradients -------------------------------------------------------------------

NETS = {  # name: (net for a norm, input shape, default norm)
    "unet": (lambda norm: UNetGenerator((1, 32, 32), width=W, norm=norm, dropout_blocks=1), (1, 32, 32), "batch"),
    "resnet": (lambda norm: ResnetGenerator((1, 16, 16), width=W, n_blocks=2, norm=norm), (1, 16, 16), "instance"),
    "patch": (lambda norm: PatchDiscriminator(2, width=W, n_layers=2, norm=norm), (2, 32, 32), "batch"),
}


@pytest.mark.parametrize("name", NETS)
@pytest.mark.parametrize("norm", ["batch", "instance", "none"])
def test_convs_have_a_bias_unless_batch_norm_follows(name, norm):
    layers = leaves(NETS[name][0](norm))
    convs = [(m, nxt) for m, nxt in zip(layers, layers[1:] + [None])
             if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert convs
    for m, nxt in convs:
        assert (m.bias is None) == isinstance(nxt, nn.BatchNorm2d)
    norm_type = {"batch": nn.BatchNorm2d, "instance": nn.InstanceNorm2d, "none": ()}[norm]
    assert any(isinstance(m, norm_type) for m in layers) == (norm != "none")
    assert all(not m.affine for m in layers if isinstance(m, nn.InstanceNorm2d))


@pytest.mark.parametrize("name", NETS)
def test_every_parameter_gets_a_gradient(name):
    make, shape, norm = NETS[name]
    net = make(norm)
    net(torch.randn(2, *shape)).square().mean().backward()
    for n, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), n
        if p.dim() > 1:
            assert p.grad.abs().sum() > 0, n


# ---- errors ----------------------------------------------------------------------------------------------

def test_unet_rejects_odd_sizes_and_names_sizes_that_work():
    with pytest.raises(ValueError, match=r"27x27 cannot be halved.*e\.g\. 28 or 32"):
        UNetGenerator((3, 27, 27))
    with pytest.raises(ValueError, match="divisible by 32"):
        UNetGenerator((1, 32, 32), width=2)(torch.randn(1, 1, 48, 40))
    with pytest.raises(ValueError, match=r"dropout_blocks=3.*use 0\.\.0"):
        UNetGenerator((1, 28, 28), width=2, dropout_blocks=3)


def test_resnet_rejects_sizes_not_divisible_by_2_pow_n_down():
    with pytest.raises(ValueError, match=r"n_down=2 needs H and W divisible by 4.*30x30.*e\.g\. 32"):
        ResnetGenerator((3, 30, 30))
    with pytest.raises(ValueError, match=r"divisible by 8.*e\.g\. 32x64"):
        ResnetGenerator((3, 28, 60), n_down=3)
    with pytest.raises(ValueError, match=r"at least 8.*e\.g\. 8"):
        ResnetGenerator((3, 4, 4))


@pytest.mark.parametrize("name", NETS)
def test_unknown_norm_lists_the_valid_ones(name):
    with pytest.raises(ValueError, match="unknown norm 'group'; valid: 'batch', 'instance', 'none'"):
        NETS[name][0]("group")


def test_patch_discriminator_rejects_images_too_small_for_n_layers():
    D = PatchDiscriminator(3, width=2, n_layers=3)
    with pytest.raises(ValueError, match=r"16x16 is too small .* n_layers=3 \(it needs at least 24x24\); "
                                         r"the largest n_layers that works is 2"):
        D(torch.randn(1, 3, 16, 16))
    with pytest.raises(ValueError, match=r"at least 6x6 with n_layers=1"):
        PatchDiscriminator(3, width=2, n_layers=1).output_size(4, 64)
    with pytest.raises(ValueError, match=r"too small .* n_layers=2 .* n_layers that works is 1"):
        PatchDiscriminator(3, width=2, n_layers=2).check_input_size(64, 8)
    PatchDiscriminator(3, width=2, n_layers=2).check_input_size(12, 12)  # the smallest that fits
    with pytest.raises(ValueError, match="n_layers must be >= 1"):
        PatchDiscriminator(3, n_layers=0)
