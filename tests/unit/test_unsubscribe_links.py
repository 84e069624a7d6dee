"""Unsubscribe links are absolute, signed, and refuse to be built without a public base URL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from linkstar.outreach import unsubscribe
from linkstar.outreach.unsubscribe import UnsubscribeToken
from linkstar.settings import get_settings

TOKEN = UnsubscribeToken(tenant_id="t1", contact_id="c1", channel="email", message_id="m1")


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(unsubscribe, "_key", lambda: b"k" * 32)
    yield
    get_settings.cache_clear()


def test_links_are_absolute_and_verify(key: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://api.example.com/Prod/")
    get_settings.cache_clear()
    links = unsubscribe.links(TOKEN)
    prefix = "https://api.example.com/Prod/unsubscribe/"
    assert links["unsubscribe_url"].startswith(prefix)
    assert unsubscribe.verify(links["unsubscribe_url"].removeprefix(prefix)) == TOKEN


def test_no_base_url_is_an_error_not_a_relative_link(
    key: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "")
    get_settings.cache_clear()
    with pytest.raises(RuntimeError, match="PUBLIC_BASE_URL"):
        unsubscribe.links(TOKEN)
