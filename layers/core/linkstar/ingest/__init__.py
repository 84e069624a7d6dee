"""The path from a verified webhook to stored state.

``envelope`` is the queue message format (shared by the webhook edge, the ingest function, the
DLQ and replay); ``edge`` enqueues; ``processor`` dedupes, normalises and applies; ``deadletter``
parks what can't be processed, with its reason, and puts it back on replay.
"""
