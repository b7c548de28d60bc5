"""A plain single-file PyTorch VAE on MNIST, written the way learners write it.

This is the reference that benchmarks/time_to_quality.py compares genzoo's `vae` preset with. It
follows the PyTorch examples VAE (github.com/pytorch/examples, vae/main.py) line by line, with the
networks and data of genzoo's `vae` preset (src/genzoo/presets/vae.yaml: an MLP with one hidden
layer of 500 units, 20 latent dimensions, Bernoulli decoder, dynamically binarized digits, Adam
1e-3, batch 100) written out by hand instead of the examples' 400 units and batch 128:

    encoder: x (784) -> Linear(784, 500) -> ReLU -> Linear(500, 20) (mu), Linear(500, 20) (log sigma^2)
    decoder: z (20)  -> Linear(20, 500) -> ReLU -> Linear(500, 784) -> Sigmoid

genzoo's encoder ends in one Linear(500, 40) whose output it splits into mu and log sigma^2: the same
function, and PyTorch's default initialization draws it from the same distribution as the examples'
two Linear(500, 20) (it depends on the fan-in, 500, alone).

Data: a torch.utils.data.Dataset that returns one image in [0, 1] per sample (ToTensor()), binarized
afresh at every visit, x ~ Bernoulli(pixel) (transforms.Lambda(torch.bernoulli)), in a
DataLoader(shuffle=True, drop_last=True). Loss: the examples' loss_function, binary cross-entropy
summed over pixels and batch plus the closed-form KL divergence; Adam(1e-3). (genzoo averages the
same loss over the batch; Adam's steps do not depend on that scale.)

    python benchmarks/reference_vae.py --steps 200       # trains, prints the loss and images/s
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
import torch.optim as optim
from torch import nn
from torch.utils.data import DataLoader, Dataset

from reference_dcgan import batches, command_line

HIDDEN = 500   # units of the hidden layer
NZ = 20        # size of the latent vector


class BinarizedMNIST(Dataset):
    """MNIST digits as (image, label); each image (1, 28, 28) of 0s and 1s drawn from its pixels' intensities."""

    def __init__(self, images_uint8: torch.Tensor):
        self.images = images_uint8          # (N, 1, 28, 28) uint8, as read from the IDX file

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        img = self.images[i].float() / 255.0        # ToTensor()
        return torch.bernoulli(img), 0              # transforms.Lambda(torch.bernoulli)


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, HIDDEN)
        self.fc21 = nn.Linear(HIDDEN, NZ)
        self.fc22 = nn.Linear(HIDDEN, NZ)
        self.fc3 = nn.Linear(NZ, HIDDEN)
        self.fc4 = nn.Linear(HIDDEN, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    """Reconstruction + KL divergence losses summed over all elements and batch (PyTorch examples VAE).
    KLD = 0.5 * sum(1 + log(sigma^2) - mu^2 - sigma^2), Kingma & Welling 2014, appendix B."""
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD


class ReferenceVAE:
    """The model, optimizer and loss of the reference, plus one `step(data)` of its loop."""

    def __init__(self, seed: int = 0, device: str = "cpu"):
        torch.manual_seed(seed)
        self.device = torch.device(device)
        self.model = VAE().to(self.device)
        self.optimizer = optim.Adam(self.model.parameters(), lr=1e-3)

    def step(self, data: torch.Tensor) -> dict:
        self.model.train()
        data = data.to(self.device)
        self.optimizer.zero_grad()
        recon_batch, mu, logvar = self.model(data)
        loss = loss_function(recon_batch, data, mu, logvar)
        loss.backward()
        self.optimizer.step()
        return {"loss": loss.item() / len(data)}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n images in [0, 1]: the decoder's Bernoulli means at z ~ N(0, I), as genzoo's `vae` samples."""
        self.model.eval()
        z = torch.randn(n, NZ, generator=generator).to(self.device)   # the same draws on any device
        return self.model.decode(z).view(n, 1, 28, 28)


def trainer(images_uint8: torch.Tensor, batch_size: int = 100, seed: int = 0, num_workers: int = 0,
            device: str = "cpu"):
    """The reference, and a function that runs one iteration of its loop on the next minibatch."""
    model = ReferenceVAE(seed, device)
    loader = DataLoader(BinarizedMNIST(images_uint8), batch_size=batch_size, shuffle=True, drop_last=True,
                        num_workers=num_workers, generator=torch.Generator().manual_seed(seed))
    it = batches(loader)
    return model, lambda: model.step(next(it))


def report(logs: dict) -> str:
    return f"loss (-ELBO per image): {logs['loss']:.2f}"


def main(argv=None) -> int:
    command_line(argv, __doc__, trainer, steps=200, batch_size=100, report=report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
