"""What the explorer computes for a text-to-image model, without any web framework: samples of a typed caption
from a seed, and what the caption asks for (its digits, their places, and whether training held them out)."""
from __future__ import annotations

import torch
from PIL import Image

from ..data.captions import BANNED_SLOT, BIG, CaptionError, parse, vocabulary_line
from ..errors import GenzooError
from .latent import to_pil


class CaptionExplorer:
    """A text-to-image model seen through a caption box."""

    def __init__(self, model):
        if model.data.kind != "captioned":
            raise GenzooError(f"{model.name} does not draw captions")
        self.model = model.eval()
        self.vocabulary = vocabulary_line()

    def images(self, caption: str, seed: int = 0, n: int = 8) -> Image.Image:
        """n samples of `caption` in a row, as `genzoo sample RUN --text CAPTION --n N --seed SEED` draws them; a
        word outside the vocabulary raises the CLI's CaptionError."""
        g = torch.Generator(device=self.model.device).manual_seed(int(seed))
        x = self.model.sample(int(n), cond=[caption], generator=g)
        return to_pil(x.detach().float().cpu(), nrow=int(n), size=768)

    @staticmethod
    def reading(caption: str) -> str:
        """What the caption asks for, in words, and whether the training split held out one of its digits'
        places; a sentence outside the captions' grammar is drawn too, and said to be one."""
        try:
            digits = parse(caption)
        except CaptionError as e:
            return f"Not a sentence of the training captions' grammar; the model draws it anyway ({e})"
        asked = "; ".join(f"a {'big' if d.size == BIG else 'small'} {d.digit} at the {d.slot}" for d in digits)
        held = [f"a {d.digit} at the {d.slot}" for d in digits if BANNED_SLOT[d.digit] == d.slot]
        seen = (f"held out: training never showed {' or '.join(held)}" if held
                else "seen: training showed each of these digits in its place")
        return f"{asked} ({seen})"
