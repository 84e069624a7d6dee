"""SMS alphabet, length and segment counting (GSM 03.38 / UCS-2) at the exact boundaries."""

from __future__ import annotations

import pytest
from linkstar.outreach.sms import GSM7_BASIC, GSM7_EXTENSION, encoding_of


def test_the_gsm_basic_alphabet_is_the_127_characters_of_the_table() -> None:
    # Given the full default alphabet (128 codes less the escape) and the extension table
    basic = "".join(sorted(GSM7_BASIC))

    # When it is encoded
    result = encoding_of(basic)

    # Then every character is one septet and none forces UCS-2
    assert len(GSM7_BASIC) == 127
    assert result.encoding == "GSM-7"
    assert result.units == 127
    assert "\x1b" not in GSM7_BASIC and "ç" not in GSM7_BASIC and "Ç" in GSM7_BASIC
    assert set("\f^{}\\[]~|€") == GSM7_EXTENSION


def test_empty_text_costs_nothing() -> None:
    # Given / When
    result = encoding_of("")

    # Then
    assert (result.encoding, result.units, result.segments, result.characters) == (
        "GSM-7",
        0,
        0,
        0,
    )


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm7_fits_160_in_one_and_153_per_part(length: int, segments: int) -> None:
    # Given plain ASCII text of a boundary length
    text = "a" * length

    # When
    result = encoding_of(text)

    # Then
    assert result.encoding == "GSM-7"
    assert result.units == length
    assert result.segments == segments


@pytest.mark.parametrize("char", sorted(GSM7_EXTENSION))
def test_each_extension_character_costs_two_septets(char: str) -> None:
    # Given / When
    result = encoding_of(f"a{char}")

    # Then it stays GSM-7 but is an escape plus a character
    assert result.encoding == "GSM-7"
    assert result.units == 3
    assert result.characters == 2


def test_extension_characters_at_the_single_message_boundary() -> None:
    # Given 80 euro signs (160 septets) and 159 letters plus one euro sign (161 septets)
    exactly_full = "€" * 80
    one_over = "a" * 159 + "€"

    # When / Then: the escape counts toward the 160
    assert (encoding_of(exactly_full).units, encoding_of(exactly_full).segments) == (160, 1)
    assert (encoding_of(one_over).units, encoding_of(one_over).segments) == (161, 2)


def test_an_escape_pair_is_never_split_across_segments() -> None:
    # Given a euro sign that would straddle the end of the first 153-septet segment
    text = "a" * 152 + "€" + "a" * 152

    # When
    result = encoding_of(text)

    # Then 306 septets need 3 parts, not ceil(306/153) = 2: the € moves whole to part two
    assert result.units == 306
    assert result.segments == 3


@pytest.mark.parametrize(("length", "segments"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3)])
def test_ucs2_fits_70_in_one_and_67_per_part(length: int, segments: int) -> None:
    # Given Chinese text of a boundary length
    text = "退" * length

    # When
    result = encoding_of(text)

    # Then
    assert result.encoding == "UCS-2"
    assert result.units == length
    assert result.segments == segments


def test_chinese_opt_out_keyword_is_ucs2() -> None:
    # Given the Chinese "unsubscribe" keyword carriers require in marketing SMS
    # When
    result = encoding_of("退订")

    # Then
    assert (result.encoding, result.units, result.segments, result.characters) == (
        "UCS-2",
        2,
        1,
        2,
    )


def test_one_character_outside_gsm_switches_the_whole_text_to_ucs2() -> None:
    # Given 100 GSM letters and one "á" (not in the GSM alphabet, unlike "à")
    text = "a" * 99 + "á"

    # When
    result = encoding_of(text)

    # Then the message is UCS-2, so 100 characters need two parts
    assert result.encoding == "UCS-2"
    assert result.segments == 2
    assert encoding_of("a" * 99 + "à").segments == 1


def test_emoji_are_surrogate_pairs() -> None:
    # Given 35 emoji (70 UTF-16 units) and 36 emoji (72 units)
    # When / Then
    assert (encoding_of("😀" * 35).units, encoding_of("😀" * 35).segments) == (70, 1)
    assert encoding_of("😀" * 35).characters == 35
    assert (encoding_of("😀" * 36).units, encoding_of("😀" * 36).segments) == (72, 2)


def test_a_surrogate_pair_is_never_split_across_segments() -> None:
    # Given an emoji that would straddle the end of the first 67-unit segment
    text = "退" * 66 + "😀" + "退" * 66

    # When
    result = encoding_of(text)

    # Then 134 units need 3 parts, not ceil(134/67) = 2
    assert result.units == 134
    assert result.segments == 3
