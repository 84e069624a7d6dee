"""The seller console's files: every string it shows is translated in both locales, the values
the API sends have a label, and ``GET /console/assets/{name}`` serves only what is listed.

Keys are found where the console names them: ``t("…")`` and ``key("…")`` in the ES modules,
``data-i18n="…"`` (and ``data-i18n-placeholder``/``-title``/``-aria-label``) in the markup. A label
for an API value is ``tx("prefix", value)``; each prefix the code uses must be in
:data:`API_VALUES`, which lists the values the Python side can send for it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import get_args

import pytest
from chalice import Chalice
from chalice.test import Client
from linkstar.api import console as console_api

CONSOLE = console_api.CONSOLE_DIR
LOCALES = ("en", "zh-CN")
KEY_CALL = re.compile(r"\b(?:t|key)\(\s*\"([^\"]+)\"")
KEY_ATTRIBUTE = re.compile(r"data-i18n(?:-[a-z-]+)?=\"([^\"]+)\"")
LABEL_CALL = re.compile(r"\btx\(\s*\"([^\"]+)\"")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _dictionary(locale: str) -> dict[str, str]:
    return json.loads((CONSOLE / "i18n" / f"{locale}.json").read_text(encoding="utf-8"))


def _sources() -> dict[Path, str]:
    files = [CONSOLE / "index.html", *sorted((CONSOLE / "assets").glob("*.js"))]
    return {path: path.read_text(encoding="utf-8") for path in files}


def _used_keys() -> set[str]:
    used: set[str] = set()
    for text in _sources().values():
        used |= set(KEY_CALL.findall(text)) | set(KEY_ATTRIBUTE.findall(text))
    return used


def _label_prefixes() -> set[str]:
    return {p for text in _sources().values() for p in LABEL_CALL.findall(text)}


def _api_values() -> dict[str, set[str]]:
    """What the API can send where the console shows a label (``tx(prefix, value)``)."""
    from linkstar.billing import plans
    from linkstar.costs import ledger, profit
    from linkstar.costs.model import COMPONENTS
    from linkstar.funnel import analysis
    from linkstar.funnel.stages import CATALOGUE, ORDERS, STAGE_NAMES
    from linkstar.history.models import JobStatus
    from linkstar.kpis import importers, library, scoring
    from linkstar.kpis.settlement import InputValue, RuleResult
    from linkstar.orders.models import OrderStatus, Platform
    from linkstar.outreach import presets
    from linkstar.outreach.models import CHANNELS, MessageState
    from linkstar.platforms import imports
    from linkstar.tenants.models import Role

    platforms = {p.value for p in Platform}
    after_orders = CATALOGUE[ORDERS].position
    return {
        "status": set(get_args(scoring.Status)),
        "direction": set(get_args(library.Direction)),
        "unit": set(get_args(library.Unit)),
        "source": {"orders", "import", "api"} | {f"import:{p}" for p in importers.PRESETS},
        "platform": platforms | {"unknown"},
        "market": {"unknown", "ZZ"},
        "stage": set(STAGE_NAMES),
        "funnel.basis": set(get_args(analysis.Basis)),
        "funnel.unit": {i.unit for i in CATALOGUE.values() if i.position >= after_orders},
        "profit.component": set(COMPONENTS) | {"revenue", "cm1", "cm2", "cm3"},
        "profit.source": set(get_args(profit.Source)),
        "profit.uncosted_reason": set(ledger.UNCOSTED_REASONS),
        "order_status": {s.value for s in OrderStatus} | {"unknown"},
        "statement.kind": set(get_args(InputValue.model_fields["kind"].annotation)),
        "statement.rule_type": set(get_args(RuleResult.model_fields["type"].annotation)),
        "preset": set(presets.PRESETS),
        "channel": set(CHANNELS),
        "message_state": set(get_args(MessageState)),
        "usage.kind": {"send"} | set(plans.default_plan().surcharges),
        "import_status": set(get_args(JobStatus)),
        "import_format": set(imports.PLATFORM_OF),
        "stores.paste_hint": platforms,
        "role": {r.value for r in Role},
    }


def _js_list(module: str, name: str) -> list[str]:
    text = (CONSOLE / "assets" / module).read_text(encoding="utf-8")
    match = re.search(rf"const {name} = \[(.*?)\];", text, re.S)
    assert match, f"{module} defines no {name}"
    return re.findall(r"\"([^\"]+)\"", match.group(1))


# ---------------------------------------------------------------- translations


def test_both_locales_define_the_same_keys() -> None:
    # Given the two dictionaries
    en, zh = _dictionary("en"), _dictionary("zh-CN")
    # Then neither has a key the other lacks
    assert sorted(set(en) - set(zh)) == [], "keys in en.json only"
    assert sorted(set(zh) - set(en)) == [], "keys in zh-CN.json only"


@pytest.mark.parametrize("locale", LOCALES)
def test_no_translation_is_empty(locale: str) -> None:
    assert [k for k, v in _dictionary(locale).items() if not v.strip()] == []


def test_both_locales_fill_the_same_placeholders() -> None:
    en, zh = _dictionary("en"), _dictionary("zh-CN")
    differ = {
        k: (sorted(PLACEHOLDER.findall(en[k])), sorted(PLACEHOLDER.findall(zh[k])))
        for k in en
        if k in zh and sorted(PLACEHOLDER.findall(en[k])) != sorted(PLACEHOLDER.findall(zh[k]))
    }
    assert differ == {}


def test_the_chinese_dictionary_is_translated() -> None:
    # Brand names, codes and placeholders may stay as they are; sentences may not.
    en, zh = _dictionary("en"), _dictionary("zh-CN")
    same = [k for k in en if en[k] == zh[k] and len(PLACEHOLDER.sub("", en[k]).split()) > 2]
    assert same == []


def test_every_key_the_console_uses_is_defined() -> None:
    # Given every key named in the markup and the modules
    used = _used_keys()
    assert len(used) > 100  # the scan found the console's keys (a broken pattern finds none)
    # Then each locale defines each of them
    for locale in LOCALES:
        assert sorted(used - set(_dictionary(locale))) == [], f"missing in {locale}.json"


def test_every_value_the_api_sends_has_a_label() -> None:
    # Given the label prefixes the console uses and the values the API can send for each
    prefixes, values = _label_prefixes(), _api_values()
    assert sorted(prefixes - set(values)) == [], "a tx() prefix this test does not know"
    for locale in LOCALES:
        words = _dictionary(locale)
        missing = sorted(
            f"{prefix}.{value}"
            for prefix in prefixes
            for value in values[prefix]
            if f"{prefix}.{value}" not in words
        )
        assert missing == [], f"missing in {locale}.json"


def test_the_consoles_lists_match_the_api() -> None:
    from linkstar.orders.models import Platform
    from linkstar.outreach.models import MessageState

    # (The presets come from GET /flow-presets: the console keeps no list of them.)
    assert _js_list("page-outreach.js", "STATES") == list(get_args(MessageState))
    assert sorted(_js_list("page-stores.js", "PLATFORMS")) == sorted(p.value for p in Platform)


def test_no_asset_is_fetched_from_the_internet() -> None:
    for path, text in _sources().items():
        assert not re.search(r"(src|href)=\"(https?:)?//", text), path.name
        assert not re.search(r"\bimport\b[^;]*from \"(https?:)?//", text), path.name


# ---------------------------------------------------------------- serving


@pytest.fixture
def client() -> Client:
    app = Chalice(app_name="console-test")
    app.register_blueprint(console_api.bp)
    return Client(app)


def test_the_page_is_html_with_a_strict_policy(client: Client) -> None:
    answer = client.http.get("/console")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["Cache-Control"] == "no-cache"
    assert 'src="console/assets/app.js"' in answer.body.decode()


@pytest.mark.parametrize(
    ("name", "content_type", "cache"),
    [
        ("app.js", "text/javascript; charset=utf-8", "no-cache"),
        ("console.css", "text/css; charset=utf-8", "no-cache"),
        ("zh-CN.json", "application/json; charset=utf-8", "no-cache"),
        ("echarts.min.js", "text/javascript; charset=utf-8", "public, max-age=86400"),
    ],
)
def test_assets_have_their_type_and_cache_policy(
    client: Client, name: str, content_type: str, cache: str
) -> None:
    answer = client.http.get(f"/console/assets/{name}")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == content_type
    assert answer.headers["Cache-Control"] == cache
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    # and a browser holding the same version gets a 304 without the body
    again = client.http.get(
        f"/console/assets/{name}", headers={"If-None-Match": answer.headers["ETag"]}
    )
    assert again.status_code == 304 and again.body == b""


@pytest.mark.parametrize(
    "name", ["nope.js", "LICENSE", "README.md", "..%2F..%2Fsettings.py", "..", "index.html"]
)
def test_only_listed_assets_are_served(client: Client, name: str) -> None:
    answer = client.http.get(f"/console/assets/{name}")
    assert answer.status_code == 404
    assert json.loads(answer.body)["code"] == "asset_not_found"


def test_asset_names_are_unique_and_text() -> None:
    assets = console_api.assets()
    assert {"app.js", "console.css", "en.json", "zh-CN.json", "echarts.min.js"} <= set(assets)
    for name, asset in assets.items():
        assert isinstance(asset.body, str) and asset.body, name


def test_no_translation_is_left_unused() -> None:
    # A key is used by name, or is the label of an API value (a tx() prefix); any other key is
    # a leftover that a translator would keep translating for nothing.
    used, prefixes = _used_keys(), _label_prefixes()
    unused = [
        k
        for k in _dictionary("en")
        if k not in used and not any(k.startswith(f"{p}.") for p in prefixes)
    ]
    assert unused == []
