#!/usr/bin/env python3
"""Create the stateful part of infra/template.yaml in a local moto server.

Usage (with the project's virtual environment, see scripts/setup.sh):

    .venv/bin/moto_server -H 127.0.0.1 -p 45123 &
    .venv/bin/python scripts/localstack.py deploy --endpoint http://127.0.0.1:45123 \
        [--region eu-west-1] [--stack-name cmp-local] [--template infra/template.yaml] \
        [--parameter Environment=dev ...] [--out .local/stack.json]

What `deploy` does:

1. Loads the SAM template with its CloudFormation intrinsics (!Ref, !GetAtt, !Sub, ...)
   through cfn-lint's decoder, and derives a plain CloudFormation template from it: no
   `Transform`, no `Globals`, no `AWS::Serverless::*` resource, and no resource, output or
   condition that references a dropped resource (transitively: alarms on a function,
   anything referring to SAM-generated resources). Everything else is kept as declared.
   moto cannot deploy the SAM part (no Lambda without Docker, and its API Gateway support
   fails on SAM's generated API); the local runner plays the functions itself.
2. Creates that template as a stack through moto's CloudFormation API, or reuses the stack
   if it already exists and is CREATE_COMPLETE/UPDATE_COMPLETE. A failure prints the
   stack events and exits non-zero.
3. Closes the gaps of moto's CloudFormation (see EMULATOR GAPS below) through the service
   APIs, so the emulator holds what the template declares.
4. Prints JSON (to --out, else stdout) with the wiring the local runner needs:
   region, endpoint, stack_name, outputs (the stack's resolved Outputs), resources
   (logical id -> physical id) and functions: for every AWS::Serverless::Function of the
   original template, its binary (Metadata.BuildProperties.Binary), its environment
   (Globals merged with the function's own variables, intrinsics resolved against the
   created stack) and its events (HttpApi routes; Kinesis mappings with their settings,
   Lambda's defaults filled in).

EMULATOR GAPS (moto 5.2.5, as pinned in scripts/requirements-dev.txt)
- AWS::KMS::Key: a KeyPolicy given as an object is stored unserialised, and every later
  DescribeKey fails with HTTP 500. Fixed by writing the (moto-resolved) policy back as a
  JSON string with PutKeyPolicy.
- AWS::DynamoDB::Table: SSESpecification is read with the DynamoDB API's key name
  (`Enabled`) instead of CloudFormation's (`SSEEnabled`), so SSE is silently dropped; the
  emulator copy of the template gets `Enabled` next to `SSEEnabled`.
  TimeToLiveSpecification and PointInTimeRecoverySpecification are ignored; applied with
  UpdateTimeToLive and UpdateContinuousBackups.
- AWS::Kinesis::Stream: StreamEncryption is ignored; applied with StartStreamEncryption.
- AWS::SQS::Queue: the stack's physical id (and so `!Ref` in Outputs) is an AWS-style URL
  (https://sqs.<region>.amazonaws.com/...). moto accepts it through the endpoint, but the
  wiring's own queue URLs are the ones the emulator's GetQueueUrl returns.
- AWS::CloudWatch::Alarm: not supported by moto's CloudFormation (skipped with a warning,
  leaving a blank entry in the stack's resources). Alarms are taken out of the emulator
  stack and created with PutMetricAlarm (named `<stack>-<LogicalId>` unless AlarmName is
  set); they appear in `resources` like the others.
Every fix-up checks the current state first, so a reused stack is converged the same way.

The script talks only to the given endpoint, with fixed dummy credentials; it refuses
AWS's own endpoints.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import socket
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import botocore.parsers
import cfnlint.decode

SERVERLESS_PREFIX = "AWS::Serverless::"
PSEUDO_PARAMETERS = {
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
}
# Resource types moto's CloudFormation does not create: taken out of the emulator stack
# and created through the service API after it (see EMULATOR GAPS).
CREATED_OUTSIDE_STACK = {"AWS::CloudWatch::Alarm"}
COMPLETE = {"CREATE_COMPLETE", "UPDATE_COMPLETE"}
DUMMY_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

# Lambda's defaults for a Kinesis event source mapping, used where the template is silent.
KINESIS_DEFAULTS = {
    "BatchSize": 100,
    "MaximumBatchingWindowInSeconds": 0,
    "BisectBatchOnFunctionError": False,
    "MaximumRetryAttempts": -1,
    "MaximumRecordAgeInSeconds": -1,
    "ParallelizationFactor": 1,
}
KINESIS_KNOWN_PROPERTIES = {
    "Stream",
    "StartingPosition",
    "BatchSize",
    "MaximumBatchingWindowInSeconds",
    "BisectBatchOnFunctionError",
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "ParallelizationFactor",
    "FunctionResponseTypes",
    "DestinationConfig",
}
HTTP_API_KNOWN_PROPERTIES = {"ApiId", "Method", "Path"}
ALARM_API_PROPERTIES = [
    "AlarmName",
    "AlarmDescription",
    "ActionsEnabled",
    "OKActions",
    "AlarmActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "Unit",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "Metrics",
    "ThresholdMetricId",
]


class DeployError(Exception):
    """A failure to report to the user (no traceback)."""


class Unresolvable(Exception):
    """An intrinsic that cannot be resolved against the emulator stack."""


def log(message: str) -> None:
    print(f"localstack: {message}", file=sys.stderr)


# ---------------------------------------------------------------------------
# Template analysis
# ---------------------------------------------------------------------------


def load_template(path: Path) -> dict[str, Any]:
    """Load a CloudFormation/SAM template; short-form intrinsics become long form."""
    template, matches = cfnlint.decode.decode(str(path))
    if matches or template is None:
        details = "; ".join(str(m) for m in matches) or "empty template"
        raise DeployError(f"cannot parse {path}: {details}")
    # cfn-lint's node classes are dict/list/str subclasses carrying line marks: copy into
    # plain Python values.
    return json.loads(json.dumps(template))


def sub_variables(template_string: str) -> list[str]:
    """Names referenced by a Fn::Sub string (`${Name}`, `${Name.Attr}`; not `${!Literal}`)."""
    return [m for m in re.findall(r"\$\{([^}]*)\}", template_string) if not m.startswith("!")]


def collect_references(node: Any, resources: set[str], conditions: set[str]) -> None:
    """Add the logical names that `node` refers to (Ref/GetAtt/Sub targets, conditions)."""
    if isinstance(node, list):
        for item in node:
            collect_references(item, resources, conditions)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "Ref" and isinstance(value, str):
            resources.add(value)
        elif key == "Fn::GetAtt":
            if isinstance(value, str):
                resources.add(value.split(".", 1)[0])
            elif isinstance(value, list) and value and isinstance(value[0], str):
                resources.add(value[0])
                collect_references(value[1:], resources, conditions)
        elif key == "Fn::Sub":
            if isinstance(value, str):
                text, local = value, {}
            else:
                text, local = value[0], value[1] if len(value) > 1 else {}
                collect_references(local, resources, conditions)
            for name in sub_variables(text):
                base = name.split(".", 1)[0]
                if name not in local and base not in local:
                    resources.add(base)
        elif key == "Fn::If" and isinstance(value, list) and value:
            conditions.add(value[0])
            collect_references(value[1:], resources, conditions)
        elif key == "Condition" and isinstance(value, str):
            conditions.add(value)
        else:
            collect_references(value, resources, conditions)


def references_of(node: Any) -> tuple[set[str], set[str]]:
    resources: set[str] = set()
    conditions: set[str] = set()
    collect_references(node, resources, conditions)
    return resources, conditions


def derive_emulator_template(
    template: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], set[str]]:
    """Return (emulator template, resources created outside the stack, dropped ids)."""
    resources: dict[str, Any] = template.get("Resources", {})
    parameters = set(template.get("Parameters", {}))
    all_conditions: dict[str, Any] = template.get("Conditions", {})

    dropped = {lid for lid, res in resources.items() if res.get("Type", "").startswith(SERVERLESS_PREFIX)}
    dropped_conditions: set[str] = set()

    def refers_to_dropped(node: Any, extra_depends_on: Any = None) -> bool:
        refs, conds = references_of(node)
        if extra_depends_on:
            refs |= {extra_depends_on} if isinstance(extra_depends_on, str) else set(extra_depends_on)
        # Names that are neither parameters, pseudo parameters nor declared resources are
        # resources SAM would generate (e.g. `IngestFunctionRole` when SAM makes the role).
        unknown = {r for r in refs if r not in resources and r not in parameters and r not in PSEUDO_PARAMETERS}
        return bool((refs & dropped) or unknown or (conds & dropped_conditions))

    changed = True
    while changed:
        changed = False
        for name, body in all_conditions.items():
            if name not in dropped_conditions and refers_to_dropped(body):
                dropped_conditions.add(name)
                changed = True
        for lid, res in resources.items():
            if lid in dropped:
                continue
            body = {k: v for k, v in res.items() if k != "DependsOn"}
            if refers_to_dropped(body, res.get("DependsOn")):
                dropped.add(lid)
                changed = True

    emulator: dict[str, Any] = {
        k: copy.deepcopy(v) for k, v in template.items() if k not in ("Transform", "Globals", "Resources", "Outputs", "Conditions")
    }
    if all_conditions:
        emulator["Conditions"] = {k: copy.deepcopy(v) for k, v in all_conditions.items() if k not in dropped_conditions}
    kept = {lid: copy.deepcopy(res) for lid, res in resources.items() if lid not in dropped}
    outputs = {k: copy.deepcopy(v) for k, v in template.get("Outputs", {}).items() if not refers_to_dropped(v)}

    outside = {lid: res for lid, res in kept.items() if res.get("Type") in CREATED_OUTSIDE_STACK}
    for lid in outside:
        del kept[lid]
    for lid, res in kept.items():
        refs, _ = references_of({k: v for k, v in res.items()})
        if refs & set(outside):
            raise DeployError(f"{lid} refers to {sorted(refs & set(outside))}, which moto's CloudFormation cannot create")
    outputs = {k: v for k, v in outputs.items() if not (references_of(v)[0] & set(outside))}

    # moto reads DynamoDB SSE with the API's key name (see EMULATOR GAPS).
    for res in kept.values():
        if res.get("Type") == "AWS::DynamoDB::Table":
            sse = res.get("Properties", {}).get("SSESpecification")
            if isinstance(sse, dict) and "SSEEnabled" in sse:
                sse.setdefault("Enabled", sse["SSEEnabled"])

    emulator["Resources"] = kept
    if outputs:
        emulator["Outputs"] = outputs
    return emulator, outside, dropped


# ---------------------------------------------------------------------------
# The emulator
# ---------------------------------------------------------------------------


class Emulator:
    def __init__(self, endpoint: str, region: str) -> None:
        self.endpoint = endpoint
        self.region = region
        self._clients: dict[str, Any] = {}
        self._config = botocore.config.Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5, read_timeout=60)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(
                service, endpoint_url=self.endpoint, region_name=self.region, config=self._config, **DUMMY_CREDENTIALS
            )
        return self._clients[service]


def check_endpoint(endpoint: str, wait_seconds: float) -> None:
    parsed = urllib.parse.urlparse(endpoint)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise DeployError(f"--endpoint must be an http(s) URL, got {endpoint!r}")
    host = parsed.hostname.lower()
    if host.endswith(("amazonaws.com", "amazonaws.com.cn", "api.aws")):
        raise DeployError(f"refusing to deploy to AWS itself ({host}); this script is for a local emulator")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            with socket.create_connection((host, port), timeout=2):
                return
        except OSError as exc:
            if time.monotonic() >= deadline:
                raise DeployError(f"no emulator listening at {endpoint} ({exc})") from exc
            time.sleep(0.5)


# ---------------------------------------------------------------------------
# Stack lifecycle
# ---------------------------------------------------------------------------


def describe_stack(cfn: Any, stack_name: str) -> dict[str, Any] | None:
    try:
        stacks = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    except botocore.exceptions.ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise
    live = [s for s in stacks if s["StackStatus"] != "DELETE_COMPLETE"]
    return live[0] if live else None


def stack_events_text(cfn: Any, stack_name: str) -> str:
    try:
        events = cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
    except botocore.exceptions.ClientError as exc:
        return f"  (no stack events: {exc})"
    lines = []
    for event in reversed(events):
        lines.append(
            "  {} {} {} {}".format(
                event.get("LogicalResourceId", "?"),
                event.get("ResourceType", "?"),
                event.get("ResourceStatus", "?"),
                event.get("ResourceStatusReason", "") or "",
            ).rstrip()
        )
    return "\n".join(lines) or "  (no stack events)"


def wait_for_stack(cfn: Any, stack_name: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        stack = describe_stack(cfn, stack_name)
        if stack is None:
            raise DeployError(f"stack {stack_name} disappeared while waiting for it")
        status = stack["StackStatus"]
        if not status.endswith("_IN_PROGRESS"):
            break
        if time.monotonic() >= deadline:
            raise DeployError(
                f"stack {stack_name} still {status} after {timeout:.0f}s; events:\n{stack_events_text(cfn, stack_name)}\n"
                "(moto leaves a stack IN_PROGRESS when a resource failed: restart the emulator)"
            )
        time.sleep(0.5)
    if status not in COMPLETE:
        raise DeployError(
            f"stack {stack_name} is {status}: {stack.get('StackStatusReason', '')}\nevents:\n{stack_events_text(cfn, stack_name)}"
        )
    return stack


def create_or_reuse_stack(
    emulator: Emulator, stack_name: str, body: str, parameters: dict[str, str], timeout: float
) -> dict[str, Any]:
    cfn = emulator.client("cloudformation")
    existing = describe_stack(cfn, stack_name)
    if existing is not None:
        status = existing["StackStatus"]
        if status.endswith("_IN_PROGRESS"):
            log(f"stack {stack_name} is {status}; waiting")
            existing = wait_for_stack(cfn, stack_name, timeout)
        elif status not in COMPLETE:
            raise DeployError(
                f"stack {stack_name} exists in state {status}; events:\n{stack_events_text(cfn, stack_name)}\n"
                "(delete it or restart the emulator)"
            )
        log(f"reusing stack {stack_name} ({existing['StackStatus']})")
        try:
            current = cfn.get_template(StackName=stack_name)["TemplateBody"]
            if isinstance(current, str):
                current = json.loads(current)
            if current != json.loads(body):
                log(
                    "warning: the stack was created from a different template; it is reused as it is "
                    "(restart the emulator to recreate it from the current template)"
                )
        except (botocore.exceptions.ClientError, ValueError) as exc:
            log(f"warning: cannot compare the stack's template: {exc}")
        given = {p["ParameterKey"]: p.get("ParameterValue") for p in existing.get("Parameters", [])}
        differing = {k: v for k, v in parameters.items() if given.get(k) != v}
        if differing:
            log(f"warning: the reused stack has other parameter values than requested: {differing} vs {given}")
        return existing

    log(f"creating stack {stack_name}")
    try:
        cfn.create_stack(
            StackName=stack_name,
            TemplateBody=body,
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
        )
    except (botocore.exceptions.ClientError, botocore.parsers.ResponseParserError) as exc:
        # moto raises out of CreateStack when a resource fails (often as an HTTP 500 with an
        # HTML body) and leaves the stack CREATE_IN_PROGRESS without a failure event: the
        # cause is in the emulator's own log.
        events = stack_events_text(cfn, stack_name) if describe_stack(cfn, stack_name) else "  (stack not created)"
        raise DeployError(
            f"CreateStack failed: {str(exc).splitlines()[0]}\nevents:\n{events}\n"
            "(see the emulator's log for the failing resource; restart the emulator before retrying)"
        ) from exc
    stack = wait_for_stack(cfn, stack_name, timeout)
    log(f"stack {stack_name} is {stack['StackStatus']}")
    return stack


def stack_resources(cfn: Any, stack_name: str) -> dict[str, dict[str, str]]:
    """logical id -> {type, physical}; skips the blank entries moto adds for unsupported types."""
    result = {}
    for res in cfn.describe_stack_resources(StackName=stack_name)["StackResources"]:
        lid = res.get("LogicalResourceId")
        if lid:
            result[lid] = {"type": res.get("ResourceType", ""), "physical": res.get("PhysicalResourceId", "")}
    return result


# ---------------------------------------------------------------------------
# Intrinsic resolution against the created stack
# ---------------------------------------------------------------------------


class Resolver:
    def __init__(
        self,
        emulator: Emulator,
        template: dict[str, Any],
        stack: dict[str, Any],
        resources: dict[str, dict[str, str]],
    ) -> None:
        self.emulator = emulator
        self.template = template
        self.stack = stack
        self.resources = resources
        self.stack_name = stack["StackName"]
        self.parameters = {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])}
        for name, spec in template.get("Parameters", {}).items():
            if name not in self.parameters and "Default" in spec:
                self.parameters[name] = str(spec["Default"])
        self._account_id: str | None = None
        self._conditions: dict[str, bool] = {}

    # -- pseudo parameters and conditions ------------------------------------
    def account_id(self) -> str:
        if self._account_id is None:
            match = re.match(r"arn:[^:]+:cloudformation:[^:]*:(\d+):", self.stack.get("StackId", ""))
            self._account_id = (
                match.group(1) if match else self.emulator.client("sts").get_caller_identity()["Account"]
            )
        return self._account_id

    def pseudo(self, name: str) -> Any:
        region = self.emulator.region
        partition = "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"
        values = {
            "AWS::AccountId": self.account_id,
            "AWS::Region": lambda: region,
            "AWS::StackName": lambda: self.stack_name,
            "AWS::StackId": lambda: self.stack["StackId"],
            "AWS::Partition": lambda: partition,
            "AWS::URLSuffix": lambda: "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com",
            "AWS::NotificationARNs": lambda: [],
        }
        return values[name]()

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            body = self.template.get("Conditions", {}).get(name)
            if body is None:
                raise Unresolvable(f"unknown condition {name}")
            self._conditions[name] = bool(self.evaluate_condition(body))
        return self._conditions[name]

    def is_created(self, resource: dict[str, Any]) -> bool:
        """False for a resource whose `Condition` is false."""
        return "Condition" not in resource or self.condition(resource["Condition"])

    def evaluate_condition(self, node: Any) -> bool:
        if isinstance(node, dict) and len(node) == 1:
            (fn, arg), = node.items()
            if fn == "Fn::Equals":
                left, right = (self.resolve(a) for a in arg)
                return str(left) == str(right)
            if fn == "Fn::And":
                return all(self.evaluate_condition(a) for a in arg)
            if fn == "Fn::Or":
                return any(self.evaluate_condition(a) for a in arg)
            if fn == "Fn::Not":
                return not self.evaluate_condition(arg[0])
            if fn == "Condition":
                return self.condition(arg)
        raise Unresolvable(f"unsupported condition {node!r}")

    # -- Ref / GetAtt -----------------------------------------------------------
    def resource(self, name: str) -> dict[str, str]:
        if name not in self.resources:
            raise Unresolvable(f"{name} is not part of the emulator stack")
        return self.resources[name]

    def ref(self, name: str) -> Any:
        if name in PSEUDO_PARAMETERS:
            return self.pseudo(name)
        if name in self.parameters:
            return self.parameters[name]
        res = self.resource(name)
        rtype, physical = res["type"], res["physical"]
        if rtype == "AWS::SQS::Queue":
            return self.queue_url(physical.rstrip("/").rsplit("/", 1)[-1])
        if rtype == "AWS::Kinesis::Stream" and physical.startswith("arn:"):
            return physical.rsplit("/", 1)[-1]
        return physical

    def queue_url(self, queue_name: str) -> str:
        return self.emulator.client("sqs").get_queue_url(QueueName=queue_name)["QueueUrl"]

    def get_att(self, name: str, attribute: str) -> Any:
        res = self.resource(name)
        rtype, physical = res["type"], res["physical"]
        c = self.emulator.client
        if rtype == "AWS::DynamoDB::Table":
            table = c("dynamodb").describe_table(TableName=physical)["Table"]
            attrs = {"Arn": table.get("TableArn"), "StreamArn": table.get("LatestStreamArn")}
        elif rtype == "AWS::Kinesis::Stream":
            summary = c("kinesis").describe_stream_summary(StreamName=self.ref(name))["StreamDescriptionSummary"]
            attrs = {"Arn": summary["StreamARN"]}
        elif rtype == "AWS::SQS::Queue":
            url = self.ref(name)
            queue = c("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
            attrs = {"Arn": queue["QueueArn"], "QueueName": url.rsplit("/", 1)[-1], "QueueUrl": url}
        elif rtype == "AWS::KMS::Key":
            meta = c("kms").describe_key(KeyId=physical)["KeyMetadata"]
            attrs = {"Arn": meta["Arn"], "KeyId": meta["KeyId"]}
        elif rtype == "AWS::SNS::Topic":
            attrs = {"TopicArn": physical, "TopicName": physical.rsplit(":", 1)[-1]}
        elif rtype == "AWS::Logs::LogGroup":
            groups = c("logs").describe_log_groups(logGroupNamePrefix=physical)["logGroups"]
            attrs = {"Arn": next((g["arn"] for g in groups if g["logGroupName"] == physical), None)}
        elif rtype == "AWS::IAM::Role":
            role = c("iam").get_role(RoleName=physical)["Role"]
            attrs = {"Arn": role["Arn"], "RoleId": role["RoleId"]}
        else:
            attrs = {}
        value = attrs.get(attribute)
        if value is None:
            raise Unresolvable(f"no resolver for Fn::GetAtt {name}.{attribute} ({rtype})")
        return value

    # -- generic resolution -----------------------------------------------------
    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.resolve(item) for item in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                return _NO_VALUE if arg == "AWS::NoValue" else self.ref(arg)
            if key == "Fn::GetAtt":
                name, attribute = arg.split(".", 1) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
                return self.get_att(name, attribute)
            if key == "Fn::Sub":
                return self.sub(arg)
            if key == "Fn::Join":
                delimiter, items = arg
                return str(delimiter).join(str(v) for v in self.resolve(items))
            if key == "Fn::If":
                condition, when_true, when_false = arg
                return self.resolve(when_true if self.condition(condition) else when_false)
            if key == "Fn::Select":
                index, items = self.resolve(arg[0]), self.resolve(arg[1])
                return items[int(index)]
            if key == "Fn::Split":
                delimiter, text = arg
                return str(self.resolve(text)).split(delimiter)
            if key == "Fn::FindInMap":
                mapping, top, second = (self.resolve(a) for a in arg[:3])
                return self.template["Mappings"][mapping][top][second]
            if key.startswith("Fn::"):
                raise Unresolvable(f"unsupported intrinsic {key}")
        resolved = {k: self.resolve(v) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    def sub(self, arg: Any) -> str:
        if isinstance(arg, str):
            text, local = arg, {}
        else:
            text, local = arg[0], {k: self.resolve(v) for k, v in (arg[1] if len(arg) > 1 else {}).items()}

        def replace(match: re.Match[str]) -> str:
            inner = match.group(1)
            if inner.startswith("!"):
                return "${" + inner[1:] + "}"
            if inner in local:
                return str(local[inner])
            if "." in inner:
                name, attribute = inner.split(".", 1)
                return str(self.get_att(name, attribute))
            return str(self.ref(inner))

        return re.sub(r"\$\{([^}]*)\}", replace, text)


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


_NO_VALUE = _NoValue()


# ---------------------------------------------------------------------------
# Emulator fix-ups (see EMULATOR GAPS in the module docstring)
# ---------------------------------------------------------------------------


def converge(resolver: Resolver, emulator_template: dict[str, Any], outside: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Apply what moto's CloudFormation skipped; return logical id -> physical id of what it created."""
    c = resolver.emulator.client
    created: dict[str, str] = {}
    # Keys first: until their policy is repaired, resolving `!GetAtt Key.Arn` (DescribeKey)
    # fails.
    for lid, res in emulator_template["Resources"].items():
        if res.get("Type") == "AWS::KMS::Key" and lid in resolver.resources:
            physical = resolver.resources[lid]["physical"]
            policy = c("kms").get_key_policy(KeyId=physical, PolicyName="default")["Policy"]
            if not isinstance(policy, str):
                c("kms").put_key_policy(KeyId=physical, PolicyName="default", Policy=json.dumps(policy))
                log(f"fix-up {lid}: key policy stored as a JSON string")

    for lid, res in emulator_template["Resources"].items():
        rtype = res.get("Type")
        props = res.get("Properties", {})
        if lid not in resolver.resources:
            continue
        physical = resolver.resources[lid]["physical"]

        if rtype == "AWS::KMS::Key":
            kms = c("kms")
            if resolver.resolve(props.get("EnableKeyRotation", False)) in (True, "true"):
                if not kms.get_key_rotation_status(KeyId=physical)["KeyRotationEnabled"]:
                    kms.enable_key_rotation(KeyId=physical)
                    log(f"fix-up {lid}: key rotation enabled")

        elif rtype == "AWS::DynamoDB::Table":
            ddb = c("dynamodb")
            ttl = resolver.resolve(props.get("TimeToLiveSpecification"))
            if ttl:
                wanted = ttl.get("Enabled") in (True, "true")
                current = ddb.describe_time_to_live(TableName=physical)["TimeToLiveDescription"]
                is_on = current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
                if wanted != is_on or (wanted and current.get("AttributeName") != ttl["AttributeName"]):
                    ddb.update_time_to_live(
                        TableName=physical,
                        TimeToLiveSpecification={"Enabled": wanted, "AttributeName": ttl["AttributeName"]},
                    )
                    log(f"fix-up {lid}: time to live {'on ' + ttl['AttributeName'] if wanted else 'off'}")
            pitr = resolver.resolve(props.get("PointInTimeRecoverySpecification"))
            if pitr:
                wanted = pitr.get("PointInTimeRecoveryEnabled") in (True, "true")
                current = ddb.describe_continuous_backups(TableName=physical)["ContinuousBackupsDescription"]
                is_on = current.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") == "ENABLED"
                if wanted != is_on:
                    ddb.update_continuous_backups(
                        TableName=physical, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": wanted}
                    )
                    log(f"fix-up {lid}: point-in-time recovery {'enabled' if wanted else 'disabled'}")

        elif rtype == "AWS::Kinesis::Stream":
            encryption = resolver.resolve(props.get("StreamEncryption"))
            if encryption and encryption.get("EncryptionType", "NONE") != "NONE":
                kinesis = c("kinesis")
                name = resolver.ref(lid)
                summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
                if summary.get("EncryptionType") != encryption["EncryptionType"] or summary.get("KeyId") != encryption["KeyId"]:
                    kinesis.start_stream_encryption(
                        StreamName=name, EncryptionType=encryption["EncryptionType"], KeyId=encryption["KeyId"]
                    )
                    log(f"fix-up {lid}: stream encryption {encryption['EncryptionType']} with {encryption['KeyId']}")

    for lid, res in outside.items():
        rtype = res["Type"]
        if not resolver.is_created(res):
            continue
        if rtype == "AWS::CloudWatch::Alarm":
            props = resolver.resolve(res.get("Properties", {}))
            kwargs = {k: props[k] for k in ALARM_API_PROPERTIES if k in props}
            kwargs.setdefault("AlarmName", f"{resolver.stack_name}-{lid}")
            for key in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
                if key in kwargs:
                    kwargs[key] = int(kwargs[key])
            if "Threshold" in kwargs:
                kwargs["Threshold"] = float(kwargs["Threshold"])
            if "ActionsEnabled" in kwargs:
                kwargs["ActionsEnabled"] = kwargs["ActionsEnabled"] in (True, "true")
            cloudwatch = c("cloudwatch")
            existed = bool(cloudwatch.describe_alarms(AlarmNames=[kwargs["AlarmName"]])["MetricAlarms"])
            cloudwatch.put_metric_alarm(**kwargs)  # creates or overwrites: converges either way
            created[lid] = kwargs["AlarmName"]
            if not existed:
                log(f"fix-up {lid}: alarm {kwargs['AlarmName']} created with PutMetricAlarm")
        else:  # pragma: no cover - CREATED_OUTSIDE_STACK lists only handled types
            raise DeployError(f"no way to create {lid} ({rtype}) in the emulator")
    return created


# ---------------------------------------------------------------------------
# Function wiring
# ---------------------------------------------------------------------------


def as_env_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def as_bool(value: Any) -> bool:
    return value in (True, "true", "True")


def function_wiring(resolver: Resolver, template: dict[str, Any]) -> list[dict[str, Any]]:
    globals_fn = template.get("Globals", {}).get("Function", {})
    functions = []
    for lid, res in template.get("Resources", {}).items():
        if res.get("Type") != "AWS::Serverless::Function" or not resolver.is_created(res):
            continue
        props = res.get("Properties", {})

        def setting(key: str, props: dict[str, Any] = props) -> Any:
            return props.get(key, globals_fn.get(key))

        variables = dict(globals_fn.get("Environment", {}).get("Variables", {}))
        variables.update(props.get("Environment", {}).get("Variables", {}))
        environment = {}
        for name, value in variables.items():
            try:
                resolved = resolver.resolve(value)
            except Unresolvable as exc:
                log(f"warning: {lid}: environment variable {name} left out: {exc}")
                continue
            if resolved is not _NO_VALUE:
                environment[name] = as_env_string(resolved)

        function_name = None
        if "FunctionName" in props:
            try:
                function_name = resolver.resolve(props["FunctionName"])
            except Unresolvable as exc:
                log(f"warning: {lid}: FunctionName not resolved: {exc}")

        events = []
        for event_name, event in props.get("Events", {}).items():
            try:
                events.append(event_wiring(resolver, lid, event_name, event))
            except Unresolvable as exc:
                raise DeployError(f"{lid}: event {event_name} cannot be wired: {exc}") from exc

        functions.append(
            {
                "logical_id": lid,
                "binary": res.get("Metadata", {}).get("BuildProperties", {}).get("Binary"),
                "function_name": function_name,
                "timeout_seconds": int(resolver.resolve(setting("Timeout") or 3)),
                "memory_mb": int(resolver.resolve(setting("MemorySize") or 128)),
                "environment": environment,
                "events": events,
            }
        )
    return functions


def event_wiring(resolver: Resolver, lid: str, event_name: str, event: dict[str, Any]) -> dict[str, Any]:
    etype = event.get("Type")
    props = event.get("Properties", {})
    if etype == "HttpApi":
        ignored = set(props) - HTTP_API_KNOWN_PROPERTIES
        if ignored:
            log(f"warning: {lid}.{event_name}: HttpApi properties not represented: {sorted(ignored)}")
        return {
            "name": event_name,
            "type": "HttpApi",
            "method": str(resolver.resolve(props.get("Method", "ANY"))).upper(),
            "path": resolver.resolve(props.get("Path", "$default")),
        }
    if etype == "Kinesis":
        ignored = set(props) - KINESIS_KNOWN_PROPERTIES
        if ignored:
            log(f"warning: {lid}.{event_name}: Kinesis properties not represented: {sorted(ignored)}")
        settings = {**KINESIS_DEFAULTS, **{k: resolver.resolve(v) for k, v in props.items()}}
        stream_arn = settings["Stream"]
        on_failure = (settings.get("DestinationConfig") or {}).get("OnFailure") or {}
        destination = on_failure.get("Destination")
        queue_arn = queue_url = None
        if destination:
            if not str(destination).startswith("arn:aws") or ":sqs:" not in str(destination):
                raise Unresolvable(f"on-failure destination {destination} is not an SQS queue")
            queue_arn = destination
            queue_url = resolver.queue_url(destination.rsplit(":", 1)[-1])
        return {
            "name": event_name,
            "type": "Kinesis",
            "stream_name": stream_arn.rsplit("/", 1)[-1],
            "stream_arn": stream_arn,
            "batch_size": int(settings["BatchSize"]),
            "maximum_batching_window_seconds": int(settings["MaximumBatchingWindowInSeconds"]),
            "starting_position": settings.get("StartingPosition"),
            "bisect_batch_on_function_error": as_bool(settings["BisectBatchOnFunctionError"]),
            "maximum_retry_attempts": int(settings["MaximumRetryAttempts"]),
            "maximum_record_age_seconds": int(settings["MaximumRecordAgeInSeconds"]),
            "parallelization_factor": int(settings["ParallelizationFactor"]),
            "report_batch_item_failures": "ReportBatchItemFailures" in (settings.get("FunctionResponseTypes") or []),
            "on_failure_queue_url": queue_url,
            "on_failure_queue_arn": queue_arn,
        }
    log(f"warning: {lid}.{event_name}: event type {etype} passed through unresolved")
    return {"name": event_name, "type": etype, "properties": props}


# ---------------------------------------------------------------------------
# deploy
# ---------------------------------------------------------------------------


def parse_parameters(items: list[str]) -> dict[str, str]:
    result = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise DeployError(f"--parameter expects KEY=VALUE, got {item!r}")
        result[key] = value
    return result


def deploy(args: argparse.Namespace) -> int:
    template_path = Path(args.template)
    template = load_template(template_path)
    emulator_template, outside, dropped = derive_emulator_template(template)
    log(f"template {template_path}: {len(emulator_template['Resources']) + len(outside)} resources for the emulator, "
        f"{len(dropped)} left to the local runner ({', '.join(sorted(dropped))})")

    parameters = parse_parameters(args.parameter)
    unknown = set(parameters) - set(template.get("Parameters", {}))
    if unknown:
        raise DeployError(f"unknown template parameters: {sorted(unknown)}")

    check_endpoint(args.endpoint, args.wait_seconds)
    emulator = Emulator(args.endpoint, args.region)
    body = json.dumps(emulator_template, sort_keys=True)
    stack = create_or_reuse_stack(emulator, args.stack_name, body, parameters, args.timeout)

    cfn = emulator.client("cloudformation")
    resources = stack_resources(cfn, args.stack_name)
    resolver = Resolver(emulator, template, stack, resources)
    expected = {lid for lid, res in emulator_template["Resources"].items() if resolver.is_created(res)}
    missing = sorted(expected - set(resources))
    if missing:
        raise DeployError(f"the emulator did not create {missing}; events:\n{stack_events_text(cfn, args.stack_name)}")

    created = converge(resolver, emulator_template, outside)

    stack = describe_stack(cfn, args.stack_name) or stack
    wiring = {
        "region": args.region,
        "endpoint": args.endpoint,
        "stack_name": args.stack_name,
        "outputs": {o["OutputKey"]: o.get("OutputValue") for o in stack.get("Outputs", [])},
        "resources": {**{lid: r["physical"] for lid, r in resources.items()}, **created},
        "functions": function_wiring(resolver, template),
    }
    text = json.dumps(wiring, indent=2, sort_keys=False) + "\n"
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, out)
        log(f"wiring written to {out}")
    else:
        sys.stdout.write(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("deploy", help="create (or reuse) the emulator stack and print the wiring JSON")
    p.add_argument("--endpoint", required=True, help="emulator URL, e.g. http://127.0.0.1:45123")
    p.add_argument("--region", default="eu-west-1")
    p.add_argument("--stack-name", default="cmp-local")
    p.add_argument("--template", default=str(Path(__file__).resolve().parent.parent / "infra" / "template.yaml"))
    p.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE", help="template parameter (repeatable)")
    p.add_argument("--out", help="write the JSON here instead of stdout")
    p.add_argument("--timeout", type=float, default=120, help="seconds to wait for the stack (default 120)")
    p.add_argument("--wait-seconds", type=float, default=10, help="seconds to wait for the endpoint to accept connections")
    args = parser.parse_args(argv)
    try:
        return deploy(args)
    except DeployError as exc:
        log(f"error: {exc}")
        return 1
    except (botocore.exceptions.BotoCoreError, botocore.parsers.ResponseParserError) as exc:
        log(f"error: talking to the emulator at {args.endpoint}: {exc}")
        return 1
    except botocore.exceptions.ClientError as exc:
        log(f"error: the emulator answered: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
