"""Fixes to moto that make the local stack usable at a seller's volume.

moto's ``TransactWriteItems`` deep-copies every table a transaction touches (items, indexes and
stream records) so it can roll back: the cost grows with the table, and ingestion on the local
stack slowed to about one delivery a second after a few thousand orders. DynamoDB's own
semantics need no copy: every condition is checked against the state before the transaction and
nothing is written unless all hold. :func:`install` replaces the method with exactly that,
keeping moto's error shapes (``CancellationReasons`` per item, ``ALL_OLD`` on failure).

A write that fails half way for a reason other than a condition (an invalid update expression
found only while applying) is rolled back item by item from copies of just the touched items.

Two more costs that grow with the data and don't exist in AWS:
- SQS ``ReceiveMessage`` computes every queue attribute (counting all messages) once per message
  just to read the retention period: quadratic in the queue's depth.
- A DynamoDB ``Query`` on the base table sorts the whole table to find one partition.
- SQS reads "now" through two datetime conversions, once per message, several times per call
  (``SendMessage`` counts the queue's visible and delayed messages): plain ``time.time()``.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

_installed = False
_partition = threading.local()


def install() -> None:
    """Patch moto in this process (the moto server's, or a test's under ``mock_aws``)."""
    global _installed
    if _installed:
        return
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table
    from moto.sqs import models as sqs_models
    from moto.sqs.models import SQSBackend

    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    SQSBackend.is_message_valid_based_on_retention_period = _within_retention  # type: ignore[method-assign]
    original_all_items = Table.all_items
    original_query = Table.query

    def all_items(self: Any) -> Any:
        wanted = getattr(_partition, "hash_key", None)
        if wanted is None:
            return original_all_items(self)
        found = self.items.get(wanted)
        if found is None:
            return []
        return list(found.values()) if self.range_key_attr else [found]

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        # Only a base-table query may be narrowed to its partition; index queries scan.
        if hash_key is None or kwargs.get("index_name") or (len(args) >= 7 and args[6]):
            return original_query(self, hash_key, *args, **kwargs)
        _partition.hash_key = hash_key
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _partition.hash_key = None

    sqs_models.unix_time = _unix_time
    sqs_models.unix_time_millis = _unix_time_millis
    Table.all_items = all_items  # type: ignore[method-assign]
    Table.query = query  # type: ignore[method-assign]
    _installed = True


def _unix_time(dt: Any = None) -> float:
    import time

    from moto.core.utils import unix_time

    return time.time() if dt is None else unix_time(dt)


def _unix_time_millis(dt: Any = None) -> float:
    return _unix_time(dt) * 1000.0


def _within_retention(self: Any, queue_name: str, message: Any) -> bool:
    import time

    queue = self.get_queue(queue_name)
    retain_until = int(queue.message_retention_period) + message.sent_timestamp / 1000
    return bool(retain_until > time.time())


def _key_of(backend: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return key


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()

    # 1. Validate and check every condition against the state before the transaction.
    plan: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    seen: set[tuple[str, str]] = set()
    errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
    for entry in transact_items:
        if len(entry) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(entry.items()))
        if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
            errors.append(("ValidationError", "Unsupported transaction operation", None))
            continue
        key = _key_of(self, op_type, op)
        marker = (str(op["TableName"]), str(dict(sorted(key.items()))))
        if marker in seen:
            raise MultipleTransactionsException()
        seen.add(marker)
        current = self.get_item(op["TableName"], key)
        condition = op.get("ConditionExpression")
        if condition is not None:
            expression = get_filter_expression(
                condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            )
            if not expression.expr(current):
                old = None
                if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                    old = current.to_json()["Attributes"]
                errors.append(("ConditionalCheckFailed", "The conditional request failed", old))
                continue
        errors.append((None, None, None))
        plan.append((op_type, op, key))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)

    # 2. Apply, keeping copies of only the touched items for a rollback.
    before = [
        (op["TableName"], key, copy.deepcopy(self.get_item(op["TableName"], key)))
        for op_type, op, key in plan
        if op_type != "ConditionCheck"
    ]
    try:
        for op_type, op, key in plan:
            names = op.get("ExpressionAttributeNames")
            values = op.get("ExpressionAttributeValues")
            if op_type == "Put":
                self.put_item(op["TableName"], op["Item"], None, None, names, values)
            elif op_type == "Delete":
                self.delete_item(op["TableName"], key)
            elif op_type == "Update":
                self.update_item(
                    op["TableName"],
                    key,
                    update_expression=op["UpdateExpression"],
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
    except MockValidationException:
        _restore(self, before)
        raise


def _restore(backend: Any, before: list[tuple[str, dict[str, Any], Any]]) -> None:
    for table_name, key, item in before:
        if item is None:
            backend.delete_item(table_name, key)
        else:
            backend.put_item(table_name, item.to_json()["Attributes"], overwrite=True)
