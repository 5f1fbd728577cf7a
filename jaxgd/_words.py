"""Counts in words, as every printed summary, legend and note writes them."""

from __future__ import annotations


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """``n`` and ``noun``, or ``nouns`` (by default ``noun`` with an ``s``) unless ``n`` is 1.

    Example:
        >>> plural(1, "epoch"), plural(500, "epoch")
        ('1 epoch', '500 epochs')
        >>> plural(1, "minimum", "minima"), plural(3, "more local minimum", "more local minima")
        ('1 minimum', '3 more local minima')
    """
    return f"{n} {noun}" if n == 1 else f"{n} {nouns if nouns is not None else noun + 's'}"
