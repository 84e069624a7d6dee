"""Reads ``template.yaml`` for the local stack: the deployable template and the functions' wiring.

``template.yaml`` stays the single source of truth. This module parses it, points every
``CodeUri``/``ContentUri`` at a placeholder object in the local code bucket, transforms it offline
with aws-sam-translator and returns:

* ``LocalTemplate.deployable`` - the CloudFormation template the local stack creates in moto.
  Compared with what AWS would deploy it lacks the API Gateway resources (the Chalice app is
  served over HTTP by ``infra.local.api`` instead) and the event source mappings (the runner in
  ``infra.local.runtime`` polls the sources itself, moto would try to invoke the functions), plus
  anything that only pointed at those. EventBridge rules no longer target functions: an
  ``EventBridgeRule`` event gets an SQS *shim* queue that its rule targets and the runner drains,
  and a schedule rule loses its function target because the runner fires schedules itself.
* ``LocalTemplate.functions`` - each function as declared in the SAM template: code directory,
  handler, timeout, layers and its event sources, for the runner and the API server.

Nothing here knows about moto's gaps; ``infra.local.stack`` owns those.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
# The translator warns at exit about usage metrics that nobody publishes offline.
logging.getLogger("samtranslator.metrics.metrics").setLevel(logging.ERROR)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEMPLATE = REPO_ROOT / "template.yaml"
CODE_BUCKET = "linkstar-local-code"
DEFAULT_STACK_NAME = "linkstar-local"

SHIM_QUEUE_SUFFIX = "LocalShimQueue"
SHIM_POLICY_SUFFIX = "LocalShimQueuePolicy"

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class TemplateError(ValueError):
    """template.yaml declares something the local stack cannot run."""


# ---------------------------------------------------------------- event sources


@dataclass(frozen=True)
class SqsSource:
    """An ``SQS`` event: the runner long-polls the queue and deletes what the handler processed."""

    name: str
    queue: str
    """Logical id of a queue in the stack, or a literal queue ARN."""
    batch_size: int = 10
    batching_window_seconds: int = 0
    report_batch_item_failures: bool = False
    filters: tuple[dict[str, Any], ...] = ()
    enabled: bool = True


@dataclass(frozen=True)
class StreamSource:
    """A ``DynamoDB`` stream event: the runner reads the table's stream shard by shard."""

    name: str
    table: str | None
    """Logical id of the table whose stream this is; None when ``stream_arn`` is a literal."""
    stream_arn: str | None
    starting_position: str = "LATEST"
    batch_size: int = 100
    batching_window_seconds: int = 0
    maximum_retry_attempts: int = -1
    """-1 means what it means in Lambda: retry until the record expires."""
    bisect_on_error: bool = False
    report_batch_item_failures: bool = False
    filters: tuple[dict[str, Any], ...] = ()
    on_failure: str | None = None
    """Logical id (or literal ARN) of the SQS queue or SNS topic that receives exhausted batches."""
    enabled: bool = True


@dataclass(frozen=True)
class ScheduleSource:
    """A ``Schedule`` (EventBridge rule) or ``ScheduleV2`` (EventBridge Scheduler) event."""

    name: str
    kind: str
    """``Schedule`` or ``ScheduleV2``."""
    expression: str
    resource: str
    """Logical id of the rule or schedule the transform created for this event."""
    input: str | None = None
    timezone: str | None = None
    enabled: bool = True


@dataclass(frozen=True)
class EventBridgeRuleSource:
    """An ``EventBridgeRule`` event: its rule targets ``shim_queue``, which the runner drains."""

    name: str
    pattern: dict[str, Any]
    event_bus: str
    """Logical id of an event bus in the stack, or a literal bus name (``default`` if omitted)."""
    rule: str
    shim_queue: str


@dataclass(frozen=True)
class ApiSource:
    """An ``Api`` event: one route of the HTTP API, served locally by the Chalice app."""

    name: str
    path: str
    method: str


@dataclass(frozen=True)
class UnemulatedSource:
    """An event type the local stack does not drive; the runner says so when it starts."""

    name: str
    type: str


_SOURCE_TYPES = (
    SqsSource,
    StreamSource,
    ScheduleSource,
    EventBridgeRuleSource,
    ApiSource,
    UnemulatedSource,
)
EventSource = (
    SqsSource | StreamSource | ScheduleSource | EventBridgeRuleSource | ApiSource | UnemulatedSource
)


@dataclass(frozen=True)
class FunctionSpec:
    """One ``AWS::Serverless::Function`` as the local runtime needs it."""

    logical_id: str
    code_dir: str
    """The original ``CodeUri``, relative to the repository root (POSIX separators)."""
    handler: str
    runtime: str
    timeout: int
    memory_size: int
    layer_dirs: tuple[str, ...]
    """``ContentUri`` of each layer, in the order Lambda would stack them under /opt."""
    events: tuple[EventSource, ...]

    @property
    def api_routes(self) -> set[tuple[str, str]]:
        return {(e.method, e.path) for e in self.events if isinstance(e, ApiSource)}

    @property
    def background_sources(self) -> tuple[EventSource, ...]:
        """Every event source the runner drives (everything but HTTP)."""
        return tuple(e for e in self.events if not isinstance(e, ApiSource))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["events"] = [{"source_type": type(e).__name__, **asdict(e)} for e in self.events]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FunctionSpec:
        """The inverse of ``to_dict``: lets child processes skip transforming the template."""
        kinds = {kind.__name__: kind for kind in _SOURCE_TYPES}
        events = []
        for raw in data["events"]:
            fields = {k: v for k, v in raw.items() if k != "source_type"}
            if "filters" in fields:
                fields["filters"] = tuple(fields["filters"])
            events.append(kinds[raw["source_type"]](**fields))
        return cls(
            **{
                **data,
                "layer_dirs": tuple(data["layer_dirs"]),
                "events": tuple(events),
            }
        )


@dataclass(frozen=True)
class LayerSpec:
    logical_id: str
    transformed_id: str
    """The transform appends a hash to layer ids (``CoreLayer`` -> ``CoreLayer1a2b...``)."""
    content_dir: str


@dataclass
class LocalTemplate:
    """template.yaml, read for the local stack."""

    path: Path
    root: Path
    parameters: dict[str, str]
    deployable: dict[str, Any]
    functions: dict[str, FunctionSpec]
    layers: dict[str, LayerSpec]
    code_objects: dict[str, str] = field(default_factory=dict)
    """Logical id (function or layer) -> key of its placeholder zip in ``CODE_BUCKET``."""
    removed: dict[str, str] = field(default_factory=dict)
    """Logical id of a transformed resource or output left out of ``deployable`` -> why."""

    def api_routes(self) -> set[tuple[str, str]]:
        routes: set[tuple[str, str]] = set()
        for spec in self.functions.values():
            routes |= spec.api_routes
        return routes

    def api_function(self) -> FunctionSpec | None:
        """The function serving HTTP; the local stack serves one Chalice app."""
        serving = [f for f in self.functions.values() if f.api_routes]
        if len(serving) > 1:
            names = ", ".join(f.logical_id for f in serving)
            raise TemplateError(f"the local stack serves one API function, template has: {names}")
        return serving[0] if serving else None


# ---------------------------------------------------------------- intrinsic helpers


def referenced_ids(node: Any) -> set[str]:
    """Logical ids (or parameters) a template fragment points at through Ref, GetAtt or Sub."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".", 1)[0]
                found.add(target)
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                local_vars = value[1] if isinstance(value, list) and len(value) > 1 else {}
                for var in _SUB_VARIABLE.findall(text):
                    name = var.split(".", 1)[0]
                    if name not in local_vars:
                        found.add(name)
                found |= referenced_ids(local_vars)
            else:
                found |= referenced_ids(value)
    elif isinstance(node, list):
        for item in node:
            found |= referenced_ids(item)
    return {name for name in found if not name.startswith("AWS::")}


def _target_id(value: Any) -> str | None:
    """The logical id behind ``!Ref X`` / ``!GetAtt X.Attr``; None for a literal."""
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            att = value["Fn::GetAtt"]
            return str(att[0] if isinstance(att, list) else str(att).split(".", 1)[0])
    return None


def _reference_or_literal(value: Any, what: str) -> str:
    target = _target_id(value)
    if target is not None:
        return target
    if isinstance(value, str):
        return value
    raise TemplateError(f"{what}: expected a Ref/GetAtt or a literal, got {value!r}")


def _as_bool(value: Any, default: bool = True) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() not in {"false", "disabled", "0", "no"}
    return bool(value)


def _filters(properties: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
    criteria = properties.get("FilterCriteria") or {}
    patterns: list[dict[str, Any]] = []
    for entry in criteria.get("Filters", []):
        pattern = entry.get("Pattern")
        patterns.append(json.loads(pattern) if isinstance(pattern, str) else dict(pattern))
    return tuple(patterns)


# ---------------------------------------------------------------- loading


@contextlib.contextmanager
def _default_region(region: str) -> Iterator[None]:
    # The translator builds ARNs from the boto3 default region and refuses to run without one.
    previous = os.environ.get("AWS_DEFAULT_REGION")
    if previous is None:
        os.environ["AWS_DEFAULT_REGION"] = region
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)


class _NoManagedPolicies:
    """The translator asks IAM for managed policy ARNs only to expand short names; none offline."""

    def load(self) -> dict[str, str]:
        return {}


def parse_template(path: Path = DEFAULT_TEMPLATE) -> dict[str, Any]:
    # Imported here: the translator takes most of a second to import and the runtime processes,
    # which read their wiring from deployment.json, never need it.
    from samtranslator.yaml_helper import yaml_parse

    parsed: dict[str, Any] = yaml_parse(Path(path).read_text(encoding="utf-8"))
    return parsed


# Parameters whose template default only makes sense in AWS. An empty PublicBaseUrl means the
# stack's execute-api URL, which the local stack does not create (it serves the API itself, and
# the supervisor passes that URL); in-process deployments get a stand-in host. The SMS status
# log groups are one pair per account, and tests deploy several stacks into one moto account.
LOCAL_PARAMETER_DEFAULTS = {
    "PublicBaseUrl": "http://api.linkstar.localhost",
    "SmsStatusLogGroups": "existing",
}


def parameter_values(
    sam: Mapping[str, Any], overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    declared = sam.get("Parameters") or {}
    values = {name: str(decl["Default"]) for name, decl in declared.items() if "Default" in decl}
    values.update({k: v for k, v in LOCAL_PARAMETER_DEFAULTS.items() if k in declared})
    values.update(overrides or {})
    return values


def load_template(
    path: Path | str = DEFAULT_TEMPLATE,
    parameters: Mapping[str, str] | None = None,
    region: str = "us-east-1",
) -> LocalTemplate:
    """Parse, transform and adapt ``path`` for the local stack (see the module docstring)."""
    path = Path(path).resolve()
    root = path.parent
    sam = parse_template(path)
    params = parameter_values(sam, parameters)

    resources: dict[str, Any] = sam.get("Resources") or {}
    global_function = ((sam.get("Globals") or {}).get("Function")) or {}
    code_dirs: dict[str, str] = {}
    layer_dirs: dict[str, str] = {}
    rewritten = copy.deepcopy(sam)
    for logical_id, resource in rewritten["Resources"].items():
        props = resource.setdefault("Properties", {}) if isinstance(resource, dict) else {}
        if resource.get("Type") == "AWS::Serverless::Function":
            if "InlineCode" in props:
                raise TemplateError(f"{logical_id}: InlineCode has no code directory to run")
            uri = props.get("CodeUri", global_function.get("CodeUri"))
            code_dirs[logical_id] = _local_dir(root, uri, f"{logical_id}.CodeUri")
            props["CodeUri"] = f"s3://{CODE_BUCKET}/{logical_id}.zip"
        elif resource.get("Type") == "AWS::Serverless::LayerVersion":
            uri = props.get("ContentUri")
            layer_dirs[logical_id] = _local_dir(root, uri, f"{logical_id}.ContentUri")
            props["ContentUri"] = f"s3://{CODE_BUCKET}/{logical_id}.zip"

    from samtranslator.translator.transform import transform

    with _default_region(region):
        transformed: dict[str, Any] = transform(rewritten, dict(params), _NoManagedPolicies())

    transformed = resolve_conditions(transformed, params)
    layers = _layers(transformed, layer_dirs)
    functions = {
        logical_id: _function_spec(
            logical_id, resources[logical_id], transformed, code_dirs, layers
        )
        for logical_id in code_dirs
    }
    deployable, removed = _deployable(transformed, functions)
    code_objects = {lid: f"{lid}.zip" for lid in [*code_dirs, *layer_dirs]}
    return LocalTemplate(
        path=path,
        root=root,
        parameters=params,
        deployable=deployable,
        functions=functions,
        layers=layers,
        code_objects=code_objects,
        removed=removed,
    )


def api_routes(path: Path | str = DEFAULT_TEMPLATE) -> set[tuple[str, str]]:
    """(METHOD, path) of every ``Api`` event in the template, read without transforming it."""
    sam = parse_template(Path(path))
    routes: set[tuple[str, str]] = set()
    for resource in (sam.get("Resources") or {}).values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for name, event in ((resource.get("Properties") or {}).get("Events") or {}).items():
            if event.get("Type") == "Api":
                source = _api_source(name, event.get("Properties") or {})
                routes.add((source.method, source.path))
    return routes


def _local_dir(root: Path, uri: Any, what: str) -> str:
    if not isinstance(uri, str) or uri.startswith("s3://"):
        raise TemplateError(f"{what} must be a local directory for the local stack, got {uri!r}")
    directory = (root / uri).resolve()
    try:
        return directory.relative_to(root).as_posix()
    except ValueError as exc:
        raise TemplateError(f"{what} points outside the template's directory: {uri}") from exc


def _layers(transformed: Mapping[str, Any], layer_dirs: Mapping[str, str]) -> dict[str, LayerSpec]:
    layers: dict[str, LayerSpec] = {}
    for logical_id, resource in transformed["Resources"].items():
        if resource["Type"] != "AWS::Lambda::LayerVersion":
            continue
        # The placeholder key still carries the SAM logical id the transform hashed away.
        key = str(resource["Properties"].get("Content", {}).get("S3Key", ""))
        original = key.removesuffix(".zip")
        if original in layer_dirs:
            layers[original] = LayerSpec(original, logical_id, layer_dirs[original])
    return layers


def _function_spec(
    logical_id: str,
    sam_resource: Mapping[str, Any],
    transformed: Mapping[str, Any],
    code_dirs: Mapping[str, str],
    layers: Mapping[str, LayerSpec],
) -> FunctionSpec:
    # Globals are merged by the transform, so handler/timeout/layers come from its output; code
    # and events come from the SAM resource, which still says what the author wrote.
    props = transformed["Resources"][logical_id]["Properties"]
    by_transformed_id = {layer.transformed_id: layer for layer in layers.values()}
    layer_dirs: list[str] = []
    for ref in props.get("Layers", []):
        target = _target_id(ref)
        if target in by_transformed_id:
            layer_dirs.append(by_transformed_id[target].content_dir)
        else:
            log.warning("%s: layer %r is not built from this repository, skipped", logical_id, ref)
    events = tuple(
        _event_source(logical_id, name, event, transformed)
        for name, event in ((sam_resource.get("Properties") or {}).get("Events") or {}).items()
    )
    return FunctionSpec(
        logical_id=logical_id,
        code_dir=code_dirs[logical_id],
        handler=str(props["Handler"]),
        runtime=str(props.get("Runtime", "")),
        timeout=int(props.get("Timeout", 3)),
        memory_size=int(props.get("MemorySize", 128)),
        layer_dirs=tuple(layer_dirs),
        events=events,
    )


def _event_source(
    function_id: str, name: str, event: Mapping[str, Any], transformed: Mapping[str, Any]
) -> EventSource:
    kind = str(event.get("Type"))
    props: Mapping[str, Any] = event.get("Properties") or {}
    where = f"{function_id}.Events.{name}"
    if kind == "Api":
        return _api_source(name, props)
    if kind == "SQS":
        return SqsSource(
            name=name,
            queue=_reference_or_literal(props.get("Queue"), f"{where}.Queue"),
            batch_size=int(props.get("BatchSize", 10)),
            batching_window_seconds=int(props.get("MaximumBatchingWindowInSeconds", 0)),
            report_batch_item_failures="ReportBatchItemFailures"
            in (props.get("FunctionResponseTypes") or []),
            filters=_filters(props),
            enabled=_as_bool(props.get("Enabled")),
        )
    if kind == "DynamoDB":
        stream = props.get("Stream")
        table = _target_id(stream)
        if table is not None and table not in transformed["Resources"]:
            raise TemplateError(f"{where}.Stream points at unknown resource {table}")
        on_failure = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
            "Destination"
        )
        return StreamSource(
            name=name,
            table=table,
            stream_arn=None if table is not None else str(stream),
            starting_position=str(props.get("StartingPosition", "LATEST")),
            batch_size=int(props.get("BatchSize", 100)),
            batching_window_seconds=int(props.get("MaximumBatchingWindowInSeconds", 0)),
            maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
            bisect_on_error=_as_bool(props.get("BisectBatchOnFunctionError"), default=False),
            report_batch_item_failures="ReportBatchItemFailures"
            in (props.get("FunctionResponseTypes") or []),
            filters=_filters(props),
            on_failure=None
            if on_failure is None
            else _reference_or_literal(on_failure, f"{where}.DestinationConfig"),
            enabled=_as_bool(props.get("Enabled")),
        )
    if kind in {"Schedule", "ScheduleV2"}:
        resource = f"{function_id}{name}"
        expected = "AWS::Events::Rule" if kind == "Schedule" else "AWS::Scheduler::Schedule"
        if transformed["Resources"].get(resource, {}).get("Type") != expected:
            raise TemplateError(f"{where}: the transform did not create {expected} {resource}")
        expression = props.get("Schedule" if kind == "Schedule" else "ScheduleExpression")
        if not isinstance(expression, str):
            raise TemplateError(f"{where}: the schedule expression must be a literal string")
        state = props.get("State")
        enabled = _as_bool(props.get("Enabled")) and _as_bool(state)
        raw_input = props.get("Input")
        return ScheduleSource(
            name=name,
            kind=kind,
            expression=expression.strip(),
            resource=resource,
            input=None if raw_input is None else str(raw_input),
            timezone=props.get("ScheduleExpressionTimezone"),
            enabled=enabled,
        )
    if kind == "EventBridgeRule":
        rule = f"{function_id}{name}"
        if transformed["Resources"].get(rule, {}).get("Type") != "AWS::Events::Rule":
            raise TemplateError(f"{where}: the transform did not create AWS::Events::Rule {rule}")
        bus = props.get("EventBusName", "default")
        return EventBridgeRuleSource(
            name=name,
            pattern=dict(props.get("Pattern") or {}),
            event_bus=_reference_or_literal(bus, f"{where}.EventBusName"),
            rule=rule,
            shim_queue=f"{rule}{SHIM_QUEUE_SUFFIX}",
        )
    log.warning("%s: event type %s is not emulated by the local stack", where, kind)
    return UnemulatedSource(name=name, type=kind)


def _api_source(name: str, props: Mapping[str, Any]) -> ApiSource:
    method = str(props.get("Method", "")).upper()
    path = props.get("Path")
    if not method or not isinstance(path, str):
        raise TemplateError(f"Api event {name} needs a literal Path and Method")
    return ApiSource(name=name, path=path, method=method)


# ---------------------------------------------------------------- conditions


def resolve_conditions(template: Mapping[str, Any], params: Mapping[str, str]) -> dict[str, Any]:
    """``template`` with every condition that depends only on parameters decided.

    The local stack knows its parameter values before it deploys, and it must: a branch that
    is not taken may name a resource the local stack leaves out (the API's execute-api URL is
    the default of ``PublicBaseUrl``), and keeping it would drop whatever holds the ``Fn::If``.
    ``Fn::If`` takes its branch (``AWS::NoValue`` removes the key), resources whose ``Condition``
    is false go, and the decided conditions leave ``Conditions``. A condition that needs
    anything but parameters and literals is left for CloudFormation.
    """
    conditions: dict[str, Any] = dict(template.get("Conditions") or {})
    decided: dict[str, bool] = {}

    def value(node: Any) -> str | None:
        if isinstance(node, str):
            return node
        if isinstance(node, dict) and set(node) == {"Ref"} and node["Ref"] in params:
            return str(params[node["Ref"]])
        return None

    def decide(node: Any) -> bool | None:
        if not isinstance(node, dict) or len(node) != 1:
            return None
        ((fn, args),) = node.items()
        if fn == "Condition":
            return condition(args)
        if fn == "Fn::Equals":
            left, right = value(args[0]), value(args[1])
            return None if left is None or right is None else left == right
        parts = [decide(arg) for arg in args] if isinstance(args, list) else [None]
        if None in parts:
            return None
        if fn == "Fn::Not":
            return not parts[0]
        if fn == "Fn::And":
            return all(parts)
        if fn == "Fn::Or":
            return any(parts)
        return None

    def condition(name: str) -> bool | None:
        if name not in decided and name in conditions:
            verdict = decide(conditions[name])
            if verdict is None:
                return None
            decided[name] = verdict
        return decided.get(name)

    for name in conditions:
        condition(name)

    no_value = object()

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Fn::If"}:
                name, then, otherwise = node["Fn::If"]
                verdict = condition(name)
                if verdict is not None:
                    return rewrite(then if verdict else otherwise)
            if node == {"Ref": "AWS::NoValue"}:
                return no_value
            out = {}
            for key, item in node.items():
                new = rewrite(item)
                if new is not no_value:
                    out[key] = new
            return out
        if isinstance(node, list):
            return [new for new in (rewrite(item) for item in node) if new is not no_value]
        return node

    def kept(section: Mapping[str, Any]) -> dict[str, Any]:
        # Resources or outputs: those whose condition is false go, a true one is dropped.
        entries = {}
        for name, entry in section.items():
            verdict = decided.get(entry.get("Condition", ""))
            if verdict is not False:
                entries[name] = entry if verdict is None else _without(entry, "Condition")
        return entries

    # rewrite() builds every dict and list anew, so ``template`` is left as it was.
    resolved = dict(template)
    resolved["Resources"] = kept(resolved.get("Resources") or {})
    if "Outputs" in resolved:
        resolved["Outputs"] = kept(resolved["Outputs"] or {})
    resolved = rewrite(resolved)
    remaining = {name: c for name, c in conditions.items() if name not in decided}
    if remaining:
        resolved["Conditions"] = remaining
    else:
        resolved.pop("Conditions", None)
    return resolved


def _without(entry: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k != key}


# ---------------------------------------------------------------- the deployable template


def _deployable(
    transformed: Mapping[str, Any], functions: Mapping[str, FunctionSpec]
) -> tuple[dict[str, Any], dict[str, str]]:
    template = copy.deepcopy(dict(transformed))
    resources: dict[str, Any] = template["Resources"]
    removed: dict[str, str] = {}
    for logical_id, resource in resources.items():
        kind = resource["Type"]
        if kind.startswith("AWS::ApiGateway::"):
            removed[logical_id] = "API Gateway: the Chalice app is served by infra.local.api"
        elif kind == "AWS::Lambda::EventSourceMapping":
            removed[logical_id] = "event source mapping: polled by infra.local.runtime"
        elif kind == "AWS::Logs::SubscriptionFilter":
            removed[logical_id] = "log subscription: SNS in moto writes no SMS delivery logs"

    # Whatever only made sense next to a removed resource (the API's invoke permissions) goes too.
    changed = True
    while changed:
        changed = False
        for logical_id, resource in resources.items():
            if logical_id in removed:
                continue
            gone = sorted(referenced_ids(resource.get("Properties", {})) & removed.keys())
            if gone:
                removed[logical_id] = f"refers to removed {', '.join(gone)}"
                changed = True
    for logical_id in removed:
        del resources[logical_id]
    for resource in resources.values():
        depends = resource.get("DependsOn")
        if isinstance(depends, str):
            depends = [depends]
        if depends is not None:
            kept = [d for d in depends if d not in removed]
            if kept:
                resource["DependsOn"] = kept
            else:
                resource.pop("DependsOn")

    for spec in functions.values():
        for source in spec.events:
            if isinstance(source, EventBridgeRuleSource):
                _add_shim(resources, spec, source)
            elif isinstance(source, ScheduleSource) and source.kind == "Schedule":
                _drop_function_targets(resources, source.resource, spec.logical_id)

    outputs: dict[str, Any] = template.get("Outputs") or {}
    for name in list(outputs):
        gone = sorted(referenced_ids(outputs[name]) & removed.keys())
        if gone:
            removed[f"Outputs.{name}"] = f"refers to removed {', '.join(gone)}"
            del outputs[name]
    return template, removed


def _is_function_target(target: Mapping[str, Any], function_id: str) -> bool:
    return _target_id(target.get("Arn")) == function_id


def _drop_function_targets(resources: dict[str, Any], rule_id: str, function_id: str) -> None:
    # A rule without an event pattern matches every event on its bus in moto, which would then
    # try to invoke the function; the runner fires the schedule instead.
    props = resources[rule_id]["Properties"]
    props["Targets"] = [
        t for t in props.get("Targets", []) if not _is_function_target(t, function_id)
    ]
    if not props["Targets"]:
        del props["Targets"]


def _add_shim(resources: dict[str, Any], spec: FunctionSpec, source: EventBridgeRuleSource) -> None:
    function_id = spec.logical_id
    rule = resources[source.rule]["Properties"]
    retargeted = False
    for target in rule.get("Targets", []):
        if _is_function_target(target, function_id):
            target["Arn"] = {"Fn::GetAtt": [source.shim_queue, "Arn"]}
            retargeted = True
    if not retargeted:
        raise TemplateError(f"rule {source.rule} has no target pointing at {function_id}")
    resources[source.shim_queue] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            # A local stand-in for EventBridge's asynchronous invoke of the function.
            "MessageRetentionPeriod": 86400,
            "VisibilityTimeout": 6 * spec.timeout,
        },
    }
    resources[f"{source.rule}{SHIM_POLICY_SUFFIX}"] = {
        "Type": "AWS::SQS::QueuePolicy",
        "Properties": {
            "Queues": [{"Ref": source.shim_queue}],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "EventBridgeDelivers",
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": {"Fn::GetAtt": [source.shim_queue, "Arn"]},
                        "Condition": {
                            "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [source.rule, "Arn"]}}
                        },
                    }
                ],
            },
        },
    }
