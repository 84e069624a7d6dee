"""SQS handler: bodies containing "fail" are reported as batch item failures."""

from typing import Any

from fakelib import observe


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failures = []
    for record in event["Records"]:
        if "fail" in record["body"]:
            failures.append({"itemIdentifier": record["messageId"]})
        else:
            observe("sqs", record)
    return {"batchItemFailures": failures}
