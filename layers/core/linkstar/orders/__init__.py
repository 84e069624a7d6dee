"""Orders: the canonical model every platform adapter produces, the lifecycle, the merge rules
that make ingestion order-independent, and the daily aggregates kept on write."""
