"""Captioned digit canvases for text-to-image models (dataset "mnist-captions", kind "captioned").

In the style of Mansimov et al. 2016 ("MNIST with captions", alignDRAW): each 32x32 gray canvas
holds one or two MNIST digits, placed and sized by a rule, with a caption from a small grammar:

    one digit:   "the digit 3 is at the top left"      "a small 5 is at the bottom right"
    two digits:  "a big 7 is below a small 2"           "a small 4 is to the left of a big 9"

Grammar (every caption is lower case, words separated by spaces):

    caption  -> NP is at the V H             (one digit; V in top|bottom, H in left|right)
              | NP is REL NP                  (two digits; REL in above|below|to the left of|to the right of)
    NP       -> the digit D | a big D | a small D        (D in 0..9; "the digit" is a big digit)

Layout rule. A digit is drawn in a square box, 16 px for big and 12 px for small, centred on
the centre of its slot. One digit takes a corner slot (the centre of a 16x16 quadrant); two
digits take the slots above and below the canvas centre ("above", "below") or left and right
of it ("to the left of", "to the right of"). So a caption fixes every digit's box, and a canvas
can be scored by cutting it at those boxes and reading each cut with a classifier
(genzoo.metrics.captions). "a big 7 is below a small 2" and "a small 2 is above a big 7" draw
the same canvas; the data use both phrasings.

Why 32x32: two digits side by side need at least two 16x16 slots, and each doubling of the
canvas multiplies a GAN step's cost by about four on a CPU; 32x32 keeps the models trainable on
a laptop's CPU (Mansimov et al. used 60x60 canvases with 28x28 digits; the runs' CPU time is on
docs/results/text-to-image.md).

Held-out combinations (compositional generalization, as alignDRAW's banned captions): each digit
d is never drawn in one slot, BANNED_SLOT[d] (e.g. no 3 at the top right, no 4 at the top), in
the training split. The test split holds both kinds; `held_out[i]` says whether canvas i has a
banned (digit, slot) pair.

Built deterministically (fixed seed per split) from MNIST's split, and so from the bundled
mnist5k digits offline, with MNIST's notice. One canvas per digit image of the split: 60,000 /
10,000 canvases from MNIST, 4,500 / 500 from mnist5k. Stored besides the canvases (x) and the
tokenized captions (y, int64 (N, MAX_LEN), padded with id 0): the digits, slots and box sizes.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import NamedTuple

import torch
import torch.nn.functional as F

from ..errors import DataError, GenzooError
from .base import Dataset, DatasetInfo, Request, register
from .load import load_dataset
from .images import subset_indices

CANVAS = 32
BIG, SMALL = 16, 12
PAD = "<pad>"
DIGITS = tuple(str(d) for d in range(10))
VOCAB = (PAD, "a", "the", "digit", "big", "small", "is", "at", "top", "bottom", "left", "right",
         "above", "below", "to", "of") + DIGITS
TOKEN_ID = {w: i for i, w in enumerate(VOCAB)}
MAX_LEN = 11  # "a small 7 is to the right of a big 2"

#: slot name -> centre (row, column) on the canvas
SLOTS = {"top left": (8, 8), "top right": (8, 24), "bottom left": (24, 8), "bottom right": (24, 24),
         "top": (8, 16), "bottom": (24, 16), "left": (16, 8), "right": (16, 24)}
SLOT_NAMES = tuple(SLOTS)
CORNERS = SLOT_NAMES[:4]
#: relation -> (slot of the first digit, slot of the second)
RELATIONS = {"above": ("top", "bottom"), "below": ("bottom", "top"),
             "to the left of": ("left", "right"), "to the right of": ("right", "left")}
#: the slot each digit is never drawn in during training: d -> SLOT_NAMES[3d mod 8]
BANNED_SLOT = {d: SLOT_NAMES[(3 * d) % len(SLOT_NAMES)] for d in range(10)}
P_SINGLE = 0.4     # share of one-digit canvases
SPLIT_SEEDS = {"train": 1, "test": 2}


class CaptionError(GenzooError):
    """A caption uses words outside the vocabulary or does not follow the grammar."""


class Digit(NamedTuple):
    """One digit of a caption: its class, its slot (a key of SLOTS) and its box side in pixels."""

    digit: int
    slot: str
    size: int

    def box(self) -> tuple[int, int, int, int]:
        """(top, left, height, width) of the digit's box on the canvas."""
        r, c = SLOTS[self.slot]
        return r - self.size // 2, c - self.size // 2, self.size, self.size


# ----------------------------------------------------------------------------- words and tokens

def vocabulary_line() -> str:
    return " ".join(w for w in VOCAB if w != PAD)


def words(caption: str) -> list[str]:
    """The caption's words, lower case; a final full stop is allowed."""
    return caption.strip().rstrip(".").lower().split()


def with_other_digits(tokens: torch.Tensor) -> torch.Tensor:
    """The captions (token ids) with every digit changed to another one (one random shift 1-9 per caption):
    the same layout described with wrong digits, e.g. "a big 2 is above a small 3" -> "a big 7 is above a small 8"."""
    first = TOKEN_ID[DIGITS[0]]
    shift = torch.randint(1, 10, (len(tokens), 1), device=tokens.device)
    is_digit = tokens >= first
    return torch.where(is_digit, first + (tokens - first + shift) % 10, tokens)


def with_digits_swapped(tokens: torch.Tensor) -> torch.Tensor:
    """The captions (token ids) with their first and last digit exchanged: for two digits, the same words
    with the digits in each other's places, e.g. "a big 2 is above a small 3" -> "a big 3 is above a small 2";
    a caption with one digit is returned unchanged."""
    is_digit = tokens >= TOKEN_ID[DIGITS[0]]
    position = torch.arange(tokens.shape[1], device=tokens.device).expand_as(tokens)
    first = torch.where(is_digit, position, tokens.shape[1]).min(1, keepdim=True).values.clamp(max=tokens.shape[1] - 1)
    last = torch.where(is_digit, position, 0).max(1, keepdim=True).values
    out = tokens.clone()
    out.scatter_(1, first, tokens.gather(1, last))
    out.scatter_(1, last, tokens.gather(1, first))
    return out


def encode(captions: list[str], length: int | None = None) -> torch.Tensor:
    """Captions -> token ids int64 (N, L), padded with id 0; L = `length` or the longest caption.

    Any sentence of the vocabulary is accepted (a model may be asked for one it never saw);
    a word outside it raises CaptionError listing the vocabulary."""
    rows = []
    for caption in captions:
        ws = words(caption)
        unknown = [w for w in ws if w not in TOKEN_ID or w == PAD]
        if unknown or not ws:
            what = f"the word(s) {', '.join(repr(w) for w in dict.fromkeys(unknown))} are" if unknown else "it is empty"
            raise CaptionError(f"cannot read the caption {caption!r}: {what} not in the vocabulary; use only "
                               f"these words: {vocabulary_line()} (e.g. \"a small 4 is above a big 9\")")
        rows.append([TOKEN_ID[w] for w in ws])
    width = length or max(len(r) for r in rows)
    if any(len(r) > width for r in rows):
        raise CaptionError(f"a caption is longer than {width} words; captions have at most {width}")
    out = torch.zeros(len(rows), width, dtype=torch.int64)
    for i, r in enumerate(rows):
        out[i, :len(r)] = torch.tensor(r)
    return out


def decode(tokens: torch.Tensor) -> list[str]:
    """Token ids (N, L) -> captions (pads dropped)."""
    return [" ".join(VOCAB[t] for t in row if t != 0) for row in tokens.tolist()]


# ----------------------------------------------------------------------------- grammar

def _noun_phrase(ws: list[str]) -> tuple[int, int, list[str]]:
    """Parse NP at the front of ws -> (digit, size, the rest)."""
    if ws[:2] == ["the", "digit"]:
        size, rest = BIG, ws[2:]
    elif ws[:2] in (["a", "big"], ["a", "small"]):
        size, rest = (BIG if ws[1] == "big" else SMALL), ws[2:]
    else:
        raise ValueError("a digit is named as 'the digit D', 'a big D' or 'a small D'")
    if not rest or rest[0] not in DIGITS:
        raise ValueError("a digit 0..9 must follow 'the digit', 'a big' or 'a small'")
    return int(rest[0]), size, rest[1:]


def parse(caption: str) -> list[Digit]:
    """The digits a caption asks for, with their slots and sizes (CaptionError if it is not grammatical)."""
    encode([caption])  # vocabulary first: its error lists the words
    ws = words(caption)
    try:
        d1, s1, rest = _noun_phrase(ws)
        if rest[:1] != ["is"]:
            raise ValueError("the digit must be followed by 'is'")
        rest = rest[1:]
        if rest[:2] == ["at", "the"]:
            slot = " ".join(rest[2:])
            if slot not in CORNERS:
                raise ValueError(f"one digit goes in a corner: at the {', the '.join(CORNERS)}")
            return [Digit(d1, slot, s1)]
        for relation, (slot1, slot2) in RELATIONS.items():
            n = len(relation.split())
            if " ".join(rest[:n]) == relation:
                d2, s2, tail = _noun_phrase(rest[n:])
                if tail:
                    raise ValueError(f"unexpected words at the end: {' '.join(tail)}")
                return [Digit(d1, slot1, s1), Digit(d2, slot2, s2)]
        raise ValueError("after 'is' comes 'at the <corner>' or a relation: " + ", ".join(RELATIONS))
    except (ValueError, IndexError) as e:
        why = str(e) if isinstance(e, ValueError) else "the caption ends too early"
        raise CaptionError(f"cannot parse the caption {caption!r}: {why}. Captions read 'the digit 3 is at the "
                           f"top left' or 'a big 7 is below a small 2'") from None


def _phrase(d: Digit, definite: bool) -> str:
    if definite:
        return f"the digit {d.digit}"
    return f"a {'big' if d.size == BIG else 'small'} {d.digit}"


def caption_for(digits: list[Digit], variant: int = 0) -> str:
    """A caption that draws `digits` (one in a corner, or two in a relation's slots).

    variant picks among the equivalent phrasings: bit 0 "the digit" for a big single digit,
    bit 0 for two digits which digit is named first."""
    if len(digits) == 1:
        d = digits[0]
        return f"{_phrase(d, d.size == BIG and variant % 2 == 1)} is at the {d.slot}"
    first, second = (digits[1], digits[0]) if variant % 2 else (digits[0], digits[1])
    relation = next(r for r, slots in RELATIONS.items() if slots == (first.slot, second.slot))
    return f"{_phrase(first, False)} is {relation} {_phrase(second, False)}"


def is_held_out(digits: list[Digit]) -> bool:
    """Whether a caption has a (digit, slot) pair that the training split never shows."""
    return any(BANNED_SLOT[d.digit] == d.slot for d in digits)


# ----------------------------------------------------------------------------- canvases

def render(digit_images: list[torch.Tensor], digits: list[Digit]) -> torch.Tensor:
    """One canvas uint8 (1, CANVAS, CANVAS) with each 28x28 uint8 digit image resized into its box."""
    canvas = torch.zeros(1, CANVAS, CANVAS, dtype=torch.uint8)
    for image, d in zip(digit_images, digits):
        top, left, h, w = d.box()
        canvas[:, top:top + h, left:left + w] = resize_digits(image.view(1, 1, 28, 28), d.size)[0]
    return canvas


def resize_digits(x: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (N, 1, 28, 28) -> uint8 (N, 1, size, size), bilinear with antialiasing."""
    out = F.interpolate(x.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return out.round_().clamp_(0, 255).to(torch.uint8)


@dataclass(repr=False)
class CaptionedDataset(Dataset):
    """Canvases (x), tokenized captions (y) and what each caption asks for, for scoring.

    digits, slots, sizes: int64 (N, 2); the second column is -1 for one-digit canvases; slots
    index SLOT_NAMES. held_out: bool (N,), canvases with a (digit, slot) pair banned in training.
    """

    digits: torch.Tensor = field(default=None)
    slots: torch.Tensor = field(default=None)
    sizes: torch.Tensor = field(default=None)
    held_out: torch.Tensor = field(default=None)
    vocab_size: int = len(VOCAB)

    def layout(self, i: int) -> list[Digit]:
        return [Digit(int(d), SLOT_NAMES[int(s)], int(z))
                for d, s, z in zip(self.digits[i], self.slots[i], self.sizes[i]) if d >= 0]

    def captions(self, index=None) -> list[str]:
        return decode(self.y if index is None else self.y[index])

    def select(self, keep: torch.Tensor) -> None:
        """Keep the canvases `keep` (indices or a mask) in every field."""
        for name in ("x", "y", "digits", "slots", "sizes", "held_out"):
            setattr(self, name, getattr(self, name)[keep])


def _draw_layout(labels: list[int], rng: random.Random, allow_banned: bool) -> list[Digit]:
    """A random layout for one or two digit classes (redrawn until no banned pair, unless allowed)."""
    while True:
        sizes = [rng.choice((BIG, SMALL)) for _ in labels]
        slots = [rng.choice(CORNERS)] if len(labels) == 1 else list(rng.choice(list(RELATIONS.values())))
        digits = [Digit(d, s, z) for d, s, z in zip(labels, slots, sizes)]
        if allow_banned or not is_held_out(digits):
            return digits


def build_canvases(images: torch.Tensor, labels: torch.Tensor, split: str) -> dict[str, torch.Tensor]:
    """One canvas per digit image: canvas i shows image i, and with probability 1 - P_SINGLE a second
    random image of the split; layout, sizes and phrasing drawn with the split's fixed seed."""
    rng = random.Random(SPLIT_SEEDS[split])
    n, labels = len(images), labels.tolist()
    by_size = {BIG: resize_digits(images, BIG), SMALL: resize_digits(images, SMALL)}
    x = torch.zeros(n, 1, CANVAS, CANVAS, dtype=torch.uint8)
    table = torch.full((n, 3, 2), -1, dtype=torch.int64)   # digits, slots, sizes
    captions = []
    for i in range(n):
        which = [i] if rng.random() < P_SINGLE else [i, rng.randrange(n)]
        layout = _draw_layout([labels[j] for j in which], rng, allow_banned=split == "test")
        for k, (j, d) in enumerate(zip(which, layout)):
            top, left, h, w = d.box()
            x[i, :, top:top + h, left:left + w] = by_size[d.size][j]
            table[i, :, k] = torch.tensor([d.digit, SLOT_NAMES.index(d.slot), d.size])
        captions.append(caption_for(layout, rng.randrange(2)))
    held_out = torch.tensor([is_held_out([Digit(int(d), SLOT_NAMES[int(s)], 0) for d, s in zip(row[0], row[1])
                                          if d >= 0]) for row in table])
    return {"x": x, "y": encode(captions, MAX_LEN), "digits": table[:, 0], "slots": table[:, 1],
            "sizes": table[:, 2], "held_out": held_out}


def load_mnist_captions(req: Request) -> CaptionedDataset:
    """Canvases of MNIST's split (see the module docstring)."""
    if req.image_size not in (None, CANVAS) or req.channels not in (None, 1):
        raise DataError(f"mnist-captions canvases are {CANVAS}x{CANVAS} gray with the digits at fixed boxes; "
                        "remove data.image_size and data.channels")
    digits = load_dataset("mnist", req.split, root=req.root, download=req.download, verify=req.verify)
    fields = build_canvases(digits.x, digits.y, req.split)
    ds = CaptionedDataset(name=req.name, source=f"captioned {CANVAS}x{CANVAS} canvases of {digits.source}",
                          split=req.split, kind="captioned", num_classes=None, notice=digits.notice, **fields)
    if req.n_samples is not None and req.n_samples < len(ds):
        ds.select(subset_indices(len(ds), req.n_samples, req.seed))
    return ds


register(DatasetInfo("mnist-captions", f"{CANVAS}x{CANVAS} canvases of one or two MNIST digits placed and sized by "
                     "a rule, captioned ('a big 7 is below a small 2'); digit/slot pairs held out of training; "
                     "MNIST's split (offline: mnist5k, with a notice)",
                     "Mansimov et al. 2016 (alignDRAW), arXiv:1511.02793; MNIST (LeCun et al. 1998)"),
         load_mnist_captions)
