"""The local stack's notion of "now": every schedule reads the time through ``now()``.

It is :func:`linkstar.clock.now`, the clock the functions themselves read, so the emulated
EventBridge and the code it invokes agree on the time. In the local stack that clock is the system
time plus the offset in ``$LINKSTAR_CLOCK_FILE`` (``<state>/clock.json``), which the operator
moves forward with ``POST /_local/clock`` (``infra.local.api``).

Kept as its own function (rather than an alias) so tests can replace ``infra.local.clock.now``
without touching the functions' clock.
"""

from __future__ import annotations

from datetime import datetime


def now() -> datetime:
    """The current time, timezone-aware, in UTC: the local stack's shared clock."""
    # Imported on first use, not with this module: a runtime process imports infra.local before
    # it puts the function's layers first on sys.path, and ``linkstar`` must come from the layer
    # as it does in Lambda. After the first call this is a dictionary lookup.
    from linkstar import clock

    return clock.now()
