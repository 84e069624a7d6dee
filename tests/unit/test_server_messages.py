"""The sentences the server writes (:mod:`linkstar.text`): the catalogue holds every message the
code names in both locales, with the parameters the code gives, in Chinese for zh-CN; a request's
``Accept-Language`` picks the locale; stored messages come back as they were.

Messages are found where code names them: ``Text("code", ...)`` calls with a literal code (the
parameters they pass are checked against the catalogue's placeholders). A code chosen at run
time must still appear as a literal somewhere in the source (a table of codes), or the catalogue
test calls its entry unused.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from linkstar import text
from linkstar.text import Text

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "layers" / "core" / "linkstar", ROOT / "functions"]
PLACEHOLDER = re.compile(r"\{(\w+)\}")
CJK = re.compile(r"[\u3400-\u9fff]")


def _files(locale: str) -> dict[str, dict[str, str]]:
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((text.CATALOGUE_DIR / locale).glob("*.json"))
    }


def _catalogue(locale: str) -> dict[str, str]:
    return {code: s for messages in _files(locale).values() for code, s in messages.items()}


def _python_files() -> Iterator[Path]:
    for root in SOURCES:
        yield from sorted(root.rglob("*.py"))


def _text_calls() -> list[tuple[str, str, set[str] | None]]:
    """(where, code, keyword names or None when ``**params`` is passed) of each literal call."""
    calls = []
    for path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = (
                node.func.attr
                if isinstance(node.func, ast.Attribute)
                else getattr(node.func, "id", "")
            )
            if name != "Text" or not node.args:
                continue
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names = {k.arg for k in node.keywords if k.arg is not None}
                spread = any(k.arg is None for k in node.keywords)
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                calls.append((where, first.value, None if spread else names))
    return calls


def _string_literals() -> set[str]:
    found: set[str] = set()
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add(node.value)
    return found


def _placeholders(sentence: str) -> list[str]:
    return sorted(set(PLACEHOLDER.findall(sentence)))


# ---------------------------------------------------------------- the catalogue


@pytest.mark.parametrize("locale", text.LOCALES)
def test_each_code_is_in_one_file_the_one_its_area_names(locale: str) -> None:
    # "kpi.no_data" lives in kpi.json: two files defining one code would shadow each other.
    misplaced = [
        f"{name}: {code}"
        for name, messages in _files(locale).items()
        for code in messages
        if code.split(".")[0] != name.removesuffix(".json")
    ]
    assert misplaced == []


def test_both_locales_have_the_same_files() -> None:
    assert sorted(_files("en")) == sorted(_files("zh-CN"))


def test_both_locales_hold_the_same_messages() -> None:
    en, zh = _catalogue("en"), _catalogue("zh-CN")
    assert sorted(set(en) - set(zh)) == [], "in en.json only"
    assert sorted(set(zh) - set(en)) == [], "in zh-CN.json only"


def test_both_locales_fill_the_same_placeholders() -> None:
    en, zh = _catalogue("en"), _catalogue("zh-CN")
    differ = {
        code: (
            sorted(set(PLACEHOLDER.findall(en[code]))),
            sorted(set(PLACEHOLDER.findall(zh[code]))),
        )
        for code in en
        if code in zh and set(PLACEHOLDER.findall(en[code])) != set(PLACEHOLDER.findall(zh[code]))
    }
    assert differ == {}


def test_the_chinese_messages_are_chinese() -> None:
    # A message that is only placeholders and codes ("{metric}: {value}") may read the same.
    en, zh = _catalogue("en"), _catalogue("zh-CN")
    untranslated = [
        code
        for code, sentence in zh.items()
        if not CJK.search(sentence) and re.search(r"[A-Za-z]{3,}", PLACEHOLDER.sub("", en[code]))
    ]
    assert untranslated == []


@pytest.mark.parametrize("locale", text.LOCALES)
def test_no_message_is_empty(locale: str) -> None:
    assert [code for code, sentence in _catalogue(locale).items() if not sentence.strip()] == []


def test_every_message_the_code_names_is_in_the_catalogue_with_its_parameters() -> None:
    calls = _text_calls()
    assert len(calls) >= 2  # the scan finds calls (a broken scan would pass anything)
    en = _catalogue("en")
    missing = [f"{where}: {code}" for where, code, _ in calls if code not in en]
    assert missing == []
    wrong = [
        f"{where}: {code} passes {sorted(names)}, the message has {_placeholders(en[code])}"
        for where, code, names in calls
        if code in en and names is not None and names != set(PLACEHOLDER.findall(en[code]))
    ]
    assert wrong == []


def test_every_message_in_the_catalogue_is_used() -> None:
    literals = _string_literals()
    assert sorted(set(_catalogue("en")) - literals) == []


# ---------------------------------------------------------------- rendering


def test_a_message_renders_in_the_locale_in_use_and_in_english_elsewhere() -> None:
    message = Text("api.validation_error")
    assert str(message) == "the request body is not valid"
    with text.use_locale("zh-CN"):
        assert str(message) == "请求体不符合要求"
        assert f"{message}" == "请求体不符合要求"
    assert str(message) == "the request body is not valid"


def test_an_unknown_locale_is_english() -> None:
    with text.use_locale("fr"):
        assert text.current_locale() == "en"


def test_parameters_render_nested_messages_and_lists_the_locales_way() -> None:
    inner = Text("api.internal_error")
    # A code the catalogue lacks still shows its code and values (the catalogue test stops it).
    outer = Text("no.such.code", items=["a", "b"], why=inner, amount=Decimal("1.50"))
    assert (
        outer.render("en")
        == "no.such.code(items=a, b, why=something went wrong on our side, amount=1.50)"
    )
    assert outer.render("zh-CN").startswith("no.such.code(items=a、b, why=服务端出错了")


def test_a_stored_message_comes_back_as_it_was() -> None:
    message = Text("no.such.code", items=[Text("api.internal_error"), "x"], n=3, ratio=0.5)
    stored = json.loads(json.dumps(message.dump()))
    back = text.load(stored)
    assert isinstance(back, Text)
    assert back.code == "no.such.code"
    assert back.params["items"][0] == Text("api.internal_error")
    assert back.params["n"] == 3
    assert back.params["ratio"] == "0.5"  # no float in DynamoDB
    # What was stored as plain English before messages existed is shown as it is.
    assert text.load("no data: ad_spend") == "no data: ad_spend"
    assert text.load(None) is None


def test_render_walks_a_structure_holding_messages() -> None:
    body = {"rows": [{"reason": Text("api.internal_error"), "n": 1}], "note": None}
    with text.use_locale("zh-CN"):
        assert text.render(body) == {
            "rows": [{"reason": "服务端出错了，请稍后重试", "n": 1}],
            "note": None,
        }


def test_clauses_are_separated_the_way_the_locale_separates_them_and_stored_as_clauses() -> None:
    # Given two reasons one after another, the first itself a list
    reasons = text.Clauses([Text("no.such.code", items=["a", "b"]), "done"])
    # Then English separates them with "; ", Chinese with "；" (its lists with "、")
    assert str(reasons) == "no.such.code(items=a, b); done"
    with text.use_locale("zh-CN"):
        assert str(reasons) == "no.such.code(items=a、b)；done"
    # and inside a stored message they come back as clauses, not as a list
    stored = json.loads(json.dumps(Text("no.such.code", why=reasons).dump()))
    back = text.load(stored)
    assert isinstance(back, Text)
    assert isinstance(back.params["why"], text.Clauses)
    assert back.render("zh-CN") == "no.such.code(why=no.such.code(items=a、b)；done)"


# ---------------------------------------------------------------- Accept-Language


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        (None, "en"),
        ("", "en"),
        ("zh-CN", "zh-CN"),
        ("zh", "zh-CN"),
        ("zh-Hans-CN,zh;q=0.9", "zh-CN"),
        ("zh-TW;q=0.5, en;q=0.4", "zh-CN"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("zh-CN;q=0.8, en-GB", "en"),
        ("en, zh", "en"),  # equal weights: the first listed
        ("fr-FR, de", "en"),  # nothing we have
        ("zh;q=0, en;q=0.1", "en"),  # q=0 is "not this"
        ("zh;q=abc", "en"),
        (";;,,=;q", "en"),
        ("*", "en"),
        ("zh-CN;q=2", "en"),  # out of range: ignored
    ],
)
def test_accept_language_picks_the_locale(header: str | None, locale: str) -> None:
    assert text.negotiate(header) == locale
