"""Feedback function: SES events and SMS/WhatsApp status through SNS → SQS, and SNS's SMS
delivery status logs through a CloudWatch Logs subscription."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from linkstar.outreach.workers import handle_feedback_logs, handle_feedback_record
from linkstar.sqs_handler import sqs_handler

_sqs = sqs_handler(handle_feedback_record)


def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    if "awslogs" in event:
        return {"applied": handle_feedback_logs(event)}
    return _sqs(event, context)
