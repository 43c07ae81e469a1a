"""The two languages people read clubfund in, and the choice between them.

Field names and `code`s never change; what a person reads (problem titles and
details, report headers and labels) follows `Accept-Language`: Vietnamese when
the caller prefers `vi`, English otherwise (API clients that send no
`Accept-Language` get English).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Language = Literal["en", "vi"]


@dataclass(frozen=True)
class Text:
    """One message in both languages; `{name}` fields are filled from typed values."""

    en: str
    vi: str

    def render(self, language: Language, **values: Any) -> str:
        return (self.vi if language == "vi" else self.en).format(**values)


def language_of(accept_language: str | None) -> Language:
    """`vi` when the caller's most preferred language (by q-value) is Vietnamese."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        if not tag:
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        key = (quality, -position, tag.strip().lower())
        if quality > 0 and (best is None or key[:2] > best[:2]):
            best = key
    if best is not None and (best[2] == "vi" or best[2].startswith("vi-")):
        return "vi"
    return "en"
