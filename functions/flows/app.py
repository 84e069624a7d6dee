"""Flows function: domain events, timer resumes and bounce fallbacks drive flow runs."""

from linkstar.outreach.workers import handle_flow_record
from linkstar.sqs_handler import sqs_handler

handler = sqs_handler(handle_flow_record)
