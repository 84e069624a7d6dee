"""The local emulator's TransactWriteItems keeps DynamoDB's all-or-nothing semantics without
copying whole tables (infra/local/moto_fixes.py)."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from infra.local import moto_fixes
from tests.integration.conftest import Stack


def _put(table: str, pk: str, **extra: dict) -> dict:
    return {"Put": {"TableName": table, "Item": {"pk": {"S": pk}, "sk": {"S": "X"}, **extra}}}


def test_a_failed_condition_writes_nothing_and_names_the_item(stack: Stack) -> None:
    moto_fixes.install()
    table = stack.resource("AppTable")
    client = boto3.client("dynamodb")
    client.put_item(TableName=table, Item={"pk": {"S": "T#fix#a"}, "sk": {"S": "X"}})
    with pytest.raises(ClientError) as raised:
        client.transact_write_items(
            TransactItems=[
                _put(table, "T#fix#b"),
                {
                    "Put": {
                        **_put(table, "T#fix#a", v={"N": "1"})["Put"],
                        "ConditionExpression": "attribute_not_exists(pk)",
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            ]
        )
    reasons = raised.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "ConditionalCheckFailed"]
    assert reasons[1]["Item"]["pk"] == {"S": "T#fix#a"}
    missing = client.get_item(TableName=table, Key={"pk": {"S": "T#fix#b"}, "sk": {"S": "X"}})
    assert "Item" not in missing


def test_all_writes_apply_together(stack: Stack) -> None:
    moto_fixes.install()
    table = stack.resource("AppTable")
    client = boto3.client("dynamodb")
    client.transact_write_items(
        TransactItems=[
            _put(table, "T#fix#c"),
            {
                "Update": {
                    "TableName": table,
                    "Key": {"pk": {"S": "T#fix#d"}, "sk": {"S": "X"}},
                    "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
        ]
    )
    got = client.get_item(TableName=table, Key={"pk": {"S": "T#fix#d"}, "sk": {"S": "X"}})
    assert got["Item"]["n"] == {"N": "1"}
    assert "Item" in client.get_item(
        TableName=table, Key={"pk": {"S": "T#fix#c"}, "sk": {"S": "X"}}
    )


def test_two_operations_on_one_item_are_refused(stack: Stack) -> None:
    moto_fixes.install()
    table = stack.resource("AppTable")
    with pytest.raises(ClientError) as raised:
        boto3.client("dynamodb").transact_write_items(
            TransactItems=[_put(table, "T#fix#e"), _put(table, "T#fix#e")]
        )
    assert raised.value.response["Error"]["Code"] == "ValidationException"
