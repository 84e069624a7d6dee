"""Ingest function: SQS batches of webhook deliveries and Amazon notifications → canonical state."""

from linkstar.ingest.worker import handle_record
from linkstar.sqs_handler import sqs_handler

handler = sqs_handler(handle_record)
