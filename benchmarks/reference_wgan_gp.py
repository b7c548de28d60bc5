"""A plain single-file PyTorch WGAN-GP on MNIST, written the way learners write it.

This is the reference that benchmarks/time_to_quality.py compares genzoo's `wgan-gp` preset with.
It follows Gulrajani et al.'s Algorithm 1 the way the PyTorch ports of their code write it (a
critic loop pulling its own minibatches, the penalty from torch.autograd.grad), in the style of
benchmarks/reference_dcgan.py, whose Generator, weight initialization, set-up of the two networks
and their Adam optimizers, sampling and DataLoader it uses.
The networks are the paper's DCGAN-style nets with the settings of genzoo's `wgan-gp` preset
(src/genzoo/presets/wgan-gp.yaml, src/genzoo/nets/conv.py with width 64 and no normalization in the
critic), written out by hand; on 28x28 digits the preset adds InfoGAN's 1024-unit layer, which is part of
genzoo's recipe compared, as the DCGAN reference leaves it out:

    G: the DCGAN generator of benchmarks/reference_dcgan.py (batch norm in G)
    D: x (1x28x28) -> Conv(1, 64, 4, 2, 1) -> LeakyReLU(0.2)                      (14x14)
       -> Conv(64, 128, 4, 2, 1) -> LeakyReLU(0.2)                                (7x7)
       -> Flatten -> Linear(128*7*7, 1)                   (no batch norm, no sigmoid: a critic)

Weights N(0, 0.02), batch-norm scales N(1, 0.02). Adam(1e-4, betas (0, 0.9)) for both; lambda = 10;
1 critic iteration per generator iteration on MNIST, as the preset takes there (the paper's 5 elsewhere),
each on a fresh minibatch of 64 with fresh noise; the generator's iteration on fresh noise.

    python benchmarks/reference_wgan_gp.py --steps 50       # trains, prints the losses and images/s
"""
from __future__ import annotations

import torch
import torch.nn as nn

from reference_dcgan import NDF, NZ, ReferenceDCGAN, batches, command_line, make_loader

LAMBDA = 10        # gradient penalty weight
CRITIC_ITERS = 1   # critic iterations per generator iteration (the preset's on MNIST)


class Critic(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            # input is 1 x 28 x 28
            nn.Conv2d(1, NDF, 4, 2, 1),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf) x 14 x 14
            nn.Conv2d(NDF, NDF * 2, 4, 2, 1),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*2) x 7 x 7
            nn.Flatten(),
            nn.Linear(NDF * 2 * 7 * 7, 1),
        )

    def forward(self, x):
        return self.main(x).view(-1)


def compute_gradient_penalty(netD, real_data, fake_data):
    """E (||grad D(x_hat)||_2 - 1)^2 at x_hat = eps x + (1 - eps) G(z), eps ~ U[0, 1] per image."""
    alpha = torch.rand(real_data.size(0), 1, 1, 1, device=real_data.device)
    interpolates = (alpha * real_data + (1 - alpha) * fake_data).requires_grad_(True)
    disc_interpolates = netD(interpolates)
    gradients = torch.autograd.grad(outputs=disc_interpolates, inputs=interpolates,
                                    grad_outputs=torch.ones_like(disc_interpolates),
                                    create_graph=True, retain_graph=True)[0]
    return ((gradients.view(gradients.size(0), -1).norm(2, dim=1) - 1) ** 2).mean()


class ReferenceWGANGP(ReferenceDCGAN):
    """The DCGAN reference's generator with a critic, its own Adam settings and `step(data)` (data: minibatches)."""

    Discriminator = Critic
    lr, betas = 1e-4, (0.0, 0.9)

    def step(self, data) -> dict:
        netD, netG = self.netD, self.netG
        ############################
        # (1) Update D network CRITIC_ITERS times: minimize D(G(z)) - D(x) + lambda * penalty
        ###########################
        for _ in range(CRITIC_ITERS):
            real = next(data).to(self.device)
            netD.zero_grad()
            noise = torch.randn(real.size(0), NZ, device=self.device)
            with torch.no_grad():
                fake = netG(noise)
            D_real = netD(real).mean()
            D_fake = netD(fake).mean()
            gradient_penalty = compute_gradient_penalty(netD, real, fake)
            errD = D_fake - D_real + LAMBDA * gradient_penalty
            errD.backward()
            self.optimizerD.step()

        ############################
        # (2) Update G network: minimize -D(G(z))
        ###########################
        netG.zero_grad()
        noise = torch.randn(real.size(0), NZ, device=self.device)
        errG = -netD(netG(noise)).mean()
        errG.backward()
        self.optimizerG.step()
        return {"Loss_D": errD.item(), "Loss_G": errG.item(), "Wasserstein_D": (D_real - D_fake).item()}


def trainer(images_uint8: torch.Tensor, batch_size: int = 64, seed: int = 0, num_workers: int = 0,
            device: str = "cpu"):
    """The reference, and a function that runs one generator iteration of its loop (its critic takes the next
    CRITIC_ITERS minibatches)."""
    model = ReferenceWGANGP(seed, device)
    it = batches(make_loader(images_uint8, batch_size=batch_size, seed=seed, num_workers=num_workers))
    return model, lambda: model.step(it)


def main(argv=None) -> int:
    command_line(argv, __doc__, trainer, steps=50, batch_size=64, batches_per_step=CRITIC_ITERS,
                 report=lambda logs: f"Loss_D: {logs['Loss_D']:.4f} Loss_G: {logs['Loss_G']:.4f} "
                                     f"Wasserstein_D: {logs['Wasserstein_D']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
