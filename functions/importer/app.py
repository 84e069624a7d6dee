"""Import function: one uploaded order-history file per message, streamed into orders."""

from linkstar.history.worker import handle_record
from linkstar.sqs_handler import sqs_handler

handler = sqs_handler(handle_record)
