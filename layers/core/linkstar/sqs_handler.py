"""The Lambda handler every SQS-fed function uses: Powertools batch processing with partial
batch failures (``ReportBatchItemFailures`` in the template), one record at a time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from linkstar import memo
from linkstar.ingest.processor import register_context
from linkstar.observability import logger

Handler = Callable[[dict[str, Any], LambdaContext], PartialItemFailureResponse]


def sqs_handler(handle_record: Callable[[dict[str, Any]], str]) -> Handler:
    """``handle_record`` gets the raw SQS record and raises to have it retried."""
    processor = BatchProcessor(event_type=EventType.SQS)

    def record_handler(record: SQSRecord) -> str:
        return handle_record(record.raw_event)

    @logger.inject_lambda_context
    def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        # Powertools sizes the idempotency lock by the invocation's remaining time.
        register_context(context)
        with memo.scope():
            return process_partial_response(
                event=event, record_handler=record_handler, processor=processor, context=context
            )

    return handler
