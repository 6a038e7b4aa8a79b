"""Captions from a label and attribute words; their word indices; prompts parsed and refused."""

import pytest
import torch

from gan_course import captions


def test_captions_read_as_english():
    assert captions.caption(7, "bold", "right") == "a bold seven slanted right"
    assert captions.caption(8) == "an eight"
    assert captions.caption(8, "thin") == "a thin eight"
    assert captions.caption(0, None, "upright") == "a zero upright"
    assert captions.caption(1, None, "left") == "a one slanted left"


def test_tokenize_pads_and_round_trips():
    ids = captions.tokenize("A bold seven, slanted right")
    assert ids.shape == (captions.MAX_WORDS,) and ids.dtype == torch.long
    words = [captions.VOCABULARY[i] for i in ids.tolist() if i]
    assert words == ["a", "bold", "seven", "slanted", "right"]
    assert ids[-1].item() == 0  # padding
    assert captions.tokenize_all(["a one", "a two"]).shape == (2, captions.MAX_WORDS)
    assert captions.tokenize_all([]).shape == (0, captions.MAX_WORDS)


def test_parse_says_what_a_prompt_asks_for():
    assert captions.parse("a bold seven slanted right") == captions.Request(7, "bold", "right")
    assert captions.parse("a three") == captions.Request(3, None, None)
    assert captions.parse("thin upright") == captions.Request(None, "thin", "upright")


def test_unknown_words_are_refused_with_the_vocabulary():
    with pytest.raises(ValueError, match=r"unknown word\(s\) 'purple'.*vocabulary is: a an zero one"):
        captions.tokenize("a purple seven")
    with pytest.raises(ValueError, match="unknown"):
        captions.tokenize("<pad> seven")
    with pytest.raises(ValueError, match="1 to 6 words"):
        captions.tokenize("")
    with pytest.raises(ValueError, match="1 to 6 words"):
        captions.tokenize("a bold seven slanted right a one")
    with pytest.raises(ValueError, match="prompt must be a string"):
        captions.tokenize(7)
    with pytest.raises(ValueError, match="more than one digit"):
        captions.parse("a seven one")


def test_bad_caption_parts_are_refused():
    with pytest.raises(ValueError, match="digit must be an int from 0 to 9"):
        captions.caption(10)
    with pytest.raises(ValueError, match="thickness must be one of"):
        captions.caption(1, "fat")
    with pytest.raises(ValueError, match="slant must be one of"):
        captions.caption(1, None, "sideways")


def test_training_captions_drop_phrases_at_the_given_rate():
    labels = torch.arange(10).repeat(100)  # (1000,)
    thick, lean = ["bold"] * 1000, ["right"] * 1000
    full = captions.training_captions(labels, thick, lean, 0.0, torch.Generator().manual_seed(0))
    assert full[7] == "a bold seven slanted right"
    bare = captions.training_captions(labels, thick, lean, 1.0, torch.Generator().manual_seed(0))
    assert bare[7] == "a seven"
    some = captions.training_captions(labels, thick, lean, 0.3, torch.Generator().manual_seed(0))
    said_bold = sum("bold" in c for c in some) / 1000
    assert 0.62 < said_bold < 0.78
