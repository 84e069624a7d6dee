"""What each outreach function does with one SQS record (or one schedule tick).

Permanent errors are parked in the queue's DLQ with their reason at once; transient ones are
retried by SQS and parked with their reason on the last attempt (``ingest.deadletter.settle``).
A provider's throttle is transient: the record is retried after the visibility timeout, which
the function's own backoff (ChangeMessageVisibility) stretches with each attempt.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from linkstar import aws, clock
from linkstar.errors import PermanentError
from linkstar.ingest.deadletter import dead_letter_work, settle
from linkstar.observability import logger
from linkstar.outreach.models import SendRequest

# Seconds before a throttled send is tried again, by attempt (capped by SQS at 12 h).
BACKOFF = (5, 30, 120, 600, 1800)


def _parked(queue: str, record: dict[str, Any]) -> Any:
    def park(code: str, reason: str, attempts: int) -> None:
        dead_letter_work(queue, record["body"], code, reason, attempts)

    return park


def _body(record: dict[str, Any]) -> dict[str, Any]:
    try:
        body = json.loads(record["body"])
    except (ValueError, KeyError, TypeError) as exc:
        raise PermanentError(f"not JSON: {exc!r}", code="invalid_work") from exc
    if not isinstance(body, dict):
        raise PermanentError("not a JSON object", code="invalid_work")
    return body


def handle_flow_record(record: dict[str, Any]) -> str:
    from linkstar.outreach import engine

    return settle(record, lambda: engine.handle(_body(record)), _parked("flow", record))


def handle_send_record(record: dict[str, Any]) -> str:
    """One send request, from whichever channel queue (the request names its channel)."""
    from linkstar.outreach import sender
    from linkstar.outreach.providers.errors import RetryableProviderError

    try:
        request: SendRequest | None = SendRequest.model_validate(_body(record))
    except (ValueError, PermanentError):
        request = None

    def work() -> str:
        if request is None:
            raise PermanentError("not a send request", code="invalid_work")
        try:
            outcome = sender.send(request, sender.PROVIDERS[request.channel])
        except (RetryableProviderError, sender.MessageInFlight) as exc:
            _back_off(record, request.channel, exc.retry_after)
            raise
        logger.info(
            "send",
            extra={"channel": request.channel, "state": outcome.state, "reason": outcome.reason},
        )
        return outcome.state

    return settle(record, work, _parked(request.channel if request else "email", record))


def _back_off(record: dict[str, Any], channel: str, retry_after: float | None) -> None:
    """Exponential backoff for a throttled provider, instead of the queue's fixed visibility."""
    from linkstar.outreach.queues import channel_queue_url

    attempts = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
    delay = int(retry_after or BACKOFF[min(attempts, len(BACKOFF)) - 1])
    if not record.get("receiptHandle"):
        return
    try:
        aws.client("sqs").change_message_visibility(
            QueueUrl=channel_queue_url(channel),  # type: ignore[arg-type]
            ReceiptHandle=record["receiptHandle"],
            VisibilityTimeout=delay,
        )
    except Exception:  # the queue's own visibility timeout still retries it
        logger.warning("could not set the retry delay", exc_info=True)


def handle_feedback_record(record: dict[str, Any]) -> str:
    from linkstar.outreach import feedback, feedback_events

    def work() -> str:
        body = record["body"]
        if body.startswith('{"source": "whatsapp_webhook"'):
            events = feedback_events.from_whatsapp_webhook(json.loads(body)["payload"])
        else:
            sent = record.get("attributes", {}).get("SentTimestamp")
            received = (
                datetime.fromtimestamp(int(sent) / 1000, UTC) if sent and sent.isdigit() else None
            )
            events = feedback_events.from_sqs_body(body, received_at=received)
        outcomes = feedback.apply(events)
        return ",".join(outcomes) or "nothing"

    return settle(record, work, _parked("feedback", record))


def handle_feedback_logs(event: dict[str, Any]) -> list[str]:
    """SMS delivery status as SNS writes it: CloudWatch Logs, through a subscription filter."""
    from linkstar.outreach import feedback, feedback_events

    return feedback.apply(feedback_events.from_cloudwatch_logs(event))


def tick(event: dict[str, Any]) -> dict[str, int]:
    """The schedules: every minute fire due timers; once a day (``{"job": "segments"}``) queue
    segment entries such as win-back, and (``{"job": "kpi_alerts"}``) tell KPI owners of a slip;
    on the 1st (``{"job": "close_month"}``) close the previous month's invoices."""
    from linkstar.outreach import engine, timers

    now = clock.now()
    if isinstance(event, dict) and event.get("job") == "segments":
        return {"segment_entries": engine.run_segments(now)}
    if isinstance(event, dict) and event.get("job") == "kpi_alerts":
        from linkstar.kpis import service as kpis

        return kpis.check_all(now)
    if isinstance(event, dict) and event.get("job") == "close_month":
        from linkstar.billing import service as billing

        result = billing.close_all(now)
        return {"closed": len(result["closed"]), "failed": len(result["failed"])}
    return timers.fire_due(now)
