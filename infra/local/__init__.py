"""The embedded local AWS stack, built from template.yaml (moto on loopback, no Docker).

* ``infra.local.template`` - template.yaml transformed offline and adapted for local use;
  ``api_routes()`` lists its HTTP routes.
* ``infra.local.stack`` - ``deploy``/``deploy_in_process`` into moto, ``DeployedStack``.
* ``infra.local.runtime`` - one function's Lambda runtime and event source pollers.
* ``infra.local.api`` - the Chalice app over HTTP; ``infra.local.supervisor`` - the whole stack.
* ``infra.local.control`` - ``up``/``down``/``status``/``replay-dlq`` and ``LocalStack``.

Run ``python -m infra.local --help`` (or ``make up`` / ``make down``).
"""

from infra.local.control import LocalStack
from infra.local.stack import DeployedStack, deploy, deploy_in_process
from infra.local.template import api_routes, load_template

__all__ = [
    "DeployedStack",
    "LocalStack",
    "api_routes",
    "deploy",
    "deploy_in_process",
    "load_template",
]
