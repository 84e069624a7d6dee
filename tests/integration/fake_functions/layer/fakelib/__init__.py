"""A throwaway layer package: proves layer directories reach the handlers' sys.path."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3


def observe(kind: str, payload: Any) -> None:
    """Tell the test what a handler saw, through the stack's ObservationsQueue."""
    boto3.client("sqs").send_message(
        QueueUrl=os.environ["OBSERVATIONS_QUEUE_URL"],
        MessageBody=json.dumps(
            {
                "kind": kind,
                "function": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
                "payload": payload,
            }
        ),
    )
