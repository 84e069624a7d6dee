"""Publisher function: the table's stream (outbox items only, by filter) → EventBridge bus."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from linkstar.events.publisher import publish
from linkstar.observability import logger


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failed = publish(event.get("Records", []))
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in failed[:1]]}
