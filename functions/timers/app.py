"""Timers function: every minute, due waits and held messages go back to work; daily, the
segment job (win-back) queues its entries; monthly, the billing close freezes invoices."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from linkstar.observability import logger
from linkstar.outreach.workers import tick


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    return tick(event)
