"""The single Powertools Logger for the package (the Tracer is kept off the webhook path: it
costs ~0.5 s to import)."""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger(service="linkstar")
