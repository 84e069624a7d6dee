"""Deploys template.yaml into moto and describes what came out: the local stack's AWS side.

``deploy`` creates the code bucket and placeholder code objects, then the CloudFormation stack
built by ``infra.local.template``, and returns a ``DeployedStack`` (physical ids, outputs and each
function's environment exactly as moto resolved it). It works against a moto server (clients with
``endpoint_url``) and inside ``moto.mock_aws()``; ``deploy_in_process`` is the shortcut for tests
that want the real tables and queues of template.yaml without a server.

moto's CloudFormation does not implement everything template.yaml uses. Each gap is handled here,
found by deploying the template and reading moto's source (moto 5.2.x):

* ``AWS::SecretsManager::Secret`` and ``AWS::Lambda::LayerVersion`` - no (or no usable) support:
  moto skips the secret and publishes layers under their logical id with no physical id to
  ``Ref``. Both are created through their service APIs *before* the stack (with CloudFormation's
  naming and ``GenerateSecretString`` semantics) and every ``Ref`` to them is replaced by the ARN.
* ``AWS::CloudWatch::Alarm``, ``AWS::SQS::QueuePolicy``, ``AWS::Scheduler::Schedule`` and the
  SES identity, configuration set and event destination - not supported: created through their
  APIs *after* the stack (SES through moto's v1 API, which is where its sesv2 ``SendEmail``
  looks for verified identities), with their intrinsic functions resolved by moto itself
  through extra stack outputs.
* ``Ref`` to an ``AWS::Events::EventBus`` yields a Python object instead of the bus name, so those
  refs become ``!GetAtt Bus.Name``.
* Properties moto's CloudFormation ignores but its APIs accept are applied after the stack: table
  TTL and point-in-time recovery, bucket public access block, lifecycle and versioning, function
  layers. Function ``Architectures`` and ``TracingConfig`` cannot be set on an existing function
  in moto, so moto reports x86_64 and PassThrough; the template's values are what AWS deploys.
* Any other resource type moto cannot create is left out with a logged reason
  (``DeployedStack.skipped``) rather than silently "created" empty.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import secrets
import string
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from infra.local.template import (
    CODE_BUCKET,
    DEFAULT_STACK_NAME,
    DEFAULT_TEMPLATE,
    LocalTemplate,
    TemplateError,
    load_template,
    referenced_ids,
)

log = logging.getLogger(__name__)

HIDDEN_OUTPUT_PREFIX = "LinkStarLocalResolve"
STACK_TIMEOUT_SECONDS = 120

# Created through their API before the stack, because other resources Ref them.
PRE_CREATED = {"AWS::SecretsManager::Secret", "AWS::Lambda::LayerVersion"}
# Created through their API after the stack; nothing in the template may Ref them.
POST_CREATED = {
    "AWS::CloudWatch::Alarm",
    "AWS::SQS::QueuePolicy",
    "AWS::Scheduler::Schedule",
    "AWS::SES::EmailIdentity",
    "AWS::SES::ConfigurationSet",
    "AWS::SES::ConfigurationSetEventDestination",
}
# Ref resolves to a model object in moto; the attribute that Ref means in CloudFormation.
REF_AS_ATTRIBUTE = {"AWS::Events::EventBus": "Name"}

ClientFactory = Callable[[str], BaseClient]


class DeployError(RuntimeError):
    """The stack did not reach CREATE_COMPLETE, or came out unusable."""


@dataclass
class DeployedStack:
    """What the local stack's CloudFormation stack turned into."""

    stack_name: str
    region: str
    account_id: str
    resources: dict[str, str]
    """Logical id -> physical id (queue URL, table name, function name, secret ARN, ...)."""
    outputs: dict[str, str]
    functions: dict[str, dict[str, str]]
    """Function logical id -> its environment variables as moto resolved them."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Logical id -> why it is not in the local stack at all."""

    def function_env(self, logical_id: str) -> dict[str, str]:
        try:
            return dict(self.functions[logical_id])
        except KeyError:
            raise KeyError(f"no function {logical_id!r} in stack {self.stack_name}") from None

    def function_name(self, logical_id: str) -> str:
        return self.resources[logical_id]

    def function_arn(self, logical_id: str) -> str:
        name = self.function_name(logical_id)
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{name}"

    @contextlib.contextmanager
    def function_environment(self, logical_id: str) -> Iterator[dict[str, str]]:
        """Run a block with ``os.environ`` set as the function would see it, then restore it."""
        env = self.function_env(logical_id)
        saved = {name: os.environ.get(name) for name in env}
        os.environ.update(env)
        try:
            yield env
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeployedStack:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})


# ---------------------------------------------------------------- public entry points


def deploy(
    cfn_client: BaseClient,
    s3_client: BaseClient,
    *,
    template: LocalTemplate | Path | str = DEFAULT_TEMPLATE,
    stack_name: str = DEFAULT_STACK_NAME,
    parameters: Mapping[str, str] | None = None,
    client_factory: ClientFactory | None = None,
) -> DeployedStack:
    """Create template.yaml's stack wherever ``cfn_client`` points (moto server or mock_aws)."""
    region = cfn_client.meta.region_name
    if not isinstance(template, LocalTemplate):
        template = load_template(template, parameters, region=region)
    clients = client_factory or _clients_like(cfn_client)
    account_id = clients("sts").get_caller_identity()["Account"]

    _upload_placeholders(s3_client, template, region)
    plan = _MotoPlan(template.deployable, stack_name, region, account_id, template.parameters)
    created_before = plan.create_pre(clients)

    cfn_client.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(plan.cfn_template),
        Parameters=[
            {"ParameterKey": key, "ParameterValue": value}
            for key, value in template.parameters.items()
            if key in (template.deployable.get("Parameters") or {})
        ],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    stack = _wait_for_create(cfn_client, stack_name)
    resources = {**created_before, **_stack_resources(cfn_client, stack_name)}
    all_outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    resolved = {k: v for k, v in all_outputs.items() if k.startswith(HIDDEN_OUTPUT_PREFIX)}
    outputs = {k: v for k, v in all_outputs.items() if k not in resolved}
    resources.update(plan.physical_ids_from(resolved))
    for layer in template.layers.values():
        # Callers think in template.yaml's ids, not the transform's hashed layer ids.
        if layer.transformed_id in resources:
            resources[layer.logical_id] = resources[layer.transformed_id]
    resources.update(plan.create_post(clients, resolved))
    plan.reconcile(clients, resources)

    lambda_client = clients("lambda")
    functions = {
        logical_id: dict(
            lambda_client.get_function_configuration(FunctionName=resources[logical_id])
            .get("Environment", {})
            .get("Variables", {})
        )
        for logical_id in template.functions
    }
    deployed = DeployedStack(
        stack_name=stack_name,
        region=region,
        account_id=account_id,
        resources=resources,
        outputs=outputs,
        functions=functions,
        skipped=dict(plan.skipped),
    )
    _check_resolved(deployed)
    return deployed


def deploy_in_process(
    region: str = "us-east-1",
    template: LocalTemplate | Path | str = DEFAULT_TEMPLATE,
    stack_name: str = DEFAULT_STACK_NAME,
    parameters: Mapping[str, str] | None = None,
) -> DeployedStack:
    """Deploy into the moto backend of the current process; call it inside ``mock_aws()``.

    Integration tests use it to get template.yaml's tables, queues and bus, then run handlers
    with ``DeployedStack.function_env(...)`` or ``DeployedStack.function_environment(...)``.
    """
    # mock_aws only intercepts requests to AWS endpoints, and a stream ARN needs no account
    # endpoint: without these two, calls escape to a local server or fail on endpoint rules.
    if os.environ.get("AWS_ENDPOINT_URL"):
        raise DeployError("unset AWS_ENDPOINT_URL: mock_aws ignores calls sent to an endpoint")
    os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")

    def clients(service: str) -> BaseClient:
        return boto3.client(service, region_name=region)

    return deploy(
        clients("cloudformation"),
        clients("s3"),
        template=template,
        stack_name=stack_name,
        parameters=parameters,
        client_factory=clients,
    )


# ---------------------------------------------------------------- helpers


def _clients_like(cfn_client: BaseClient) -> ClientFactory:
    endpoint = cfn_client.meta.endpoint_url
    region = cfn_client.meta.region_name
    custom = endpoint if "amazonaws.com" not in endpoint else None

    def clients(service: str) -> BaseClient:
        return boto3.client(service, region_name=region, endpoint_url=custom)

    return clients


def placeholder_zip(code_dir: str) -> bytes:
    """A stand-in for the built package: the local stack runs code from the working tree."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("LOCAL_STACK.txt", f"Runs from {code_dir} in the repository.\n")
    return buffer.getvalue()


def _upload_placeholders(s3_client: BaseClient, template: LocalTemplate, region: str) -> None:
    try:
        if region == "us-east-1":
            s3_client.create_bucket(Bucket=CODE_BUCKET)
        else:
            s3_client.create_bucket(
                Bucket=CODE_BUCKET, CreateBucketConfiguration={"LocationConstraint": region}
            )
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
            raise
    dirs = {spec.logical_id: spec.code_dir for spec in template.functions.values()}
    dirs.update({layer.logical_id: layer.content_dir for layer in template.layers.values()})
    for logical_id, key in template.code_objects.items():
        s3_client.put_object(
            Bucket=CODE_BUCKET, Key=key, Body=placeholder_zip(dirs.get(logical_id, logical_id))
        )


def _wait_for_create(cfn_client: BaseClient, stack_name: str) -> dict[str, Any]:
    deadline = time.monotonic() + STACK_TIMEOUT_SECONDS
    while True:
        stack: dict[str, Any] = cfn_client.describe_stacks(StackName=stack_name)["Stacks"][0]
        status = stack["StackStatus"]
        if status == "CREATE_COMPLETE":
            return stack
        if not status.endswith("IN_PROGRESS") or time.monotonic() > deadline:
            reasons = [
                f"{event['LogicalResourceId']} ({event['ResourceType']}): "
                f"{event.get('ResourceStatusReason', 'no reason given')}"
                for event in cfn_client.describe_stack_events(StackName=stack_name)["StackEvents"]
                if "FAILED" in event.get("ResourceStatus", "")
            ]
            detail = "; ".join(reasons) or stack.get("StackStatusReason", "no reason given")
            raise DeployError(f"stack {stack_name} ended in {status}: {detail}")
        time.sleep(0.2)


def _stack_resources(cfn_client: BaseClient, stack_name: str) -> dict[str, str]:
    resources: dict[str, str] = {}
    kwargs: dict[str, Any] = {"StackName": stack_name}
    while True:
        page = cfn_client.list_stack_resources(**kwargs)
        for summary in page["StackResourceSummaries"]:
            if summary.get("PhysicalResourceId"):
                resources[summary["LogicalResourceId"]] = summary["PhysicalResourceId"]
        if not page.get("NextToken"):
            return resources
        kwargs["NextToken"] = page["NextToken"]


def _check_resolved(deployed: DeployedStack) -> None:
    # A moto model leaking through Ref shows up as its repr; catch it here, not in a handler.
    leaks = [
        f"{where}: {value}"
        for where, value in [
            *[(f"Outputs.{k}", v) for k, v in deployed.outputs.items()],
            *[
                (f"{fn}.{name}", value)
                for fn, env in deployed.functions.items()
                for name, value in env.items()
            ],
        ]
        if "<moto." in value
    ]
    if leaks:
        raise DeployError("moto left intrinsic functions unresolved: " + "; ".join(leaks))


def _is_intrinsic(node: Any) -> bool:
    return (
        isinstance(node, dict)
        and len(node) == 1
        and next(iter(node)) in {"Ref", "Fn::GetAtt", "Fn::Sub", "Fn::Join", "Fn::Select"}
    )


def _replace_refs(node: Any, replace: Callable[[dict[str, Any]], Any]) -> Any:
    """Rebuild ``node`` with every intrinsic passed through ``replace`` (which may return it)."""
    if _is_intrinsic(node):
        return replace(node)
    if isinstance(node, dict):
        return {key: _replace_refs(value, replace) for key, value in node.items()}
    if isinstance(node, list):
        return [_replace_refs(item, replace) for item in node]
    return node


def _cfn_suffix(length: int = 12) -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


class _MotoPlan:
    """The deployable template, split into what moto's CloudFormation creates and the rest."""

    def __init__(
        self,
        deployable: Mapping[str, Any],
        stack_name: str,
        region: str,
        account_id: str,
        parameters: Mapping[str, str],
    ) -> None:
        from moto.cloudformation.parsing import get_model_map

        self.stack_name = stack_name
        self.region = region
        self.account_id = account_id
        self.parameters = dict(parameters)
        self.original: dict[str, Any] = json.loads(json.dumps(deployable))
        self.cfn_template: dict[str, Any] = json.loads(json.dumps(deployable))
        self.skipped: dict[str, str] = {}
        self.pre: dict[str, dict[str, Any]] = {}
        self.post: dict[str, dict[str, Any]] = {}
        self._hidden: dict[str, Any] = {}
        self._physical_from_output: dict[str, str] = {}

        resources: dict[str, Any] = self.cfn_template["Resources"]
        supported = set(get_model_map())
        for logical_id, resource in list(resources.items()):
            kind = resource["Type"]
            if kind in PRE_CREATED:
                self.pre[logical_id] = resources.pop(logical_id)
            elif kind in POST_CREATED:
                self.post[logical_id] = resources.pop(logical_id)
            elif kind not in supported:
                reason = f"{kind} is not supported by moto's CloudFormation"
                log.warning("local stack leaves out %s: %s", logical_id, reason)
                self.skipped[logical_id] = reason
                resources.pop(logical_id)

        ref_attribute = {
            lid: REF_AS_ATTRIBUTE[r["Type"]]
            for lid, r in resources.items()
            if r["Type"] in REF_AS_ATTRIBUTE
        }

        def fix_ref(node: dict[str, Any]) -> Any:
            target = node.get("Ref")
            if isinstance(target, str) and target in ref_attribute:
                return {"Fn::GetAtt": [target, ref_attribute[target]]}
            if isinstance(node.get("Fn::Sub"), str):
                text = node["Fn::Sub"]
                for lid, attribute in ref_attribute.items():
                    text = text.replace("${" + lid + "}", "${" + f"{lid}.{attribute}" + "}")
                return {"Fn::Sub": text}
            return {key: _replace_refs(value, fix_ref) for key, value in node.items()}

        self.cfn_template = _replace_refs(self.cfn_template, fix_ref)
        self.post = _replace_refs(self.post, fix_ref)
        for logical_id, attribute in ref_attribute.items():
            name = self._hide({"Fn::GetAtt": [logical_id, attribute]})["LocalResolved"]
            self._physical_from_output[logical_id] = name

        gone = set(self.skipped) | set(self.post)
        for logical_id, resource in self.cfn_template["Resources"].items():
            needed = sorted(referenced_ids(resource) & gone)
            if needed:
                raise TemplateError(
                    f"{logical_id} refers to {', '.join(needed)}, which the local stack cannot "
                    "create before it"
                )
        outputs = self.cfn_template.get("Outputs") or {}
        for name in list(outputs):
            if referenced_ids(outputs[name]) & gone:
                self.skipped[f"Outputs.{name}"] = "refers to a resource created outside the stack"
                del outputs[name]
        # Post-created resources are described with placeholders that moto resolves as outputs.
        self.post = {
            lid: _replace_refs(resource, self._hide) for lid, resource in self.post.items()
        }
        if self._hidden:
            self.cfn_template.setdefault("Outputs", {}).update(
                {name: {"Value": value} for name, value in self._hidden.items()}
            )

    # ------------------------------------------------------------ placeholders

    def _hide(self, node: dict[str, Any]) -> dict[str, str]:
        name = f"{HIDDEN_OUTPUT_PREFIX}{len(self._hidden)}"
        self._hidden[name] = node
        return {"LocalResolved": name}

    @staticmethod
    def _resolve(node: Any, resolved: Mapping[str, str]) -> Any:
        if isinstance(node, dict):
            if set(node) == {"LocalResolved"}:
                return resolved[node["LocalResolved"]]
            return {key: _MotoPlan._resolve(value, resolved) for key, value in node.items()}
        if isinstance(node, list):
            return [_MotoPlan._resolve(item, resolved) for item in node]
        return node

    def physical_ids_from(self, resolved: Mapping[str, str]) -> dict[str, str]:
        return {lid: resolved[name] for lid, name in self._physical_from_output.items()}

    # ------------------------------------------------------------ before the stack

    def _static(self, node: Any, where: str) -> Any:
        """Resolve parameters and pseudo parameters; resources do not exist yet."""
        pseudo = {
            "AWS::StackName": self.stack_name,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            **self.parameters,
        }

        def resolve(value: dict[str, Any]) -> Any:
            if "Ref" in value and value["Ref"] in pseudo:
                return pseudo[value["Ref"]]
            if "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
                text = value["Fn::Sub"]
                for name, replacement in pseudo.items():
                    text = text.replace("${" + name + "}", replacement)
                if "${" not in text:
                    return text
            if "Fn::Join" in value:
                sep, parts = value["Fn::Join"]
                return sep.join(str(self._static(p, where)) for p in parts)
            raise TemplateError(f"{where}: cannot resolve {value} before the stack exists")

        return _replace_refs(node, resolve)

    def create_pre(self, clients: ClientFactory) -> dict[str, str]:
        physical: dict[str, str] = {}
        for logical_id, resource in self.pre.items():
            props = self._static(resource.get("Properties", {}), logical_id)
            if resource["Type"] == "AWS::SecretsManager::Secret":
                physical[logical_id] = self._create_secret(clients, logical_id, props)
            else:
                physical[logical_id] = self._publish_layer(clients, logical_id, props)
        arns = dict(physical)

        def substitute(node: dict[str, Any]) -> Any:
            target = node.get("Ref")
            if isinstance(target, str) and target in arns:
                return arns[target]
            if "Fn::GetAtt" in node and referenced_ids(node) & arns.keys():
                raise TemplateError(f"the local stack cannot GetAtt a pre-created resource: {node}")
            if isinstance(node.get("Fn::Sub"), str):
                text = node["Fn::Sub"]
                for lid, arn in arns.items():
                    text = text.replace("${" + lid + "}", arn)
                return {"Fn::Sub": text}
            return {key: _replace_refs(value, substitute) for key, value in node.items()}

        self.cfn_template = _replace_refs(self.cfn_template, substitute)
        self.post = _replace_refs(self.post, substitute)
        return physical

    def _create_secret(self, clients: ClientFactory, logical_id: str, props: dict[str, Any]) -> str:
        client = clients("secretsmanager")
        generate = props.get("GenerateSecretString")
        if "SecretString" in props:
            value = str(props["SecretString"])
        elif generate is not None:
            options = {
                key: generate[key]
                for key in (
                    "PasswordLength",
                    "ExcludeCharacters",
                    "ExcludeNumbers",
                    "ExcludePunctuation",
                    "ExcludeUppercase",
                    "ExcludeLowercase",
                    "IncludeSpace",
                    "RequireEachIncludedType",
                )
                if key in generate
            }
            password = client.get_random_password(**options)["RandomPassword"]
            if "SecretStringTemplate" in generate:
                document = json.loads(generate["SecretStringTemplate"])
                document[generate["GenerateStringKey"]] = password
                value = json.dumps(document)
            else:
                value = password
        else:
            raise TemplateError(
                f"{logical_id}: a secret needs SecretString or GenerateSecretString"
            )
        request: dict[str, Any] = {
            # CloudFormation's own naming for a secret without a Name.
            "Name": props.get("Name") or f"{logical_id}-{_cfn_suffix()}",
            "SecretString": value,
        }
        for key in ("Description", "KmsKeyId", "Tags"):
            if key in props:
                request[key] = props[key]
        return str(client.create_secret(**request)["ARN"])

    def _publish_layer(self, clients: ClientFactory, logical_id: str, props: dict[str, Any]) -> str:
        request: dict[str, Any] = {
            "LayerName": props.get("LayerName") or logical_id,
            "Content": props["Content"],
        }
        for key in ("Description", "CompatibleRuntimes", "CompatibleArchitectures", "LicenseInfo"):
            if key in props:
                request[key] = props[key]
        return str(clients("lambda").publish_layer_version(**request)["LayerVersionArn"])

    # ------------------------------------------------------------ after the stack

    def create_post(self, clients: ClientFactory, resolved: Mapping[str, str]) -> dict[str, str]:
        physical: dict[str, str] = {}
        # A configuration set must exist before its event destination (CloudFormation would
        # order them by the dependency; here they only share a name).
        ordered = sorted(
            self.post.items(),
            key=lambda pair: pair[1]["Type"] == "AWS::SES::ConfigurationSetEventDestination",
        )
        for logical_id, resource in ordered:
            props = self._resolve(resource.get("Properties", {}), resolved)
            kind = resource["Type"]
            if kind == "AWS::CloudWatch::Alarm":
                physical[logical_id] = self._put_alarm(clients, logical_id, props)
            elif kind == "AWS::SQS::QueuePolicy":
                sqs = clients("sqs")
                for queue_url in props["Queues"]:
                    sqs.set_queue_attributes(
                        QueueUrl=queue_url,
                        Attributes={"Policy": json.dumps(props["PolicyDocument"])},
                    )
                physical[logical_id] = f"{self.stack_name}-{logical_id}"
            elif kind == "AWS::Scheduler::Schedule":
                physical[logical_id] = self._create_schedule(clients, logical_id, props)
            elif kind.startswith("AWS::SES::"):
                physical[logical_id] = self._create_ses(clients, kind, props)
        return physical

    def _create_ses(self, clients: ClientFactory, kind: str, props: dict[str, Any]) -> str:
        # SES names are per account and region, not per stack: a second local deploy of the
        # same stack name (tests do this) finds them already there, as a redeploy would.
        with contextlib.suppress(ClientError):
            return self._create_ses_once(clients, kind, props)
        return self._ses_arn(kind, props)

    def _ses_arn(self, kind: str, props: dict[str, Any]) -> str:
        prefix = f"arn:aws:ses:{self.region}:{self.account_id}"
        if kind == "AWS::SES::EmailIdentity":
            return f"{prefix}:identity/{props['EmailIdentity']}"
        if kind == "AWS::SES::ConfigurationSet":
            return f"{prefix}:configuration-set/{props['Name']}"
        name, destination = props["ConfigurationSetName"], props["EventDestination"]["Name"]
        return f"{prefix}:configuration-set/{name}/event-destination/{destination}"

    def _create_ses_once(self, clients: ClientFactory, kind: str, props: dict[str, Any]) -> str:
        ses = clients("ses")
        prefix = f"arn:aws:ses:{self.region}:{self.account_id}"
        if kind == "AWS::SES::EmailIdentity":
            identity = str(props["EmailIdentity"])
            if "@" in identity:
                ses.verify_email_identity(EmailAddress=identity)
            else:
                ses.verify_domain_identity(Domain=identity)
            return f"{prefix}:identity/{identity}"
        if kind == "AWS::SES::ConfigurationSet":
            name = str(props["Name"])
            ses.create_configuration_set(ConfigurationSet={"Name": name})
            return f"{prefix}:configuration-set/{name}"
        name = str(props["ConfigurationSetName"])
        destination = props["EventDestination"]
        request: dict[str, Any] = {
            "Name": destination["Name"],
            "Enabled": str(destination.get("Enabled", "true")).lower() == "true",
            "MatchingEventTypes": destination["MatchingEventTypes"],
        }
        if "SnsDestination" in destination:
            request["SNSDestination"] = {"TopicARN": destination["SnsDestination"]["TopicARN"]}
        ses.create_configuration_set_event_destination(
            ConfigurationSetName=name, EventDestination=request
        )
        return f"{prefix}:configuration-set/{name}/event-destination/{destination['Name']}"

    def _put_alarm(self, clients: ClientFactory, logical_id: str, props: dict[str, Any]) -> str:
        request = dict(props)
        request.setdefault("AlarmName", f"{self.stack_name}-{logical_id}-{_cfn_suffix()}")
        # CloudFormation takes numbers as strings too; the API wants real numbers.
        for key in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
            if key in request:
                request[key] = int(request[key])
        if "Threshold" in request:
            request["Threshold"] = float(request["Threshold"])
        if "ActionsEnabled" in request:
            request["ActionsEnabled"] = str(request["ActionsEnabled"]).lower() == "true"
        clients("cloudwatch").put_metric_alarm(**request)
        return str(request["AlarmName"])

    def _create_schedule(
        self, clients: ClientFactory, logical_id: str, props: dict[str, Any]
    ) -> str:
        request = dict(props)
        request.setdefault("Name", f"{self.stack_name}-{logical_id}-{_cfn_suffix()}")
        clients("scheduler").create_schedule(**request)
        return str(request["Name"])

    def reconcile(self, clients: ClientFactory, resources: Mapping[str, str]) -> None:
        """Apply properties moto's CloudFormation accepts but ignores, through the service APIs."""
        for logical_id, resource in self.cfn_template["Resources"].items():
            if logical_id not in resources:
                continue
            physical = resources[logical_id]
            props = resource.get("Properties", {})
            kind = resource["Type"]
            if kind == "AWS::DynamoDB::Table":
                _reconcile_table(clients("dynamodb"), physical, props)
            elif kind == "AWS::S3::Bucket":
                _reconcile_bucket(clients("s3"), physical, props)
            elif kind == "AWS::Lambda::Function" and props.get("Layers"):
                layers = props["Layers"]
                if not all(isinstance(arn, str) for arn in layers):
                    raise TemplateError(f"{logical_id}: layers must resolve before the stack")
                clients("lambda").update_function_configuration(
                    FunctionName=physical, Layers=layers
                )


def _reconcile_table(dynamodb: BaseClient, table: str, props: Mapping[str, Any]) -> None:
    ttl = props.get("TimeToLiveSpecification")
    if ttl and str(ttl.get("Enabled", "false")).lower() == "true":
        dynamodb.update_time_to_live(
            TableName=table,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )
    pitr = props.get("PointInTimeRecoverySpecification")
    if pitr and str(pitr.get("PointInTimeRecoveryEnabled", "false")).lower() == "true":
        dynamodb.update_continuous_backups(
            TableName=table,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )


def _lifecycle_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    # CloudFormation's lifecycle rule is flatter than the S3 API's; translate the common fields.
    converted: dict[str, Any] = {"Status": rule["Status"]}
    if "Id" in rule:
        converted["ID"] = rule["Id"]
    converted["Filter"] = {"Prefix": rule.get("Prefix", "")}
    if "ExpirationInDays" in rule:
        converted["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "ExpirationDate" in rule:
        converted["Expiration"] = {"Date": rule["ExpirationDate"]}
    if "NoncurrentVersionExpirationInDays" in rule:
        converted["NoncurrentVersionExpiration"] = {
            "NoncurrentDays": int(rule["NoncurrentVersionExpirationInDays"])
        }
    if "AbortIncompleteMultipartUpload" in rule:
        converted["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": int(
                rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
            )
        }
    unsupported = set(rule) - {
        "Id",
        "Status",
        "Prefix",
        "ExpirationInDays",
        "ExpirationDate",
        "NoncurrentVersionExpirationInDays",
        "AbortIncompleteMultipartUpload",
    }
    if unsupported:
        log.warning(
            "lifecycle rule %s: %s not applied locally", rule.get("Id"), sorted(unsupported)
        )
    return converted


def _reconcile_bucket(s3: BaseClient, bucket: str, props: Mapping[str, Any]) -> None:
    block = props.get("PublicAccessBlockConfiguration")
    if block:
        s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                key: str(value).lower() == "true" for key, value in block.items()
            },
        )
    lifecycle = props.get("LifecycleConfiguration")
    if lifecycle:
        s3.put_bucket_lifecycle_configuration(
            Bucket=bucket,
            LifecycleConfiguration={"Rules": [_lifecycle_rule(r) for r in lifecycle["Rules"]]},
        )
    versioning = props.get("VersioningConfiguration")
    if versioning:
        s3.put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": versioning["Status"]}
        )
    cors = props.get("CorsConfiguration")
    if cors:
        # CloudFormation names three of a rule's keys differently from S3's API.
        renamed = {"Id": "ID", "MaxAge": "MaxAgeSeconds", "ExposedHeaders": "ExposeHeaders"}
        rules = [
            {renamed.get(k, k): int(v) if k == "MaxAge" else v for k, v in rule.items()}
            for rule in cors["CorsRules"]
        ]
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
