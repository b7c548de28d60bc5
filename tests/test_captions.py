"""mnist-captions: the caption grammar, the canvases and caption scoring on hand-built canvases."""
import pytest
import torch

from genzoo.data import load_dataset
from genzoo.data.captions import (BANNED_SLOT, BIG, CANVAS, SLOT_NAMES, SMALL, CaptionError, Digit, caption_for,
                                  decode, encode, is_held_out, parse, render, with_digits_swapped, with_other_digits)
from genzoo.metrics.captions import caption_accuracy, cut_digits, read_canvases


def test_captions_parse_into_digits_slots_and_sizes():
    assert parse("the digit 3 is at the top left") == [Digit(3, "top left", BIG)]
    assert parse("A small 5 is at the bottom right.") == [Digit(5, "bottom right", SMALL)]
    assert parse("a big 7 is below a small 2") == [Digit(7, "bottom", BIG), Digit(2, "top", SMALL)]
    assert parse("a small 4 is to the left of a big 9") == [Digit(4, "left", SMALL), Digit(9, "right", BIG)]
    # the other phrasing of the same canvas names the same boxes
    assert set(parse("a small 2 is above a big 7")) == set(parse("a big 7 is below a small 2"))


def test_every_phrasing_of_a_layout_parses_back_to_it():
    for layout in ([Digit(0, "top right", BIG)], [Digit(6, "bottom left", SMALL)],
                   [Digit(1, "left", BIG), Digit(8, "right", SMALL)], [Digit(3, "top", SMALL), Digit(3, "bottom", BIG)]):
        for variant in (0, 1):
            assert set(parse(caption_for(layout, variant))) == set(layout)
    assert caption_for([Digit(3, "top left", BIG)], 1) == "the digit 3 is at the top left"
    assert caption_for([Digit(7, "bottom", BIG), Digit(2, "top", SMALL)], 1) == "a small 2 is above a big 7"


def test_other_digits_keep_the_layout_and_change_every_digit():
    captions = ["a big 7 is below a small 2", "the digit 0 is at the top left", "a small 3 is to the left of a big 3"]
    torch.manual_seed(0)
    for _ in range(20):
        changed = [parse(c) for c in decode(with_other_digits(encode(captions, 11)))]
        for before, after in zip(map(parse, captions), changed):
            assert [(d.slot, d.size) for d in after] == [(d.slot, d.size) for d in before]
            assert all(a.digit != b.digit for a, b in zip(after, before))
        # one shift per caption: two equal digits stay equal, and their gap is kept
        assert changed[2][0].digit == changed[2][1].digit
        assert (changed[0][0].digit - changed[0][1].digit) % 10 == 5


def test_swapped_digits_exchange_places_and_keep_the_words():
    captions = ["a big 7 is below a small 2", "the digit 0 is at the top left", "a small 3 is to the left of a big 3"]
    assert decode(with_digits_swapped(encode(captions, 11))) == [
        "a big 2 is below a small 7", "the digit 0 is at the top left", "a small 3 is to the left of a big 3"]


def test_boxes_are_centred_on_their_slots():
    assert Digit(3, "top left", BIG).box() == (0, 0, 16, 16)
    assert Digit(3, "top left", SMALL).box() == (2, 2, 12, 12)
    assert Digit(3, "right", BIG).box() == (8, 16, 16, 16)
    assert Digit(3, "bottom", SMALL).box() == (18, 10, 12, 12)


def test_words_outside_the_vocabulary_are_named_with_the_vocabulary():
    with pytest.raises(CaptionError, match=r"'huge'.*not in the vocabulary.*a the digit big small"):
        encode(["a huge 7 is at the top left"])
    with pytest.raises(CaptionError, match="empty"):
        encode(["  "])
    with pytest.raises(CaptionError, match="cannot parse"):
        parse("7 is a big")
    with pytest.raises(CaptionError, match="corner"):
        parse("the digit 7 is at the top")
    assert decode(encode(["a big 7 is below a small 2", "the digit 1 is at the top right"])) == \
        ["a big 7 is below a small 2", "the digit 1 is at the top right"]


def test_held_out_pairs_follow_the_banned_slots():
    assert BANNED_SLOT[3] == "top right" and BANNED_SLOT[4] == "top"   # SLOT_NAMES[3d mod 8]
    assert is_held_out([Digit(3, "top right", SMALL)])
    assert is_held_out([Digit(0, "left", BIG), Digit(4, "top", BIG)])
    assert not is_held_out([Digit(3, "top left", BIG), Digit(4, "bottom", SMALL)])


@pytest.fixture(scope="module")
def captioned():
    return (load_dataset("mnist-captions", "train", download=False),
            load_dataset("mnist-captions", "test", download=False))


def test_canvases_hold_their_captions_digits_inside_the_boxes(captioned):
    train, test = captioned
    assert train.kind == "captioned" and train.shape == (1, CANVAS, CANVAS) and "mnist5k" in train.notice
    assert len(train) == 4500 and len(test) == 500
    assert not train.held_out.any() and 0 < int(test.held_out.sum()) < len(test)
    for ds in (train, test):
        for i in range(0, len(ds), 97):
            layout = ds.layout(i)
            assert set(parse(ds.captions([i])[0])) == set(layout)
            assert ds.held_out[i] == is_held_out(layout)
            outside = torch.ones(CANVAS, CANVAS, dtype=torch.bool)
            for d in layout:
                top, left, h, w = d.box()
                outside[top:top + h, left:left + w] = False
                assert ds.x[i, 0, top:top + h, left:left + w].sum() > 0
            assert ds.x[i, 0][outside].sum() == 0
    again = load_dataset("mnist-captions", "test", download=False)
    assert torch.equal(again.x, test.x) and torch.equal(again.y, test.y)   # deterministic


def test_a_subset_keeps_canvases_and_layouts_together(captioned):
    part = load_dataset("mnist-captions", "test", download=False, n_samples=50, seed=3)
    full = captioned[1]
    i = next(k for k in range(len(full)) if torch.equal(full.x[k], part.x[7]))
    assert torch.equal(full.y[i], part.y[7]) and torch.equal(full.slots[i], part.slots[7])


def _templates():
    """Ten distinct blocky 28x28 glyphs: a reader that knows them reads any resized copy exactly."""
    g = torch.Generator().manual_seed(0)
    blocks = (torch.rand(10, 1, 4, 4, generator=g) > 0.5).float()
    return (blocks.repeat_interleave(7, -1).repeat_interleave(7, -2) * 255).to(torch.uint8)


def _template_reader(templates):
    flat = templates.float().div(255).flatten(1)
    return lambda crops: torch.cdist(crops.flatten(1), flat).argmin(1)


def _fields(layouts):
    table = torch.full((len(layouts), 3, 2), -1, dtype=torch.int64)
    for i, layout in enumerate(layouts):
        for k, d in enumerate(layout):
            table[i, :, k] = torch.tensor([d.digit, SLOT_NAMES.index(d.slot), d.size])
    return {"digits": table[:, 0], "slots": table[:, 1], "sizes": table[:, 2]}


def test_a_canvas_drawn_from_its_caption_scores_100_percent_and_a_swapped_one_0():
    templates = _templates()
    captions = ["a big 7 is below a small 2", "the digit 3 is at the top left", "a small 4 is to the left of a big 9"]
    layouts = [parse(c) for c in captions]
    drawn = torch.stack([render([templates[d.digit] for d in lay], lay) for lay in layouts]).float().div(255)
    swapped_layouts = [[Digit(b.digit, a.slot, a.size), Digit(a.digit, b.slot, b.size)] if len(lay) == 2
                       else [Digit((lay[0].digit + 1) % 10, lay[0].slot, lay[0].size)] for lay in layouts
                       for a, b in [(lay[0], lay[-1])]]
    swapped = torch.stack([render([templates[d.digit] for d in lay], lay) for lay in swapped_layouts]).float() / 255
    fields = _fields(layouts)
    read, crops = read_canvases(drawn, fields, _template_reader(templates))
    assert crops.shape == (5, 1, 28, 28)
    assert caption_accuracy(read, fields["digits"]).tolist() == [1.0, 1.0, 1.0]
    read, _ = read_canvases(swapped, fields, _template_reader(templates))
    assert caption_accuracy(read, fields["digits"]).tolist() == [0.0, 0.0, 0.0]


def test_one_wrong_digit_of_two_fails_the_canvas():
    digits = torch.tensor([[7, 2], [7, 2], [3, -1]])
    read = torch.tensor([[7, 2], [7, 5], [3, -1]])
    assert caption_accuracy(read, digits).tolist() == [1.0, 0.0, 1.0]


def test_cuts_are_the_boxes_resized():
    canvas = torch.zeros(1, 1, CANVAS, CANVAS)
    canvas[0, 0, 2:14, 2:14] = 1.0     # exactly the small top-left box
    crops, which = cut_digits(canvas, torch.tensor([[0, -1]]), torch.tensor([[SMALL, -1]]))
    assert which.tolist() == [0] and torch.allclose(crops, torch.ones(1, 1, 28, 28))
