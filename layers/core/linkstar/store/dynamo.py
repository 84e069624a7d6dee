"""A thin typed wrapper over the DynamoDB client: (de)serialisation and ClientError translation.

Error codes are matched on ``Error.Code`` and cancellation reasons, never by substring. boto3 is
imported on first use, not at import: it is most of a cold start's import time.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from linkstar import aws
from linkstar.errors import BadRequest, ConcurrentUpdate, Conflict
from linkstar.settings import get_settings, require
from linkstar.text import Text

if TYPE_CHECKING:
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
    from botocore.exceptions import ClientError


@cache
def _codec() -> tuple[TypeSerializer, TypeDeserializer]:
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    return TypeSerializer(), TypeDeserializer()


def _client_error() -> type[ClientError]:
    from botocore.exceptions import ClientError

    return ClientError


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    serializer = _codec()[0]
    return {k: serializer.serialize(v) for k, v in item.items() if v is not None}


def deserialize(item: Mapping[str, Any]) -> dict[str, Any]:
    deserializer = _codec()[1]
    return {k: deserializer.deserialize(v) for k, v in item.items()}


@dataclass
class Page:
    items: list[dict[str, Any]]
    next_token: str | None


@dataclass
class Op:
    """One operation inside a transaction (Put, Update or ConditionCheck), already serialised."""

    kind: str
    body: dict[str, Any]
    is_guard: bool = False  # a failed condition here means "lost a race", not a bug


def _table() -> str:
    return require(get_settings().table_name, "TABLE_NAME")


def get(key: Mapping[str, str], *, consistent: bool = False) -> dict[str, Any] | None:
    answer = aws.client("dynamodb").get_item(
        TableName=_table(), Key=serialize(key), ConsistentRead=consistent
    )
    item = answer.get("Item")
    return deserialize(item) if item else None


def put(item: Mapping[str, Any], *, condition: str | None = None, **expr: Any) -> None:
    kwargs: dict[str, Any] = {"TableName": _table(), "Item": serialize(item)}
    if condition:
        kwargs["ConditionExpression"] = condition
    _add_expr(kwargs, expr)
    try:
        aws.client("dynamodb").put_item(**kwargs)
    except _client_error() as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise Conflict(Text("request.item_changed"), code="condition_failed") from exc
        raise


def update(
    key: Mapping[str, str],
    expression: str,
    *,
    condition: str | None = None,
    names: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
    return_new: bool = False,
) -> dict[str, Any] | None:
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "Key": serialize(key),
        "UpdateExpression": expression,
    }
    if condition:
        kwargs["ConditionExpression"] = condition
    _add_expr(kwargs, {"names": names, "values": values})
    if return_new:
        kwargs["ReturnValues"] = "ALL_NEW"
    try:
        answer = aws.client("dynamodb").update_item(**kwargs)
    except _client_error() as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise Conflict(Text("request.item_changed"), code="condition_failed") from exc
        raise
    attributes = answer.get("Attributes")
    return deserialize(attributes) if attributes else None


def _add_expr(kwargs: dict[str, Any], expr: Mapping[str, Any]) -> None:
    if expr.get("names"):
        kwargs["ExpressionAttributeNames"] = dict(expr["names"])
    if expr.get("values"):
        kwargs["ExpressionAttributeValues"] = serialize(expr["values"])


def put_op(
    item: Mapping[str, Any], *, condition: str | None = None, guard: bool = False, **expr: Any
) -> Op:
    body: dict[str, Any] = {"TableName": _table(), "Item": serialize(item)}
    if condition:
        body["ConditionExpression"] = condition
    _add_expr(body, expr)
    return Op("Put", body, is_guard=guard)


def versioned_put_op(item: Mapping[str, Any], expected_version: int) -> Op:
    """Optimistic lock: write only if the stored ``version`` is still the one read (or, for
    version 0, if nothing is stored yet). Losing the race raises ConcurrentUpdate in transact."""
    if expected_version == 0:
        return put_op(item, condition="attribute_not_exists(pk)", guard=True)
    return put_op(item, condition="version = :v", values={":v": expected_version}, guard=True)


def update_op(
    key: Mapping[str, str],
    expression: str,
    *,
    condition: str | None = None,
    names: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
    guard: bool = False,
) -> Op:
    body: dict[str, Any] = {
        "TableName": _table(),
        "Key": serialize(key),
        "UpdateExpression": expression,
    }
    if condition:
        body["ConditionExpression"] = condition
    _add_expr(body, {"names": names, "values": values})
    return Op("Update", body, is_guard=guard)


def _until_processed(
    call: Callable[[dict[str, Any]], dict[str, Any]], request: dict[str, Any]
) -> int:
    """Call a batch operation until DynamoDB hands nothing back unprocessed, backing off
    between tries; ``call`` returns what is left. Returns the calls made."""
    import time

    for attempt in range(8):
        request = call(request)
        if not request:
            return attempt + 1
        time.sleep(min(0.05 * 2**attempt, 2.0))
    raise RuntimeError("DynamoDB left part of a batch unprocessed after 8 tries")


def batch_get(
    item_keys: Sequence[Mapping[str, str]], *, consistent: bool = False
) -> list[dict[str, Any]]:
    """The items with these keys (those that exist, in no particular order), 100 to a call."""
    client = aws.client("dynamodb")
    found: list[dict[str, Any]] = []

    def get(request: dict[str, Any]) -> dict[str, Any]:
        answer = client.batch_get_item(RequestItems=request)
        found.extend(deserialize(item) for item in answer["Responses"].get(_table(), []))
        return dict(answer.get("UnprocessedKeys") or {})

    for start in range(0, len(item_keys), 100):
        keys = [serialize(key) for key in item_keys[start : start + 100]]
        _until_processed(get, {_table(): {"Keys": keys, "ConsistentRead": consistent}})
    return found


def batch_put(items: Sequence[Mapping[str, Any]]) -> int:
    """Put every item, 25 to a call. Each put replaces the item with its key: for facts keyed by
    what they are, a re-import replaces rather than adds. Returns the number of calls made."""
    client = aws.client("dynamodb")

    def put(request: dict[str, Any]) -> dict[str, Any]:
        answer = client.batch_write_item(RequestItems=request)
        return dict(answer.get("UnprocessedItems") or {})

    calls = 0
    for start in range(0, len(items), 25):
        puts = [{"PutRequest": {"Item": serialize(item)}} for item in items[start : start + 25]]
        calls += _until_processed(put, {_table(): puts})
    return calls


def delete(key: Mapping[str, str]) -> None:
    aws.client("dynamodb").delete_item(TableName=_table(), Key=serialize(key))


def delete_op(key: Mapping[str, str], *, condition: str | None = None, guard: bool = False) -> Op:
    body: dict[str, Any] = {"TableName": _table(), "Key": serialize(key)}
    if condition:
        body["ConditionExpression"] = condition
    return Op("Delete", body, is_guard=guard)


def transact(ops: list[Op]) -> None:
    """Write all or nothing. A failed guard condition raises :class:`ConcurrentUpdate` so the
    caller re-reads and retries; other cancellations propagate (the delivery is retried)."""
    if not ops:
        return
    if len(ops) > 100:
        raise BadRequest(Text("request.transaction_too_large"), code="transaction_too_large")
    try:
        aws.client("dynamodb").transact_write_items(
            TransactItems=[{op.kind: op.body} for op in ops]
        )
    except _client_error() as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        reasons = exc.response.get("CancellationReasons") or []
        for op, reason in zip(ops, reasons, strict=False):
            if reason.get("Code") == "ConditionalCheckFailed" and op.is_guard:
                raise ConcurrentUpdate(Text("request.lost_race")) from exc
        raise


def query(
    pk_name: str,
    pk_value: str,
    *,
    index: str | None = None,
    sk_name: str = "sk",
    sk_between: tuple[str, str] | None = None,
    sk_prefix: str | None = None,
    filter_expression: str | None = None,
    names: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
    limit: int = 50,
    next_token: str | None = None,
    forward: bool = True,
    consistent: bool = False,
) -> Page:
    """One page of a query. ``next_token`` is opaque to callers and is checked to belong to
    ``pk_value``, so a token minted for one tenant can't page through another's data."""
    all_names = {"#pk": pk_name, **(names or {})}
    all_values: dict[str, Any] = {":pk": pk_value, **(values or {})}
    condition = "#pk = :pk"
    if sk_between:
        all_names["#sk"] = sk_name
        all_values[":lo"], all_values[":hi"] = sk_between
        condition += " AND #sk BETWEEN :lo AND :hi"
    elif sk_prefix:
        all_names["#sk"] = sk_name
        all_values[":prefix"] = sk_prefix
        condition += " AND begins_with(#sk, :prefix)"
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": all_names,
        "ExpressionAttributeValues": serialize(all_values),
        "Limit": limit,
        "ScanIndexForward": forward,
    }
    if index:
        kwargs["IndexName"] = index
    elif consistent:  # a GSI can't be read consistently; the base table can
        kwargs["ConsistentRead"] = True
    if filter_expression:
        kwargs["FilterExpression"] = filter_expression
    if next_token:
        kwargs["ExclusiveStartKey"] = _decode_token(next_token, pk_name, pk_value)
    answer = aws.client("dynamodb").query(**kwargs)
    last = answer.get("LastEvaluatedKey")
    return Page(
        items=[deserialize(i) for i in answer.get("Items", [])],
        next_token=_encode_token(last) if last else None,
    )


def query_all(
    pk_name: str, pk_value: str, *, limit: int = 500, **kwargs: Any
) -> Iterator[dict[str, Any]]:
    """Every item, page by page (``limit`` is the page size)."""
    token: str | None = None
    while True:
        page = query(pk_name, pk_value, next_token=token, limit=limit, **kwargs)
        yield from page.items
        if not page.next_token:
            return
        token = page.next_token


def _encode_token(key: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode()


def _decode_token(token: str, pk_name: str, pk_value: str) -> dict[str, Any]:
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
        owner = key[pk_name]["S"]
    except (ValueError, KeyError, TypeError) as exc:
        raise BadRequest(Text("request.invalid_next_token"), code="invalid_next_token") from exc
    if owner != pk_value:
        raise BadRequest(Text("request.invalid_next_token"), code="invalid_next_token")
    return key
