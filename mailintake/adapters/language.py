"""Which language a client writes in: English or Polish (lingua, its models bundled in the wheel).

Owns: `detect_language(text)` — "en" when the text is clearly English, "pl" when clearly
Polish, None when it cannot tell (too short, mixed, numbers and names only). The model is
built once, on first use, restricted to the two languages we answer in; nothing is
downloaded at run time. Must not decide what a ticket's language is (`services.tickets`
does: a configured client's language wins, and Polish stays the default when unsure).
"""

from __future__ import annotations

import functools
import re

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

_CODES = {Language.ENGLISH: "en", Language.POLISH: "pl"}
MIN_WORDS = 3  # "OK", "Hi", "Dzięki" say too little to be sure of
MIN_CONFIDENCE = 0.9
_WORD = re.compile(r"[^\W\d_]{2,}")
_SAMPLE = 4000  # characters: the opening of a message says which language it is in


@functools.cache
def _detector() -> LanguageDetector:
    # Low accuracy mode (trigrams only): +8 MB resident instead of +100 MB for the full
    # models, which the daemon's memory budget per message cannot spare. Over two
    # languages it still tells a mail's opening apart; where it wavers we keep Polish.
    return LanguageDetectorBuilder.from_languages(*_CODES).with_low_accuracy_mode().build()


def detect_language(text: str) -> str | None:
    """ "en" or "pl" when the text is clearly in that language; None when unsure."""
    sample = text[:_SAMPLE]
    if len(_WORD.findall(sample)) < MIN_WORDS:
        return None
    for value in _detector().compute_language_confidence_values(sample):
        if value.value >= MIN_CONFIDENCE:
            return _CODES[value.language]
    return None
