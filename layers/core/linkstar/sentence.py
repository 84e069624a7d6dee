"""A sentence as a pydantic model field (:data:`Sentence`): apart from :mod:`linkstar.text` so that
what every error imports (``text``) doesn't build pydantic types at every function's cold start."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, SerializationInfo, WithJsonSchema

from linkstar.text import Text, load


def _validate_sentence(value: Any) -> Text | str:
    loaded = load(value)
    if loaded is None:
        raise ValueError("a sentence is required")
    return loaded


def _serialize_sentence(value: Text | str, info: SerializationInfo) -> Any:
    if not isinstance(value, Text):
        return value
    if isinstance(info.context, dict) and info.context.get("stored"):
        return value.dump()
    return value.render() if info.mode == "json" else value


Sentence = Annotated[
    Text | str,
    PlainValidator(_validate_sentence),
    PlainSerializer(_serialize_sentence),
    WithJsonSchema({"type": "string"}),
]
"""A model field holding a sentence: a :class:`Text`, or a plain string (another module's
reason, or English stored before messages existed). Dumped as JSON it is rendered in the locale in
use (a response says ``string``); dumped with :data:`STORED` it is the message itself."""
