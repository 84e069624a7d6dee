"""Platform integrations.

``edge`` is what the webhook route needs (signature schemes, delivery headers, handled topics) and
imports nothing heavy; the per-platform adapter modules (``shopify``) turn a verified payload into
canonical changes and run only in the ingest function.
"""
