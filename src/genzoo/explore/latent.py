"""What the explorer computes, without any web framework: latents from a seed, moves along the leading
directions of the prior, class choice, interpolation between two seeds, and translation of an image."""
from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from PIL import Image

from .. import sampling
from ..errors import GenzooError
from ..images import make_grid
from ..models.capabilities import LatentPrior, Translator, class_count

Directions = Literal["pca", "raw"]
#: prior samples whose principal axes give the sliders' directions
PCA_SAMPLES = 4096


def to_pil(images: torch.Tensor, nrow: int | None = None, size: int = 256) -> Image.Image:
    """Images (N, C, H, W) in [0, 1] as one PIL grid, scaled up (nearest) so its longer side is about `size`."""
    grid = make_grid(images, nrow=nrow)   # uint8 (H, W, C)
    im = Image.fromarray(grid[:, :, 0] if grid.shape[2] == 1 else grid)
    scale = max(1, size // max(im.size))
    return im.resize((im.width * scale, im.height * scale), Image.NEAREST)


class LatentExplorer:
    """A model with a latent space (genzoo.sampling's protocol) seen through k sliders.

    Slider i moves z along direction d_i by (value x the prior's spread along d_i): "pca" takes the
    principal axes of PCA_SAMPLES draws of the prior, "raw" the first k coordinates of z.
    """

    def __init__(self, model, directions: Directions = "pca", k: int = 6, seed: int = 0):
        sampling.check_latent_model(model)
        if model.data.kind != "image":
            raise GenzooError(f"genzoo explore shows images; {model.name} generates {model.data.kind}")
        self.model = model.eval()
        self.num_classes = class_count(model)
        with torch.no_grad():
            z = sampling.prior(model, PCA_SAMPLES, generator=torch.Generator(model.device).manual_seed(seed)).float()
        self.k = min(k, z.shape[1])
        if directions == "pca":
            _, s, v = torch.linalg.svd(z - z.mean(0), full_matrices=False)
            self.directions = v[:self.k]
            self.spread = s[:self.k] / (len(z) - 1) ** 0.5
        else:
            self.directions = torch.eye(z.shape[1], device=z.device)[:self.k]
            self.spread = z.std(0)[:self.k]

    def latent(self, seed: int, truncation: float = 0.0) -> torch.Tensor:
        """One z (1, latent_dim) for `seed` from the model's prior, truncated at `truncation` if > 0 (the
        model's own truncation: N(0, I) within |z_i| <= truncation for GANs and Gaussian VAEs)."""
        g = torch.Generator(device=self.model.device).manual_seed(int(seed))
        if truncation <= 0:
            return sampling.prior(self.model, 1, generator=g)
        if isinstance(self.model, LatentPrior):
            return self.model.prior(1, generator=g, truncation=truncation)
        return sampling.truncated_normal(1, self.model.latent_dim, truncation, generator=g, device=self.model.device)

    def moved(self, z: torch.Tensor, offsets) -> torch.Tensor:
        offsets = torch.as_tensor([float(o) for o in offsets][:self.k], device=z.device)
        return z + (offsets * self.spread[:len(offsets)]) @ self.directions[:len(offsets)]

    def _generate(self, z: torch.Tensor, label: int | None) -> torch.Tensor:
        cond = None
        if self.num_classes:
            cond = torch.full((len(z),), int(label or 0), device=z.device)
        with torch.no_grad(), sampling.eval_mode(self.model):
            return self.model.generate(z, cond=cond) if cond is not None else self.model.generate(z)

    def image(self, seed: int, truncation: float = 0.0, label: int | None = None, offsets=()) -> Image.Image:
        """The image of the seed's z moved by the sliders' offsets (class `label` for a conditional model)."""
        return to_pil(self._generate(self.moved(self.latent(seed, truncation), offsets), label))

    def interpolation(self, seed_a: int, seed_b: int, steps: int = 8, truncation: float = 0.0,
                      label: int | None = None, spherical: bool = True) -> Image.Image:
        """A row of `steps` images from seed_a's z to seed_b's z (spherical or linear)."""
        za, zb = self.latent(seed_a, truncation), self.latent(seed_b, truncation)
        t = torch.linspace(0, 1, int(steps), device=za.device)
        path = sampling.slerp(za, zb, t) if spherical else sampling.lerp(za, zb, t)
        return to_pil(self._generate(path.reshape(int(steps), -1), label), nrow=int(steps), size=768)


def translator(model):
    """image (H, W[, C]) uint8 -> translated PIL image, for a translation model (pix2pix, CycleGAN)."""
    if not isinstance(model, Translator):
        raise GenzooError(f"{model.name} does not translate images")
    c, h, w = model.image_shape

    def run(image: np.ndarray) -> Image.Image:
        if image is None:
            raise GenzooError("upload an image to translate")
        im = Image.fromarray(np.asarray(image)).convert("L" if c == 1 else "RGB").resize((w, h), Image.BILINEAR)
        x = torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0)
        x = x.view(1, 1, h, w) if c == 1 else x.permute(2, 0, 1).unsqueeze(0)
        return to_pil(torch.cat([x, model.translate(x).cpu()]), nrow=2, size=512)

    return run
