"""Batch reads and writes keep going until DynamoDB has processed every item (moto never hands
any back, so a stand-in client does, the way DynamoDB does under throttling)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from linkstar import aws
from linkstar.settings import reset_settings
from linkstar.store import dynamo


class ThrottlingDynamo:
    """Hands back the last item of the first request of each kind unprocessed."""

    def __init__(self) -> None:
        self.table: dict[str, dict[str, Any]] = {}
        self.calls = 0

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        ((table, puts),) = RequestItems.items()
        done, left = (puts[:-1], puts[-1:]) if self.calls == 1 else (puts, [])
        for put in done:
            item = put["PutRequest"]["Item"]
            self.table[item["pk"]["S"]] = item
        return {"UnprocessedItems": {table: left} if left else {}}

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        ((table, request),) = RequestItems.items()
        keys = request["Keys"]
        served, left = (keys[:-1], keys[-1:]) if self.calls == 1 else (keys, [])
        found = [self.table[k["pk"]["S"]] for k in served if k["pk"]["S"] in self.table]
        unprocessed = {table: {**request, "Keys": left}} if left else {}
        return {"Responses": {table: found}, "UnprocessedKeys": unprocessed}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[ThrottlingDynamo]:
    monkeypatch.setenv("TABLE_NAME", "t")
    reset_settings()
    client = ThrottlingDynamo()
    monkeypatch.setattr(aws, "client", lambda service: client)
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    yield client
    reset_settings()


def test_a_write_handed_back_unprocessed_is_written_on_the_next_call(
    fake: ThrottlingDynamo,
) -> None:
    items = [{"pk": f"k{i}", "sk": "x", "n": i} for i in range(30)]  # two batches: 25 and 5
    calls = dynamo.batch_put(items)
    assert sorted(fake.table) == sorted(f"k{i}" for i in range(30))
    assert calls == 3  # the first batch took two calls


def test_a_read_handed_back_unprocessed_is_read_on_the_next_call(fake: ThrottlingDynamo) -> None:
    dynamo.batch_put([{"pk": f"k{i}", "sk": "x", "n": i} for i in range(3)])
    fake.calls = 0
    got = dynamo.batch_get([{"pk": f"k{i}", "sk": "x"} for i in range(4)], consistent=True)
    assert sorted(item["pk"] for item in got) == ["k0", "k1", "k2"]  # k3 doesn't exist
    assert fake.calls == 2
