"""Costs function: recost the orders a cost-model, FX-rate or settlement change touched, a page
per message (linkstar.costs.recost)."""

from linkstar.costs.recost import handle_record
from linkstar.sqs_handler import sqs_handler

handler = sqs_handler(handle_record)
