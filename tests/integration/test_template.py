"""template.yaml is valid, transforms offline and deploys into moto with the declared properties.

The deployed stack is the one the local stack and the integration tests run on, so what this
module checks is what every local run relies on.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.api import lint_file
from moto import mock_aws

from infra.local.stack import DeployedStack, deploy_in_process
from infra.local.template import (
    DEFAULT_TEMPLATE,
    ApiSource,
    LocalTemplate,
    SqsSource,
    StreamSource,
    api_routes,
    load_template,
)

REGION = "us-east-1"
# Other integration fixtures may already hold template.yaml's stack in the same moto backend.
STACK_NAME = "linkstar-template-test"
# AWS-managed execution policies SAM attaches for logs, tracing and event source polling; they
# are AWS's own documents, not this template's statements.
AWS_MANAGED_EXECUTION_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole",
}
# Actions that support no resource-level permissions: AWS requires "*" for these.
STAR_ONLY_ACTIONS = {
    "cloudwatch:PutMetricData",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "ses:SendEmail",
    "ses:SendRawEmail",
    "sns:Publish",
}


@pytest.fixture(scope="module")
def template() -> LocalTemplate:
    return load_template(DEFAULT_TEMPLATE)


@pytest.fixture(scope="module")
def aws() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as env:
        env.delenv("AWS_ENDPOINT_URL", raising=False)
        env.delenv("AWS_PROFILE", raising=False)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_DEFAULT_REGION", REGION)
        env.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
        with mock_aws():
            yield


@pytest.fixture(scope="module")
def deployed(aws: None, template: LocalTemplate) -> DeployedStack:
    return deploy_in_process(REGION, template=template, stack_name=STACK_NAME)


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


# ---------------------------------------------------------------- the template itself


def test_cfn_lint_passes() -> None:
    # When: cfn-lint checks the template with its default rules
    matches = lint_file(Path(DEFAULT_TEMPLATE))

    # Then: it finds nothing
    assert [str(m) for m in matches] == []


def test_template_transforms_offline_into_functions_and_event_sources(
    template: LocalTemplate,
) -> None:
    # Then: every function is described from the SAM template
    ingest = template.functions["IngestFunction"]
    assert ingest.code_dir == "functions/ingest"
    assert ingest.handler == "app.handler"
    assert ingest.layer_dirs == ("layers/core",)
    queues = {e.queue: e for e in ingest.events if isinstance(e, SqsSource)}
    assert set(queues) == {"IngestQueue", "AmazonNotificationsQueue"}
    assert all(q.batch_size == 10 and q.report_batch_item_failures for q in queues.values())

    enrich = template.functions["EnrichFunction"]
    (requests,) = [e for e in enrich.events if isinstance(e, SqsSource)]
    assert requests.queue == "EnrichQueue" and requests.report_batch_item_failures

    publisher = template.functions["PublisherFunction"]
    (outbox,) = [e for e in publisher.events if isinstance(e, StreamSource)]
    assert outbox.table == "AppTable"
    assert outbox.starting_position == "TRIM_HORIZON"
    assert outbox.on_failure == "PublisherDLQ"
    assert outbox.filters, "the outbox stream must be filtered to event items"

    api = template.api_function()
    assert api is not None and api.logical_id == "ApiFunction"
    assert all(isinstance(e, ApiSource) for e in api.events)


def test_deployable_template_leaves_out_api_gateway_and_event_source_mappings(
    template: LocalTemplate,
) -> None:
    types = {r["Type"] for r in template.deployable["Resources"].values()}

    assert not any(t.startswith("AWS::ApiGateway::") for t in types)
    assert "AWS::Lambda::EventSourceMapping" not in types
    assert "ApiUrl" not in template.deployable.get("Outputs", {})
    assert template.removed["Outputs.ApiUrl"].startswith("refers to removed")


def test_api_routes_are_read_from_api_events(template: LocalTemplate) -> None:
    routes = api_routes()

    assert ("GET", "/health") in routes
    assert ("POST", "/webhooks/{platform}/{store_id}") in routes
    assert routes == template.api_routes()


def test_functions_are_arm64_in_the_template_cloudformation_receives(
    template: LocalTemplate,
) -> None:
    # moto cannot record Architectures, so this is checked where AWS reads it.
    functions = [
        r for r in template.deployable["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
    ]
    assert functions
    assert all(f["Properties"].get("Architectures") == ["arm64"] for f in functions)


# ---------------------------------------------------------------- deployed into moto


def test_stack_deploys_with_nothing_left_out(deployed: DeployedStack) -> None:
    assert deployed.skipped == {}
    for logical_id in ("AppTable", "IdempotencyTable", "IngestQueue", "IngestDLQ", "EventBus"):
        assert deployed.resources[logical_id]


def test_app_table_has_declared_keys_stream_ttl_and_backups(deployed: DeployedStack) -> None:
    dynamodb = client("dynamodb")
    name = deployed.resources["AppTable"]

    table = dynamodb.describe_table(TableName=name)["Table"]

    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {
        "pk": "HASH",
        "sk": "RANGE",
    }
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["gsi1", "gsi2"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert table["LatestStreamArn"]
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    pitr = backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]
    assert pitr == "ENABLED"


def test_idempotency_table_expires_records(deployed: DeployedStack) -> None:
    dynamodb = client("dynamodb")
    name = deployed.resources["IdempotencyTable"]

    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]

    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiration"}


@pytest.mark.parametrize(
    ("function", "queue", "dlq"),
    [
        ("IngestFunction", "IngestQueue", "IngestDLQ"),
        ("IngestFunction", "AmazonNotificationsQueue", "AmazonNotificationsDLQ"),
        ("EnrichFunction", "EnrichQueue", "EnrichDLQ"),
        ("ImportFunction", "ImportQueue", "ImportDLQ"),
        ("CostsFunction", "CostsQueue", "CostsDLQ"),
        ("FlowsFunction", "FlowQueue", "FlowDLQ"),
        ("SenderFunction", "EmailQueue", "EmailDLQ"),
        ("SenderFunction", "SmsQueue", "SmsDLQ"),
        ("SenderFunction", "WhatsAppQueue", "WhatsAppDLQ"),
        ("SenderFunction", "InAppQueue", "InAppDLQ"),
        ("FeedbackFunction", "FeedbackQueue", "FeedbackDLQ"),
    ],
)
def test_work_queues_redrive_to_a_dlq_and_outlast_their_function(
    deployed: DeployedStack, template: LocalTemplate, function: str, queue: str, dlq: str
) -> None:
    sqs = client("sqs")
    attributes = sqs.get_queue_attributes(
        QueueUrl=deployed.resources[queue], AttributeNames=["All"]
    )["Attributes"]
    dlq_arn = sqs.get_queue_attributes(
        QueueUrl=deployed.resources[dlq], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]

    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq_arn
    # The function parks a message with its reason on the queue's last attempt: it must know
    # which attempt that is.
    env = deployed.function_env(function)
    assert int(redrive["maxReceiveCount"]) == int(env.get("MAX_RECEIVE_COUNT", "5"))
    # AWS's rule for a Lambda event source: at least six times the function's timeout.
    assert int(attributes["VisibilityTimeout"]) >= 6 * template.functions[function].timeout


def test_event_bus_and_outputs_resolve_to_real_names(deployed: DeployedStack) -> None:
    buses = {b["Name"] for b in client("events").list_event_buses()["EventBuses"]}

    assert deployed.outputs["EventBusName"] in buses
    assert deployed.resources["EventBus"] == deployed.outputs["EventBusName"]
    assert deployed.function_env("PublisherFunction")["EVENT_BUS_NAME"] in buses
    assert deployed.outputs["AppTableName"] == deployed.resources["AppTable"]


def test_admin_token_secret_is_generated_as_declared(deployed: DeployedStack) -> None:
    arn = deployed.resources["AdminTokenSecret"]

    token = client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]

    assert len(token) == 48 and token.isalnum()
    assert deployed.function_env("ApiFunction")["ADMIN_TOKEN_SECRET_ARN"] == arn


def test_dlq_alarm_watches_the_ingest_dlq(deployed: DeployedStack) -> None:
    queue_name = deployed.resources["IngestDLQ"].rsplit("/", 1)[1]

    (alarm,) = client("cloudwatch").describe_alarms(
        AlarmNames=[deployed.resources["IngestDLQAlarm"]]
    )["MetricAlarms"]

    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": queue_name}]
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"


def test_raw_deliveries_bucket_is_private_encrypted_and_expires(deployed: DeployedStack) -> None:
    s3 = client("s3")
    bucket = deployed.resources["RawDeliveriesBucket"]

    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    (rule,) = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]

    assert all(block.values())
    assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
    assert rule["Expiration"]["Days"] == 30


def test_the_media_bucket_lets_a_browser_post_an_upload(deployed: DeployedStack) -> None:
    # moto ignores a bucket's CorsConfiguration in CloudFormation; the local stack applies it
    (rule,) = client("s3").get_bucket_cors(Bucket=deployed.resources["MediaBucket"])["CORSRules"]

    assert rule["AllowedMethods"] == ["POST"]
    assert rule["AllowedOrigins"] == ["*"]
    assert rule["MaxAgeSeconds"] == 3000
    assert rule["ID"] == "presigned-post-uploads"


def test_functions_get_resolved_environment_and_the_core_layer(
    deployed: DeployedStack, template: LocalTemplate
) -> None:
    env = deployed.function_env("ApiFunction")
    assert env["TABLE_NAME"] == deployed.resources["AppTable"]
    assert env["INGEST_QUEUE_URL"] == deployed.resources["IngestQueue"]

    lambda_client = client("lambda")
    for logical_id in template.functions:
        config = lambda_client.get_function_configuration(
            FunctionName=deployed.function_name(logical_id)
        )
        assert [layer["Arn"] for layer in config["Layers"]] == [deployed.resources["CoreLayer"]]


def _stack_arns(deployed: DeployedStack) -> set[str]:
    arns: set[str] = set()
    sqs, dynamodb = client("sqs"), client("dynamodb")
    for physical in deployed.resources.values():
        if physical.startswith("arn:"):
            arns.add(physical)
        elif physical.startswith("https://sqs."):
            attributes = sqs.get_queue_attributes(QueueUrl=physical, AttributeNames=["QueueArn"])
            arns.add(attributes["Attributes"]["QueueArn"])
    for table in dynamodb.list_tables()["TableNames"]:
        if table in deployed.resources.values():
            arns.add(dynamodb.describe_table(TableName=table)["Table"]["TableArn"])
    for bucket in client("s3").list_buckets()["Buckets"]:
        if bucket["Name"] in deployed.resources.values():
            arns.add(f"arn:aws:s3:::{bucket['Name']}")
    bus = deployed.resources["EventBus"]
    arns.add(f"arn:aws:events:{deployed.region}:{deployed.account_id}:event-bus/{bus}")
    # Per-store credentials are created at run time, under a prefix named after the stack.
    arns.add(
        f"arn:aws:secretsmanager:{deployed.region}:{deployed.account_id}"
        f":secret:linkstar/{deployed.stack_name}"
    )
    return arns


def _belongs_to(resource: str, arns: set[str]) -> bool:
    # Sub-resources (an index, a stream, objects in a bucket) hang off their parent's ARN.
    return any(resource == arn or resource.startswith(f"{arn}/") for arn in arns)


def _origination_identities(deployed: DeployedStack) -> set[str]:
    # MMS numbers and pools are bought and registered outside any stack: a sender may name this
    # account's in this region, nothing wider.
    base = f"arn:aws:sms-voice:{deployed.region}:{deployed.account_id}"
    return {f"{base}:phone-number/*", f"{base}:pool/*"}


def test_function_policies_name_only_this_stacks_resources(
    deployed: DeployedStack, template: LocalTemplate
) -> None:
    iam = client("iam")
    stack_arns = _stack_arns(deployed)
    outside = _origination_identities(deployed)
    checked = 0
    for logical_id in template.functions:
        role = deployed.resources[f"{logical_id}Role"]
        attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
        assert {p["PolicyArn"] for p in attached} <= AWS_MANAGED_EXECUTION_POLICIES
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
            if isinstance(document, str):
                # moto keeps a CloudFormation role's inline policy as the Python repr of a dict.
                document = ast.literal_eval(document)
            for statement in document["Statement"]:
                actions = statement["Action"]
                actions = [actions] if isinstance(actions, str) else actions
                resources = statement["Resource"]
                resources = [resources] if isinstance(resources, str) else resources
                for resource in resources:
                    checked += 1
                    if resource == "*":
                        assert set(actions) <= STAR_ONLY_ACTIONS, (logical_id, statement)
                    elif resource not in outside:
                        assert _belongs_to(resource, stack_arns), (logical_id, resource)
    assert checked > 0


# ---------------------------------------------------------------- moto's gaps


def test_resources_moto_cannot_create_are_left_out_with_a_reason(tmp_path: Path) -> None:
    # Given: a template with a resource type moto's CloudFormation does not implement
    (tmp_path / "template.yaml").write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\n"
        "Resources:\n"
        "  Queue:\n"
        "    Type: AWS::SQS::Queue\n"
        "  Workflow:\n"
        "    Type: AWS::AppFlow::Flow\n"
        "    Properties: {}\n",
        encoding="utf-8",
    )

    # When: it is deployed
    with pytest.MonkeyPatch.context() as env:
        env.delenv("AWS_ENDPOINT_URL", raising=False)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        with mock_aws():
            stack = deploy_in_process(
                REGION, template=tmp_path / "template.yaml", stack_name="unsupported-types"
            )

    # Then: the rest deploys and the unsupported resource is reported, not faked
    assert stack.resources["Queue"]
    assert "Workflow" not in stack.resources
    assert "not supported by moto" in stack.skipped["Workflow"]


def test_public_base_url_defaults_to_the_execute_api_url_in_aws_and_a_local_host_here(
    template: LocalTemplate, deployed: DeployedStack
) -> None:
    # Given: the template as written (SAM passes a function's Environment through unchanged)
    from infra.local.template import parse_template

    sam = parse_template(DEFAULT_TEMPLATE)
    flows_env = sam["Resources"]["FlowsFunction"]["Properties"]["Environment"]
    # Then: in AWS an empty PublicBaseUrl means the stack's own API, never a relative link
    condition, given, default = flows_env["Variables"]["PUBLIC_BASE_URL"]["Fn::If"]
    assert condition == "HasPublicBaseUrl"
    assert given == {"Ref": "PublicBaseUrl"}
    assert "${ServerlessRestApi}.execute-api" in default["Fn::Sub"]
    # And: the local stack decided the condition and kept the function that holds it
    assert "FlowsFunction" in template.functions
    assert deployed.function_env("FlowsFunction")["PUBLIC_BASE_URL"].startswith("http://")


def test_sms_delivery_status_logs_reach_the_feedback_function() -> None:
    # Given: the template for the first stack in an account, which creates SNS's log groups
    first = load_template(DEFAULT_TEMPLATE, {"SmsStatusLogGroups": "create"})
    resources = first.deployable["Resources"]
    # Then: both groups SNS writes to exist, and each has a subscription to the feedback
    # function (which the local stack leaves out: moto's SNS writes no delivery logs)
    names = {
        resources[lid]["Properties"]["LogGroupName"]["Fn::Sub"]
        for lid in ("SmsDeliveredLogGroup", "SmsFailedLogGroup")
    }
    assert names == {
        "sns/${AWS::Region}/${AWS::AccountId}/DirectPublishToPhoneNumber",
        "sns/${AWS::Region}/${AWS::AccountId}/DirectPublishToPhoneNumber/Failure",
    }
    subscriptions = [lid for lid, why in first.removed.items() if "log subscription" in why]
    assert sorted(subscriptions) == ["FeedbackFunctionSmsDelivered", "FeedbackFunctionSmsFailed"]
    # And: a later stack subscribes to the existing groups instead of creating them
    later = load_template(DEFAULT_TEMPLATE, {"SmsStatusLogGroups": "existing"})
    assert "SmsDeliveredLogGroup" not in later.deployable["Resources"]
