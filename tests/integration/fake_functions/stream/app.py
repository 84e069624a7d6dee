"""DynamoDB stream handler: a "poison" item is reported failed, an "explode" item raises."""

from typing import Any

from fakelib import observe


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    for record in event["Records"]:
        if "explode" in record["dynamodb"].get("NewImage", {}):
            raise RuntimeError("explode")
        if "poison" in record["dynamodb"].get("NewImage", {}):
            return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
        observe("stream", record)
    return {"batchItemFailures": []}
