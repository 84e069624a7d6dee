"""SMS encoding and segment counting: which alphabet a text goes out in and what it costs.

Carriers bill per segment, so this module owns the rules that decide it (3GPP TS 23.038 /
GSM 03.38 and the concatenated-SMS header of TS 23.040):

- A text made only of the GSM 7-bit default alphabet (plus its extension table) is sent as
  GSM-7: 160 septets in one message, 153 per segment once it is split (the user data header
  takes the other 7). Extension-table characters are an escape plus a character: 2 septets.
- Anything else (Chinese, most emoji, ``á``, ``ç``…) forces the whole text to UCS-2 (UTF-16 on
  the wire): 70 code units in one message, 67 per segment once split. Characters outside the
  Basic Multilingual Plane (most emoji) are a surrogate pair: 2 units.
- A split never separates an escape from its character or the two halves of a surrogate pair,
  so a 2-unit character that doesn't fit in what is left of a segment starts the next one.
  That is why segments are counted by walking the text, not as ``ceil(units / 153)``.

Pure: no I/O. ``linkstar.outreach.templates`` attaches the result to every rendered SMS.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Encoding = Literal["GSM-7", "UCS-2"]

# The GSM 03.38 default alphabet, row by row as in the standard's table (0x00-0x7F), without
# 0x1B: that code is the escape to the extension table, not a character of its own.
GSM7_BASIC: frozenset[str] = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ" "ÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)  # fmt: skip
# The extension table: each is sent as ESC + character, so it costs 2 septets.
GSM7_EXTENSION: frozenset[str] = frozenset("\f^{}\\[]~|€")

GSM7_SINGLE = 160
GSM7_PER_SEGMENT = 153
UCS2_SINGLE = 70
UCS2_PER_SEGMENT = 67


class SmsEncoding(BaseModel):
    """How a text is sent: its alphabet, its length in that alphabet's units, its cost."""

    model_config = ConfigDict(frozen=True)

    encoding: Encoding
    units: int  # GSM-7: septets (extension characters count 2); UCS-2: UTF-16 code units
    segments: int  # messages the carrier bills; 0 for an empty text
    characters: int  # Unicode code points, what a person would call the length


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM 7-bit alphabet or its extension table."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def encoding_of(text: str) -> SmsEncoding:
    """The encoding, length and segment count a carrier will use for ``text``."""
    if is_gsm7(text):
        costs = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        single, per_segment = GSM7_SINGLE, GSM7_PER_SEGMENT
        encoding: Encoding = "GSM-7"
    else:
        costs = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
        single, per_segment = UCS2_SINGLE, UCS2_PER_SEGMENT
        encoding = "UCS-2"
    units = sum(costs)
    return SmsEncoding(
        encoding=encoding,
        units=units,
        segments=_segments(costs, units, single, per_segment),
        characters=len(text),
    )


def _segments(costs: list[int], units: int, single: int, per_segment: int) -> int:
    if units == 0:
        return 0
    if units <= single:
        return 1
    segments, used = 1, 0
    for cost in costs:
        # A 2-unit character is indivisible: if it doesn't fit, the segment ends one unit short.
        if used + cost > per_segment:
            segments += 1
            used = 0
        used += cost
    return segments
