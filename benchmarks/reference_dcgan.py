"""A plain single-file PyTorch DCGAN on MNIST, written the way learners write it.

This is the *reference implementation* that benchmarks/throughput.py and
benchmarks/time_to_quality.py compare genzoo with. It follows the PyTorch examples DCGAN
(github.com/pytorch/examples, dcgan/main.py) line by line, with the networks of genzoo's `dcgan`
preset for 1x28x28 images (src/genzoo/nets/conv.py, conv_plan(28x28) = base 7x7, 2 levels,
width 64) written out by hand:

    G: z (100) -> Linear(100, 128*7*7, no bias) -> BatchNorm(128) -> ReLU
       -> ConvTranspose(128, 64, 4, 2, 1, no bias) -> BatchNorm(64) -> ReLU      (14x14)
       -> ConvTranspose(64, 1, 4, 2, 1) -> Tanh                                  (28x28)
    D: x (1x28x28) -> Conv(1, 64, 4, 2, 1) -> LeakyReLU(0.2)                      (14x14)
       -> Conv(64, 128, 4, 2, 1, no bias) -> BatchNorm(128) -> LeakyReLU(0.2)     (7x7)
       -> Flatten -> Linear(128*7*7, 1) -> Sigmoid

Data: a torch.utils.data.Dataset that returns one normalized tensor in [-1, 1] per sample
(what transforms.Compose([ToTensor(), Normalize((0.5,), (0.5,))]) gives), a
DataLoader(shuffle=True, drop_last=True). Loss: nn.BCELoss on D's sigmoid output. Optimizers:
Adam(2e-4, betas (0.5, 0.999)) for both. Weights N(0, 0.02), batch-norm scales N(1, 0.02).

The loop per minibatch (PyTorch examples): (1) update D: maximize log D(x) + log(1 - D(G(z)))
with real and fake batches backpropagated separately; (2) update G: maximize log D(G(z)),
reusing the same fake batch.

    python benchmarks/reference_dcgan.py --steps 200       # trains, prints images/s
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import DataLoader, Dataset

NZ = 100   # size of the latent vector
NGF = 64   # generator width (channels of its last hidden layer)
NDF = 64   # discriminator width (channels of its first layer)


class MNISTDataset(Dataset):
    """MNIST digits as (image, label); each image a float tensor (1, 28, 28) normalized to [-1, 1]."""

    def __init__(self, images_uint8: torch.Tensor, labels: torch.Tensor | None = None):
        self.images = images_uint8          # (N, 1, 28, 28) uint8, as read from the IDX file
        self.labels = labels

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        img = self.images[i].float() / 255.0        # ToTensor()
        img = (img - 0.5) / 0.5                     # Normalize((0.5,), (0.5,))
        label = int(self.labels[i]) if self.labels is not None else 0
        return img, label


def weights_init(m):
    """Custom weights initialization called on netG and netD (PyTorch examples DCGAN)."""
    classname = m.__class__.__name__
    if classname.find("Conv") != -1 or classname.find("Linear") != -1:
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.Linear(NZ, NGF * 2 * 7 * 7, bias=False),
            nn.Unflatten(1, (NGF * 2, 7, 7)),
            nn.BatchNorm2d(NGF * 2),
            nn.ReLU(True),
            # state size. (ngf*2) x 7 x 7
            nn.ConvTranspose2d(NGF * 2, NGF, 4, 2, 1, bias=False),
            nn.BatchNorm2d(NGF),
            nn.ReLU(True),
            # state size. (ngf) x 14 x 14
            nn.ConvTranspose2d(NGF, 1, 4, 2, 1),
            nn.Tanh(),
            # state size. 1 x 28 x 28
        )

    def forward(self, z):
        return self.main(z)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            # input is 1 x 28 x 28
            nn.Conv2d(1, NDF, 4, 2, 1),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf) x 14 x 14
            nn.Conv2d(NDF, NDF * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(NDF * 2),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*2) x 7 x 7
            nn.Flatten(),
            nn.Linear(NDF * 2 * 7 * 7, 1),
            nn.Sigmoid(),
        )

    def forward(self, x):
        return self.main(x).view(-1, 1).squeeze(1)


class ReferenceDCGAN:
    """The models, optimizers and loss of the reference, plus one `step(real)` of its loop."""

    Discriminator = Discriminator
    lr, betas = 2e-4, (0.5, 0.999)

    def __init__(self, seed: int = 0, device: str = "cpu"):
        torch.manual_seed(seed)
        self.device = torch.device(device)
        self.netG = Generator().to(self.device)
        self.netG.apply(weights_init)
        self.netD = self.Discriminator().to(self.device)
        self.netD.apply(weights_init)
        self.criterion = nn.BCELoss()
        self.optimizerD = optim.Adam(self.netD.parameters(), lr=self.lr, betas=self.betas)
        self.optimizerG = optim.Adam(self.netG.parameters(), lr=self.lr, betas=self.betas)
        self.real_label, self.fake_label = 1.0, 0.0

    def step(self, real_cpu: torch.Tensor) -> dict:
        netD, netG, criterion = self.netD, self.netG, self.criterion
        ############################
        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        ###########################
        # train with real
        netD.zero_grad()
        real = real_cpu.to(self.device)
        batch_size = real.size(0)
        label = torch.full((batch_size,), self.real_label, dtype=real.dtype, device=self.device)
        output = netD(real)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()

        # train with fake
        noise = torch.randn(batch_size, NZ, device=self.device)
        fake = netG(noise)
        label.fill_(self.fake_label)
        output = netD(fake.detach())
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        self.optimizerD.step()

        ############################
        # (2) Update G network: maximize log(D(G(z)))
        ###########################
        netG.zero_grad()
        label.fill_(self.real_label)  # fake labels are real for generator cost
        output = netD(fake)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        self.optimizerG.step()
        return {"Loss_D": errD.item(), "Loss_G": errG.item(), "D(x)": D_x, "D(G(z))": (D_G_z1, D_G_z2)}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n images in [0, 1] (eval mode: batch norm with running statistics, like genzoo's sample)."""
        self.netG.eval()
        try:
            z = torch.randn(n, NZ, generator=generator).to(self.device)   # the same draws on any device
            return ((self.netG(z) + 1) / 2).clamp(0, 1)
        finally:
            self.netG.train()


def make_loader(images_uint8: torch.Tensor, labels=None, batch_size: int = 64, seed: int = 0,
                num_workers: int = 0) -> DataLoader:
    g = torch.Generator().manual_seed(seed)
    return DataLoader(MNISTDataset(images_uint8, labels), batch_size=batch_size, shuffle=True,
                      drop_last=True, num_workers=num_workers, generator=g)


def batches(loader: DataLoader):
    """Minibatches forever, epoch after epoch (the examples' `for epoch: for i, data in enumerate(loader)`)."""
    while True:
        for data in loader:
            yield data[0]


def trainer(images_uint8: torch.Tensor, batch_size: int = 64, seed: int = 0, num_workers: int = 0,
            device: str = "cpu"):
    """The reference, and a function that runs one iteration of its loop on the next minibatch."""
    model = ReferenceDCGAN(seed, device)
    it = batches(make_loader(images_uint8, batch_size=batch_size, seed=seed, num_workers=num_workers))
    return model, lambda: model.step(next(it))


def command_line(argv, doc: str, trainer, *, steps: int, batch_size: int, report, batches_per_step: int = 1):
    """A reference's command line: train --steps iterations on the MNIST digits genzoo reads, printing the
    iteration's `report(logs)` and the real images per second five times. Returns the trained reference."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=steps)
    ap.add_argument("--batch-size", type=int, default=batch_size)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--root", default=None, help="folder with the MNIST IDX files (default: genzoo's data lookup)")
    args = ap.parse_args(argv)
    from genzoo.data import load_dataset  # only to read the same digits as genzoo
    ds = load_dataset("mnist", "train", root=args.root)
    print(f"data: {ds.source} ({len(ds)} images)")
    model, step = trainer(ds.x, args.batch_size, args.seed)
    t0 = time.perf_counter()
    for i in range(args.steps):
        logs = step()
        if (i + 1) % max(1, args.steps // 5) == 0:
            seen = (i + 1) * args.batch_size * batches_per_step
            print(f"[{i + 1}/{args.steps}] {report(logs)}  {seen / (time.perf_counter() - t0):.0f} images/s")
    return model


def main(argv=None) -> int:
    command_line(argv, __doc__, trainer, steps=200, batch_size=64,
                 report=lambda logs: f"Loss_D: {logs['Loss_D']:.4f} Loss_G: {logs['Loss_G']:.4f} D(x): {logs['D(x)']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
