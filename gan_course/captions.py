"""Captions for digits, made from the label and measured attributes: "a bold seven slanted right".

A caption says the digit, its thickness when it is in the thin or the bold third of the training
digits, and its slant (left, upright or right, by thirds); the thresholds are chosen from the
data (``attributes.fit_thresholds``). Words are numbered in ``VOCABULARY``; a caption is a row of
word indices padded with 0, what the text encoders of ``text2digit`` read.

>>> caption(7, "bold", "right")
'a bold seven slanted right'
>>> tokenize("a thin one upright").tolist()
[1, 13, 4, 18, 0, 0]
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
VOCABULARY = ("<pad>", "a", "an", *DIGIT_WORDS, "thin", "bold", "slanted", "left", "right", "upright")
INDEX = {word: i for i, word in enumerate(VOCABULARY)}
MAX_WORDS = 6  # "a bold seven slanted right" has 5
THICKNESS = (None, "thin", "bold")  # None: the middle third, nothing said
SLANT = (None, "left", "upright", "right")  # None: nothing said about the slant


def caption(digit: int, thickness: str | None = None, slant: str | None = None) -> str:
    """The caption of a digit with an optional thickness word and slant.

    >>> caption(8, None, "upright")
    'an eight upright'
    """
    if isinstance(digit, bool) or not isinstance(digit, int) or not 0 <= digit <= 9:
        raise ValueError(f"digit must be an int from 0 to 9, got {digit!r}")
    if thickness not in THICKNESS:
        raise ValueError(f"thickness must be one of {THICKNESS}, got {thickness!r}")
    if slant not in SLANT:
        raise ValueError(f"slant must be one of {SLANT}, got {slant!r}")
    words = [] if thickness is None else [thickness]
    words.append(DIGIT_WORDS[digit])
    article = "an" if words[0] == "eight" else "a"  # by sound: "a one", "an eight"
    if slant in ("left", "right"):
        words += ["slanted", slant]
    elif slant == "upright":
        words.append("upright")
    return " ".join([article, *words])


def tokenize(text: str) -> torch.Tensor:
    """Word indices of ``text`` (MAX_WORDS,), padded with 0; an unknown word is a ValueError that
    lists the vocabulary."""
    if not isinstance(text, str):
        raise ValueError(f"prompt must be a string such as 'a bold seven slanted right', got {text!r}")
    words = text.lower().replace(",", " ").split()
    unknown = [w for w in words if w not in INDEX or w == "<pad>"]
    if unknown:
        raise ValueError(f"prompt {text!r}: unknown word(s) {', '.join(map(repr, unknown))}; the vocabulary is: "
                         f"{' '.join(VOCABULARY[1:])}")
    if not words or len(words) > MAX_WORDS:
        raise ValueError(f"prompt must have 1 to {MAX_WORDS} words, got {len(words)} in {text!r}")
    ids = [INDEX[w] for w in words] + [0] * (MAX_WORDS - len(words))
    return torch.tensor(ids, dtype=torch.long)


def tokenize_all(texts: list[str]) -> torch.Tensor:
    """Word indices of many captions: (N, MAX_WORDS)."""
    return torch.stack([tokenize(t) for t in texts]) if texts else torch.zeros(0, MAX_WORDS, dtype=torch.long)


@dataclass(frozen=True)
class Request:
    """What a caption asks for: the digit, and the thickness and slant words if it names them."""

    digit: int | None
    thickness: str | None
    slant: str | None


def parse(text: str) -> Request:
    """What a prompt asks for (after checking its words).

    >>> parse("a bold seven slanted right")
    Request(digit=7, thickness='bold', slant='right')
    """
    words = [VOCABULARY[i] for i in tokenize(text).tolist() if i]
    digits = [DIGIT_WORDS.index(w) for w in words if w in DIGIT_WORDS]
    thick = [w for w in words if w in ("thin", "bold")]
    lean = [w for w in words if w in ("left", "right", "upright")]
    if len(digits) > 1 or len(thick) > 1 or len(lean) > 1:
        raise ValueError(f"prompt {text!r} asks for more than one digit, thickness or slant")
    return Request(digits[0] if digits else None, thick[0] if thick else None, lean[0] if lean else None)


def training_captions(labels: torch.Tensor, thick: list[str | None], lean: list[str], drop: float,
                      generator: torch.Generator) -> list[str]:
    """One caption per digit from its label and attribute words; each attribute phrase is left out
    with probability ``drop``, so that shorter prompts ("a seven") are captions the models have seen."""
    keep = torch.rand(len(labels), 2, generator=generator) >= drop  # (N, 2): say the thickness, say the slant
    return [caption(int(k), t if keep[i, 0] else None, s if keep[i, 1] else None)
            for i, (k, t, s) in enumerate(zip(labels.tolist(), thick, lean))]
