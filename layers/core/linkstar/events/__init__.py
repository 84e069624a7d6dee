"""Domain events on the EventBridge bus: the outbox relay (publisher)."""
