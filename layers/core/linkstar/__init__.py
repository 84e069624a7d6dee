"""LinkStar domain package: shared by every Lambda through the core layer.

Organised by capability: ``platforms`` (webhook verification and payload adapters), ``orders``
(the canonical order model, lifecycle and aggregates), ``tenants`` (tenants, API keys, roles),
``ingest`` (the delivery envelope between the webhook edge and the ingest function), ``store``
(the only module that knows DynamoDB keys) and ``api`` (Chalice blueprints).
"""

__version__ = "0.1.0"
