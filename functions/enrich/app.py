"""Enrich function: fetch marketplace orders known only from notifications."""

from linkstar.enrich.worker import handle_record
from linkstar.sqs_handler import sqs_handler

handler = sqs_handler(handle_record)
