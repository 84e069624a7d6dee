"""Sender function: fed by one SQS queue per channel (each with its own concurrency); the
compliance gates and the exactly-once claim live in ``linkstar.outreach.sender``."""

from linkstar.outreach.workers import handle_send_record
from linkstar.sqs_handler import sqs_handler

handler = sqs_handler(handle_send_record)
