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
   region, endpoint, stack_name, outputs (the template's Outputs resolved: the stack's,
   plus those on resources created outside it), resources (logical id -> physical id) and
   functions: for every AWS::Serverless::Function of the original template, its binary
   (Metadata.BuildProperties.Binary), its environment (Globals merged with the function's
   own variables, intrinsics resolved against the emulator) and its events:
   - HttpApi routes, each with `auth`: null for a route without an authorizer
     (`Auth: {Authorizer: NONE}`, or no DefaultAuthorizer on its API), else the JWT
     authorizer SAM would attach (the route's Auth.Authorizer, else the API's
     DefaultAuthorizer, Globals.HttpApi merged under the API's own properties):
     {"type": "jwt", "issuer", "audience": [...], "identity_source", "jwks_uri"} with the
     emulator's real user pool id and client id resolved in; jwks_uri is where the
     emulator serves the pool's signing keys (in AWS: <issuer>/.well-known/jwks.json).
     Route AuthorizationScopes, when set, add "authorization_scopes". Lambda and IAM
     authorizers are refused (the local runner could not honour them).
   - Kinesis and DynamoDB stream mappings with their settings, Lambda's defaults filled in;
     a DynamoDB mapping carries the table name and the emulator's real stream ARN
     (DescribeTable LatestStreamArn).

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
- AWS::Cognito::UserPool, AWS::Cognito::UserPoolClient, AWS::Cognito::UserPoolGroup: not
  supported by moto's CloudFormation either (skipped). Taken out of the stack and created
  with the cognito-idp API, in dependency order: CreateUserPool (the pool's properties, with
  UserPoolName as PoolName, `<stack>-<LogicalId>` without one) then SetUserPoolMfaConfig
  (MfaConfiguration and EnabledMfas are applied the way CloudFormation does), then
  CreateUserPoolClient and CreateGroup. A reused pool/client is found by name and brought
  to the template's settings with UpdateUserPool/UpdateUserPoolClient/UpdateGroup; a change
  to a create-only pool setting (Schema, AliasAttributes, UsernameAttributes, ...) needs a
  fresh emulator (moto's UpdateUserPool also forgets the create-only settings it is not
  given). Outputs that refer to them (UserPoolId, JwtIssuer, ...) are resolved by this
  script. moto's pool ids are longer than AWS's (`<region>_` + 32 hex digits); its tokens
  are signed with one fixed key for every pool, served as JWKS at
  <endpoint>/<pool id>/.well-known/jwks.json, and differ from Cognito's: no `amr` claim
  (so never `mfa`), a 1-hour lifetime whatever the client's token validity, no USER_AUTH
  flow, ExplicitAuthFlows and AllowAdminCreateUserOnly not enforced, and an immutable
  custom attribute can still be changed with AdminUpdateUserAttributes.
- AWS::S3::Bucket: moto's CloudFormation applies BucketEncryption (without
  BucketKeyEnabled) and Tags only: ObjectLockEnabled/ObjectLockConfiguration,
  VersioningConfiguration, PublicAccessBlockConfiguration, OwnershipControls,
  LifecycleConfiguration and BucketKeyEnabled are dropped. Applied with PutBucketVersioning,
  PutObjectLockConfiguration (moto, like S3 today, allows enabling Object Lock on an
  existing versioned bucket; moto only while the bucket is empty), PutPublicAccessBlock,
  PutBucketOwnershipControls, PutBucketEncryption and PutBucketLifecycleConfiguration.
  Other bucket properties are reported as not applied.
- AWS::SQS::QueuePolicy: not supported by moto's CloudFormation; set with SetQueueAttributes
  (moto does not evaluate queue policies).
- AWS::S3::BucketPolicy: not supported by moto's CloudFormation; created with
  PutBucketPolicy, without its statements that have a Condition. moto enforces bucket
  policies on object requests but evaluates conditions wrongly: a statement whose
  condition does not hold (or uses a key moto does not supply, like aws:SecureTransport)
  counts as an explicit deny, whatever its Effect, so the template's "deny unless TLS"
  statement would refuse every object request (and the emulator is plain HTTP anyway).
  The statements left out are listed on every deploy; with none left, no policy is put.
- AWS::Glue::Database, AWS::Glue::Table, AWS::Athena::WorkGroup: not supported by moto's
  CloudFormation; created with the glue API (CreateDatabase, CreateTable, updated when they
  differ) and the athena API (CreateWorkGroup; an existing workgroup is left as it is).
  moto's Athena does not run queries: the analyst dataset's files are tested with a Parquet
  reader, and the Glue columns against schemas/analytics.tables.json.
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
CREATED_OUTSIDE_STACK = {
    "AWS::CloudWatch::Alarm",
    "AWS::Cognito::UserPool",
    "AWS::Cognito::UserPoolClient",
    "AWS::Cognito::UserPoolGroup",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::Glue::Database",
    "AWS::Glue::Table",
    "AWS::Athena::WorkGroup",
}
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
    "FilterCriteria",
}
# Lambda's defaults for a DynamoDB event source mapping (the same as for Kinesis).
DYNAMODB_DEFAULTS = dict(KINESIS_DEFAULTS)
DYNAMODB_KNOWN_PROPERTIES = set(KINESIS_KNOWN_PROPERTIES)
HTTP_API_KNOWN_PROPERTIES = {"ApiId", "Method", "Path", "Auth"}
HTTP_API_ROUTE_AUTH_KNOWN_PROPERTIES = {"Authorizer", "AuthorizationScopes"}
# AWS::S3::Bucket properties this script applies (moto's CloudFormation applies
# BucketEncryption and Tags itself; BucketName is the physical id).
S3_BUCKET_APPLIED_PROPERTIES = {
    "BucketName",
    "Tags",
    "BucketEncryption",
    "ObjectLockEnabled",
    "ObjectLockConfiguration",
    "VersioningConfiguration",
    "PublicAccessBlockConfiguration",
    "OwnershipControls",
    "LifecycleConfiguration",
    "NotificationConfiguration",
}
# "Not configured" answers of the S3 GetBucketXxx calls.
S3_NOT_CONFIGURED = {
    "ObjectLockConfigurationNotFoundError",
    "NoSuchPublicAccessBlockConfiguration",
    "OwnershipControlsNotFoundError",
    "NoSuchLifecycleConfiguration",
    "ServerSideEncryptionConfigurationNotFoundError",
    "NoSuchBucketPolicy",
}
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
        # an ordering-only dependency on a resource created after the stack is dropped here: the
        # emulator does not check what the dependency protects (e.g. S3 validating a topic policy)
        depends_on = res.get("DependsOn")
        if depends_on:
            deps = [depends_on] if isinstance(depends_on, str) else list(depends_on)
            kept_deps = [d for d in deps if d not in outside]
            if len(kept_deps) != len(deps):
                log(f"note {lid}: DependsOn {sorted(set(deps) - set(kept_deps))} dropped (created after the stack)")
                if kept_deps:
                    res["DependsOn"] = kept_deps
                else:
                    del res["DependsOn"]
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

    def register(self, name: str, rtype: str, physical: str, attributes: dict[str, Any] | None = None) -> None:
        """Make a resource created outside the stack resolvable (Ref, GetAtt)."""
        self.resources[name] = {"type": rtype, "physical": physical, **({"attributes": attributes} if attributes else {})}

    def get_att(self, name: str, attribute: str) -> Any:
        res = self.resource(name)
        rtype, physical = res["type"], res["physical"]
        c = self.emulator.client
        region, suffix = self.emulator.region, self.pseudo("AWS::URLSuffix")
        if res.get("attributes"):
            attrs = dict(res["attributes"])
        elif rtype == "AWS::DynamoDB::Table":
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
        elif rtype == "AWS::S3::Bucket":
            attrs = {
                "Arn": f"arn:{self.pseudo('AWS::Partition')}:s3:::{physical}",
                "DomainName": f"{physical}.s3.{suffix}",
                "RegionalDomainName": f"{physical}.s3.{region}.{suffix}",
                "DualStackDomainName": f"{physical}.s3.dualstack.{region}.{suffix}",
            }
        elif rtype == "AWS::Cognito::UserPool":
            pool = c("cognito-idp").describe_user_pool(UserPoolId=physical)["UserPool"]
            provider = f"cognito-idp.{region}.{suffix}/{physical}"
            attrs = {"Arn": pool["Arn"], "UserPoolId": physical, "ProviderName": provider, "ProviderURL": f"https://{provider}"}
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

        elif rtype == "AWS::S3::Bucket":
            converge_bucket(resolver, lid, res, physical)

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

    for lid in creation_order(outside):
        res = outside[lid]
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
        elif rtype == "AWS::Cognito::UserPool":
            created[lid] = converge_user_pool(resolver, lid, res)
        elif rtype == "AWS::Cognito::UserPoolClient":
            created[lid] = converge_user_pool_client(resolver, lid, res)
        elif rtype == "AWS::Cognito::UserPoolGroup":
            created[lid] = converge_user_pool_group(resolver, lid, res)
        elif rtype == "AWS::S3::BucketPolicy":
            created[lid] = converge_bucket_policy(resolver, lid, res)
        elif rtype == "AWS::SNS::TopicPolicy":
            created[lid] = converge_topic_policy(resolver, lid, res)
        elif rtype == "AWS::SQS::QueuePolicy":
            created[lid] = converge_queue_policy(resolver, lid, res)
        elif rtype == "AWS::Glue::Database":
            created[lid] = converge_glue_database(resolver, lid, res)
        elif rtype == "AWS::Glue::Table":
            created[lid] = converge_glue_table(resolver, lid, res)
        elif rtype == "AWS::Athena::WorkGroup":
            created[lid] = converge_work_group(resolver, lid, res)
        else:  # pragma: no cover - CREATED_OUTSIDE_STACK lists only handled types
            raise DeployError(f"no way to create {lid} ({rtype}) in the emulator")
        if lid not in resolver.resources:
            resolver.register(lid, rtype, created[lid])
    return created


def creation_order(outside: dict[str, dict[str, Any]]) -> list[str]:
    """The resources created outside the stack, each after those it refers to."""
    order: list[str] = []
    done: set[str] = set()

    def visit(lid: str, path: tuple[str, ...]) -> None:
        if lid in done:
            return
        if lid in path:
            raise DeployError(f"circular references between {' -> '.join(path + (lid,))}")
        res = outside[lid]
        refs, _ = references_of({k: v for k, v in res.items() if k != "DependsOn"})
        depends_on = res.get("DependsOn") or []
        refs |= {depends_on} if isinstance(depends_on, str) else set(depends_on)
        for dep in sorted(refs & set(outside)):
            visit(dep, path + (lid,))
        done.add(lid)
        order.append(lid)

    for lid in outside:
        visit(lid, ())
    return order


# -- API parameters from CloudFormation properties ------------------------------


def coerce(shape: Any, value: Any) -> Any:
    """Convert CloudFormation values (parameters are strings) to the types of an API shape.

    Members the shape does not know are kept, so that botocore's validation reports them.
    """
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return {k: coerce(shape.members[k], v) if k in shape.members else v for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [coerce(shape.member, v) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: coerce(shape.value, v) for k, v in value.items()}
    if kind in ("integer", "long") and isinstance(value, str):
        return int(value)
    if kind in ("float", "double") and isinstance(value, (str, int)) and not isinstance(value, bool):
        return float(value)
    if kind == "boolean" and isinstance(value, str):
        return value.lower() == "true"
    if kind == "string" and isinstance(value, bool):
        return "true" if value else "false"
    if kind == "string" and isinstance(value, (int, float)):
        return str(value)
    return value


def input_members(client: Any, operation: str) -> dict[str, Any]:
    return dict(client.meta.service_model.operation_model(operation).input_shape.members)


def api_params(
    client: Any, operation: str, props: dict[str, Any], lid: str, handled: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The (resolved) properties that are parameters of `operation`, coerced to its types.

    Properties that are neither parameters nor in `handled` are reported as not applied.
    """
    members = input_members(client, operation)
    ignored = sorted(k for k in props if k not in members and k not in handled)
    if ignored:
        log(f"warning: {lid}: properties not applied in the emulator: {ignored}")
    return {k: coerce(members[k], v) for k, v in props.items() if k in members}


def differing(current: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    return sorted(k for k, v in wanted.items() if current.get(k) != v)


def paginate(client: Any, operation: str, result_key: str, **kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items.extend(page.get(result_key, []))
    return items


# -- Cognito --------------------------------------------------------------------

USER_POOL_CFN_ONLY = frozenset({"UserPoolName", "MfaConfiguration", "EnabledMfas"})


def converge_user_pool(resolver: Resolver, lid: str, res: dict[str, Any]) -> str:
    idp = resolver.emulator.client("cognito-idp")
    props = resolver.resolve(res.get("Properties", {}))
    name = props.get("UserPoolName") or f"{resolver.stack_name}-{lid}"
    params = api_params(idp, "CreateUserPool", {**props, "PoolName": name}, lid, USER_POOL_CFN_ONLY)
    matches = [p for p in paginate(idp, "list_user_pools", "UserPools", MaxResults=60) if p["Name"] == name]
    if len(matches) > 1:
        raise DeployError(f"{lid}: {len(matches)} user pools named {name} in the emulator; restart it")
    if matches:
        pool_id = matches[0]["Id"]
        current = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]
        updatable = input_members(idp, "UpdateUserPool")
        wanted = {k: v for k, v in params.items() if k in updatable}
        # DescribeUserPool answers the name as `Name`.
        changed = differing({**current, "PoolName": current.get("Name")}, wanted)
        if changed:
            # UpdateUserPool resets what it is not given: give it every updatable setting.
            idp.update_user_pool(UserPoolId=pool_id, **wanted)
            log(f"fix-up {lid}: user pool {pool_id} updated ({', '.join(changed)})")
        fixed = differing(current, {k: v for k, v in params.items() if k not in updatable and k != "Schema"})
        if fixed:
            log(f"warning: {lid}: create-only settings differ from the template ({', '.join(fixed)}); restart the emulator")
    else:
        pool_id = idp.create_user_pool(**params)["UserPool"]["Id"]
        log(f"fix-up {lid}: user pool {name} created ({pool_id})")

    # CloudFormation applies MfaConfiguration/EnabledMfas with SetUserPoolMfaConfig.
    mfa = props.get("MfaConfiguration", "OFF")
    enabled = set(props.get("EnabledMfas") or [])
    unsupported = enabled - {"SOFTWARE_TOKEN_MFA", "EMAIL_OTP"}
    if unsupported:
        log(f"warning: {lid}: EnabledMfas {sorted(unsupported)} not applied in the emulator")
    wanted_mfa: dict[str, Any] = {"MfaConfiguration": mfa}
    if mfa != "OFF":
        wanted_mfa["SoftwareTokenMfaConfiguration"] = {"Enabled": "SOFTWARE_TOKEN_MFA" in enabled}
        if "EMAIL_OTP" in enabled:
            wanted_mfa["EmailMfaConfiguration"] = {}
    current_mfa = idp.get_user_pool_mfa_config(UserPoolId=pool_id)
    current_mfa.pop("ResponseMetadata", None)
    if current_mfa.get("MfaConfiguration") != mfa or (
        mfa != "OFF" and current_mfa.get("SoftwareTokenMfaConfiguration") != wanted_mfa["SoftwareTokenMfaConfiguration"]
    ):
        idp.set_user_pool_mfa_config(UserPoolId=pool_id, **wanted_mfa)
        log(f"fix-up {lid}: MFA {mfa}, enabled {sorted(enabled) or 'none'}")
    return pool_id


def converge_user_pool_client(resolver: Resolver, lid: str, res: dict[str, Any]) -> str:
    idp = resolver.emulator.client("cognito-idp")
    props = resolver.resolve(res.get("Properties", {}))
    pool_id = props["UserPoolId"]
    name = props.get("ClientName") or f"{resolver.stack_name}-{lid}"
    params = api_params(idp, "CreateUserPoolClient", {**props, "ClientName": name}, lid)
    matches = [
        cl
        for cl in paginate(idp, "list_user_pool_clients", "UserPoolClients", UserPoolId=pool_id, MaxResults=60)
        if cl["ClientName"] == name
    ]
    if len(matches) > 1:
        raise DeployError(f"{lid}: {len(matches)} clients named {name} in user pool {pool_id}; restart the emulator")
    if matches:
        client_id = matches[0]["ClientId"]
        current = idp.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]
        updatable = input_members(idp, "UpdateUserPoolClient")
        wanted = {k: v for k, v in params.items() if k in updatable}
        changed = differing(current, wanted)
        if changed:
            idp.update_user_pool_client(ClientId=client_id, **wanted)
            log(f"fix-up {lid}: app client {client_id} updated ({', '.join(changed)})")
        if "GenerateSecret" in params and bool(current.get("ClientSecret")) != params["GenerateSecret"]:
            log(f"warning: {lid}: GenerateSecret differs from the template; restart the emulator")
    else:
        current = idp.create_user_pool_client(**params)["UserPoolClient"]
        client_id = current["ClientId"]
        log(f"fix-up {lid}: app client {name} created ({client_id})")
    attributes = {"ClientId": client_id, "Name": name}
    if current.get("ClientSecret"):
        attributes["ClientSecret"] = current["ClientSecret"]
    resolver.register(lid, res["Type"], client_id, attributes)
    return client_id


def converge_user_pool_group(resolver: Resolver, lid: str, res: dict[str, Any]) -> str:
    idp = resolver.emulator.client("cognito-idp")
    props = resolver.resolve(res.get("Properties", {}))
    name = props.get("GroupName") or f"{resolver.stack_name}-{lid}"
    params = api_params(idp, "CreateGroup", {**props, "GroupName": name}, lid)
    try:
        current = idp.get_group(UserPoolId=params["UserPoolId"], GroupName=name)["Group"]
    except idp.exceptions.ResourceNotFoundException:
        idp.create_group(**params)
        log(f"fix-up {lid}: group {name} created")
        return name
    wanted = {k: v for k, v in params.items() if k in ("Description", "RoleArn", "Precedence")}
    changed = differing(current, wanted)
    if changed:
        idp.update_group(UserPoolId=params["UserPoolId"], GroupName=name, **wanted)
        log(f"fix-up {lid}: group {name} updated ({', '.join(changed)})")
    return name


# -- S3 -------------------------------------------------------------------------


def s3_current(call: Any, bucket: str, key: str) -> Any:
    """A bucket setting, or None when it is not configured."""
    try:
        return call(Bucket=bucket)[key]
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in S3_NOT_CONFIGURED:
            return None
        raise


def lifecycle_rules(lid: str, rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """CloudFormation LifecycleConfiguration.Rules -> PutBucketLifecycleConfiguration rules."""
    known = {
        "Id",
        "Status",
        "Prefix",
        "ExpirationInDays",
        "ExpirationDate",
        "ExpiredObjectDeleteMarker",
        "NoncurrentVersionExpiration",
        "NoncurrentVersionExpirationInDays",
        "AbortIncompleteMultipartUpload",
    }
    result = []
    for rule in rules:
        ignored = sorted(set(rule) - known)
        if ignored:
            log(f"warning: {lid}: lifecycle rule {rule.get('Id')}: {ignored} not applied in the emulator")
        api: dict[str, Any] = {"Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
        if "Id" in rule:
            api["ID"] = rule["Id"]
        expiration: dict[str, Any] = {}
        if "ExpirationInDays" in rule:
            expiration["Days"] = int(rule["ExpirationInDays"])
        if "ExpirationDate" in rule:
            expiration["Date"] = rule["ExpirationDate"]
        if "ExpiredObjectDeleteMarker" in rule:
            expiration["ExpiredObjectDeleteMarker"] = as_bool(rule["ExpiredObjectDeleteMarker"])
        if expiration:
            api["Expiration"] = expiration
        noncurrent = dict(rule.get("NoncurrentVersionExpiration") or {})
        if "NoncurrentVersionExpirationInDays" in rule:
            noncurrent.setdefault("NoncurrentDays", rule["NoncurrentVersionExpirationInDays"])
        if noncurrent:
            api["NoncurrentVersionExpiration"] = {k: int(v) for k, v in noncurrent.items()}
        if "AbortIncompleteMultipartUpload" in rule:
            api["AbortIncompleteMultipartUpload"] = {
                "DaysAfterInitiation": int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
            }
        result.append(api)
    return result


def lifecycle_key(rules: list[dict[str, Any]] | None) -> list[str]:
    """Comparable form of lifecycle rules (the emulator may add empty members)."""

    def prune(node: Any) -> Any:
        if isinstance(node, dict):
            pruned = {k: prune(v) for k, v in node.items()}
            return {k: v for k, v in pruned.items() if v not in (None, {}, [])}
        if isinstance(node, list):
            return [prune(v) for v in node]
        return node

    return sorted(json.dumps(prune(r), sort_keys=True, default=str) for r in rules or [])


def converge_bucket(resolver: Resolver, lid: str, res: dict[str, Any], bucket: str) -> None:
    s3 = resolver.emulator.client("s3")
    props = resolver.resolve(res.get("Properties", {}))
    ignored = sorted(set(props) - S3_BUCKET_APPLIED_PROPERTIES)
    if ignored:
        log(f"warning: {lid}: bucket properties not applied in the emulator: {ignored}")

    lock_config = props.get("ObjectLockConfiguration")
    lock_enabled = as_bool(props.get("ObjectLockEnabled", False)) or bool(lock_config)
    versioning = (props.get("VersioningConfiguration") or {}).get("Status")
    if lock_enabled and versioning != "Enabled":
        raise DeployError(f"{lid}: Object Lock needs VersioningConfiguration Status Enabled")
    if versioning and s3.get_bucket_versioning(Bucket=bucket).get("Status") != versioning:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": versioning})
        log(f"fix-up {lid}: versioning {versioning}")

    if lock_enabled:
        members = input_members(s3, "PutObjectLockConfiguration")
        wanted = coerce(members["ObjectLockConfiguration"], {"ObjectLockEnabled": "Enabled", **(lock_config or {})})
        current = s3_current(s3.get_object_lock_configuration, bucket, "ObjectLockConfiguration")
        if object_lock_key(current) != object_lock_key(wanted):
            try:
                s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=wanted)
            except botocore.exceptions.ClientError as exc:
                raise DeployError(
                    f"{lid}: cannot apply Object Lock to {bucket} ({exc}); moto allows it only on an empty "
                    "versioned bucket: restart the emulator"
                ) from exc
            log(f"fix-up {lid}: Object Lock {json.dumps(wanted.get('Rule', {}))}")

    block = props.get("PublicAccessBlockConfiguration")
    if block is not None:
        wanted = {k: as_bool(v) for k, v in block.items()}
        if s3_current(s3.get_public_access_block, bucket, "PublicAccessBlockConfiguration") != wanted:
            s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=wanted)
            log(f"fix-up {lid}: public access block {wanted}")

    ownership = props.get("OwnershipControls")
    if ownership is not None:
        if s3_current(s3.get_bucket_ownership_controls, bucket, "OwnershipControls") != ownership:
            s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=ownership)
            log(f"fix-up {lid}: ownership controls {ownership}")

    encryption = props.get("BucketEncryption")
    if encryption is not None:
        wanted_rules = [
            {
                "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                "BucketKeyEnabled": as_bool(rule.get("BucketKeyEnabled", False)),
            }
            for rule in encryption.get("ServerSideEncryptionConfiguration", [])
        ]
        current = s3_current(s3.get_bucket_encryption, bucket, "ServerSideEncryptionConfiguration") or {}
        current_rules = [{**r, "BucketKeyEnabled": bool(r.get("BucketKeyEnabled", False))} for r in current.get("Rules", [])]
        if current_rules != wanted_rules:
            s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": wanted_rules})
            log(f"fix-up {lid}: default encryption {json.dumps(wanted_rules)}")

    lifecycle = props.get("LifecycleConfiguration")
    if lifecycle is not None:
        wanted_rules = lifecycle_rules(lid, lifecycle.get("Rules", []))
        current_rules = s3_current(s3.get_bucket_lifecycle_configuration, bucket, "Rules")
        if lifecycle_key(current_rules) != lifecycle_key(wanted_rules):
            s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": wanted_rules})
            log(f"fix-up {lid}: lifecycle rules {[r.get('ID') for r in wanted_rules]}")

    notification = props.get("NotificationConfiguration")
    if notification is not None:
        unsupported = sorted(set(notification) - {"TopicConfigurations", "QueueConfigurations"})
        if unsupported:
            log(f"warning: {lid}: notification configurations not applied in the emulator: {unsupported}")

        def target(kind: str, arn_key: str, c: dict[str, Any]) -> dict[str, Any]:
            return {
                arn_key: c[kind],
                "Events": [c["Event"]],
                **({"Filter": {"Key": {"FilterRules": c["Filter"]["S3Key"]["Rules"]}}} if c.get("Filter") else {}),
            }

        wanted = {
            "TopicConfigurations": [target("Topic", "TopicArn", t) for t in notification.get("TopicConfigurations", [])],
            "QueueConfigurations": [target("Queue", "QueueArn", q) for q in notification.get("QueueConfigurations", [])],
        }
        wanted = {k: v for k, v in wanted.items() if v}
        current = s3.get_bucket_notification_configuration(Bucket=bucket)
        shape = lambda cfg: {k: [(c.get("TopicArn") or c.get("QueueArn"), c.get("Events")) for c in cfg.get(k, [])] for k in wanted}
        if shape(current) != shape(wanted):
            s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=wanted)
            log(f"fix-up {lid}: notifications {', '.join(f'{len(v)} {k}' for k, v in wanted.items())}")


def object_lock_key(config: dict[str, Any] | None) -> Any:
    """Comparable form of an Object Lock configuration (moto answers `Years: 0` next to Days)."""
    if not config:
        return None
    retention = (config.get("Rule") or {}).get("DefaultRetention") or {}
    return (config.get("ObjectLockEnabled"), tuple(sorted((k, v) for k, v in retention.items() if v not in (None, 0))))


def converge_bucket_policy(resolver: Resolver, lid: str, res: dict[str, Any]) -> str:
    s3 = resolver.emulator.client("s3")
    props = resolver.resolve(res.get("Properties", {}))
    bucket, document = props["Bucket"], dict(props["PolicyDocument"])
    statements = document.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else list(statements)
    conditional = [s.get("Sid", f"#{i}") for i, s in enumerate(statements) if "Condition" in s]
    if conditional:
        log(f"note {lid}: statements {conditional} not applied in the emulator (moto denies on any unmet condition)")
    document["Statement"] = [s for s in statements if "Condition" not in s]
    current = s3_current(s3.get_bucket_policy, bucket, "Policy")
    if not document["Statement"]:
        if current is not None:
            s3.delete_bucket_policy(Bucket=bucket)
            log(f"fix-up {lid}: bucket policy on {bucket} removed")
    elif current is None or json.loads(current) != document:
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(document))
        log(f"fix-up {lid}: bucket policy on {bucket} {'created' if current is None else 'updated'}")
    return bucket


def converge_topic_policy(resolver: Resolver, lid: str, res: dict[str, Any]) -> str:
    """AWS::SNS::TopicPolicy through SetTopicAttributes (moto's CloudFormation skips the type)."""
    sns = resolver.emulator.client("sns")
    props = resolver.resolve(res.get("Properties", {}))
    document = json.dumps(props["PolicyDocument"])
    topics = props.get("Topics") or []
    for arn in topics:
        current = sns.get_topic_attributes(TopicArn=arn)["Attributes"].get("Policy")
        if current is None or json.loads(current) != json.loads(document):
            sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=document)
            log(f"fix-up {lid}: policy set on {arn.rsplit(':', 1)[-1]}")
    return ",".join(topics)


def converge_queue_policy(resolver: Resolver, lid: str, res: dict[str, Any]) -> str:
    """AWS::SQS::QueuePolicy through SetQueueAttributes (moto's CloudFormation skips the type)."""
    sqs = resolver.emulator.client("sqs")
    props = resolver.resolve(res.get("Properties", {}))
    document = json.dumps(props["PolicyDocument"])
    queues = props.get("Queues") or []
    for url in queues:
        current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {}).get("Policy")
        if current is None or json.loads(current) != json.loads(document):
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": document})
            log(f"fix-up {lid}: policy set on {url.rsplit('/', 1)[-1]}")
    return ",".join(queues)


def converge_glue_database(resolver: Resolver, lid: str, res: dict[str, Any]) -> str:
    """AWS::Glue::Database through CreateDatabase/UpdateDatabase (its Ref is the name)."""
    glue = resolver.emulator.client("glue")
    props = resolver.resolve(res.get("Properties", {}))
    database = props["DatabaseInput"]
    try:
        current = glue.get_database(Name=database["Name"])["Database"]
        if current.get("Description") != database.get("Description"):
            glue.update_database(Name=database["Name"], DatabaseInput=database)
            log(f"fix-up {lid}: database {database['Name']} updated")
    except glue.exceptions.EntityNotFoundException:
        glue.create_database(DatabaseInput=database)
        log(f"fix-up {lid}: database {database['Name']} created with CreateDatabase")
    return database["Name"]


def converge_glue_table(resolver: Resolver, lid: str, res: dict[str, Any]) -> str:
    """AWS::Glue::Table through CreateTable/UpdateTable (its Ref is the table name)."""
    glue = resolver.emulator.client("glue")
    props = resolver.resolve(res.get("Properties", {}))
    table = props["TableInput"]
    database = props["DatabaseName"]
    try:
        current = glue.get_table(DatabaseName=database, Name=table["Name"])["Table"]
        wanted = {k: table.get(k) for k in ("StorageDescriptor", "PartitionKeys", "Parameters")}
        if {k: current.get(k) for k in wanted} != wanted:
            glue.update_table(DatabaseName=database, TableInput=table)
            log(f"fix-up {lid}: table {database}.{table['Name']} updated")
    except glue.exceptions.EntityNotFoundException:
        glue.create_table(DatabaseName=database, TableInput=table)
        log(f"fix-up {lid}: table {database}.{table['Name']} created with CreateTable")
    return table["Name"]


def converge_work_group(resolver: Resolver, lid: str, res: dict[str, Any]) -> str:
    """AWS::Athena::WorkGroup through CreateWorkGroup (its Ref is the name)."""
    athena = resolver.emulator.client("athena")
    props = resolver.resolve(res.get("Properties", {}))
    name = props["Name"]
    existing = {w["Name"] for w in athena.list_work_groups()["WorkGroups"]}
    if name not in existing:
        config = coerce(athena.meta.service_model.operation_model("CreateWorkGroup").input_shape.members["Configuration"],
                        props.get("WorkGroupConfiguration", {}))
        athena.create_work_group(Name=name, Description=props.get("Description", ""), Configuration=config)
        log(f"fix-up {lid}: workgroup {name} created with CreateWorkGroup")
    return name


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
            "auth": http_api_route_auth(resolver, lid, event_name, props),
        }
    if etype in ("Kinesis", "DynamoDB"):
        return stream_event_wiring(resolver, lid, event_name, etype, props)
    if etype == "SQS":
        return sqs_event_wiring(resolver, lid, event_name, props)
    log(f"warning: {lid}.{event_name}: event type {etype} passed through unresolved")
    return {"name": event_name, "type": etype, "properties": props}


def merge_globals(global_value: Any, own: Any) -> Any:
    """SAM's Globals merge: maps merge key by key (the resource wins), anything else is replaced."""
    if isinstance(global_value, dict) and isinstance(own, dict):
        merged = dict(global_value)
        for key, value in own.items():
            merged[key] = merge_globals(global_value[key], value) if key in global_value else value
        return merged
    return global_value if own is None else own


def http_api_route_auth(resolver: Resolver, lid: str, event_name: str, props: dict[str, Any]) -> dict[str, Any] | None:
    """The authorizer SAM attaches to an HttpApi route, resolved; None for an open route."""
    where = f"{lid}.{event_name}"
    template = resolver.template
    api_ref = props.get("ApiId")
    if api_ref is None:
        api_props: dict[str, Any] = {}  # SAM's implicit ServerlessHttpApi: only Globals apply
    elif isinstance(api_ref, dict) and isinstance(api_ref.get("Ref"), str):
        api = template.get("Resources", {}).get(api_ref["Ref"])
        if not api or api.get("Type") != "AWS::Serverless::HttpApi":
            raise Unresolvable(f"ApiId {api_ref['Ref']} is not an AWS::Serverless::HttpApi of this template")
        api_props = api.get("Properties", {})
    else:
        raise Unresolvable(f"ApiId {api_ref!r} is not a Ref to an AWS::Serverless::HttpApi of this template")
    api_auth = merge_globals(template.get("Globals", {}).get("HttpApi", {}).get("Auth"), api_props.get("Auth")) or {}

    route_auth = props.get("Auth") or {}
    ignored = set(route_auth) - HTTP_API_ROUTE_AUTH_KNOWN_PROPERTIES
    if ignored:
        log(f"warning: {where}: route Auth properties not represented: {sorted(ignored)}")
    name = route_auth.get("Authorizer", api_auth.get("DefaultAuthorizer"))
    if name is None or name == "NONE":
        return None
    if name == "AWS_IAM":
        raise Unresolvable("IAM authorization is not supported by the local runner")
    authorizer = (api_auth.get("Authorizers") or {}).get(name)
    if authorizer is None:
        raise Unresolvable(f"authorizer {name} is not declared in the API's Auth.Authorizers")
    if "JwtConfiguration" not in authorizer:
        raise Unresolvable(f"authorizer {name} is not a JWT authorizer; only JWT authorizers are supported locally")
    jwt_config = resolver.resolve(authorizer["JwtConfiguration"])
    issuer = str(jwt_config.get("issuer") or "")
    audience = jwt_config.get("audience") or []
    if not issuer or not audience:
        raise Unresolvable(f"authorizer {name} has no issuer or no audience")
    wiring: dict[str, Any] = {
        "type": "jwt",
        "issuer": issuer,
        "audience": [str(a) for a in (audience if isinstance(audience, list) else [audience])],
        "identity_source": resolver.resolve(authorizer.get("IdentitySource", "$request.header.Authorization")),
        "jwks_uri": jwks_uri(resolver, issuer),
    }
    scopes = route_auth.get("AuthorizationScopes")
    if scopes:
        wiring["authorization_scopes"] = [str(s) for s in resolver.resolve(scopes)]
    return wiring


def jwks_uri(resolver: Resolver, issuer: str) -> str:
    """Where the signing keys of `issuer` are served: by the emulator for one of its pools."""
    pools = {
        res["physical"]
        for res in resolver.resources.values()
        if res.get("type") == "AWS::Cognito::UserPool" and res.get("physical")
    }
    pool_id = issuer.rstrip("/").rsplit("/", 1)[-1]
    if issuer.startswith("https://cognito-idp.") and pool_id in pools:
        return f"{resolver.emulator.endpoint.rstrip('/')}/{pool_id}/.well-known/jwks.json"
    return issuer.rstrip("/") + "/.well-known/jwks.json"


# Lambda's defaults for an SQS event source mapping.
SQS_DEFAULTS = {"BatchSize": 10, "MaximumBatchingWindowInSeconds": 0}
SQS_KNOWN_PROPERTIES = {"Queue", "BatchSize", "MaximumBatchingWindowInSeconds", "FunctionResponseTypes", "ScalingConfig", "Enabled"}


def sqs_event_wiring(resolver: Resolver, lid: str, event_name: str, props: dict[str, Any]) -> dict[str, Any]:
    """An SQS event source mapping: the queue's URL and ARN, batch size, partial batch failures."""
    ignored = set(props) - SQS_KNOWN_PROPERTIES
    if ignored:
        log(f"warning: {lid}.{event_name}: SQS properties not represented: {sorted(ignored)}")
    settings = {**SQS_DEFAULTS, **{k: resolver.resolve(v) for k, v in props.items()}}
    queue_arn = str(settings["Queue"])
    if ":sqs:" not in queue_arn:
        raise Unresolvable(f"{queue_arn!r} is not an SQS queue ARN")
    return {
        "name": event_name,
        "type": "SQS",
        "queue_arn": queue_arn,
        "queue_url": resolver.queue_url(queue_arn.rsplit(":", 1)[-1]),
        "batch_size": int(settings["BatchSize"]),
        "maximum_concurrency": int((settings.get("ScalingConfig") or {}).get("MaximumConcurrency", 1000)),
        "report_batch_item_failures": "ReportBatchItemFailures" in (settings.get("FunctionResponseTypes") or []),
    }


def stream_event_wiring(resolver: Resolver, lid: str, event_name: str, etype: str, props: dict[str, Any]) -> dict[str, Any]:
    """A Kinesis or DynamoDB stream mapping, with Lambda's defaults where the template is silent."""
    known, defaults = (
        (KINESIS_KNOWN_PROPERTIES, KINESIS_DEFAULTS) if etype == "Kinesis" else (DYNAMODB_KNOWN_PROPERTIES, DYNAMODB_DEFAULTS)
    )
    ignored = set(props) - known
    if ignored:
        log(f"warning: {lid}.{event_name}: {etype} properties not represented: {sorted(ignored)}")
    settings = {**defaults, **{k: resolver.resolve(v) for k, v in props.items()}}
    stream_arn = settings["Stream"]
    on_failure = (settings.get("DestinationConfig") or {}).get("OnFailure") or {}
    destination = on_failure.get("Destination")
    queue_arn = queue_url = None
    if destination:
        if not str(destination).startswith("arn:aws") or ":sqs:" not in str(destination):
            raise Unresolvable(f"on-failure destination {destination} is not an SQS queue")
        queue_arn = destination
        queue_url = resolver.queue_url(destination.rsplit(":", 1)[-1])
    common = {
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
        # Lambda event filtering: a record is delivered when it matches any pattern.
        "filter_patterns": [json.loads(f["Pattern"]) for f in ((settings.get("FilterCriteria") or {}).get("Filters") or [])],
    }
    if etype == "Kinesis":
        return {"name": event_name, "type": "Kinesis", "stream_name": stream_arn.rsplit("/", 1)[-1], "stream_arn": stream_arn, **common}
    # arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>
    match = re.match(r"arn:[^:]+:dynamodb:[^:]*:[^:]*:table/([^/]+)/stream/", str(stream_arn))
    if not match:
        raise Unresolvable(f"{stream_arn!r} is not a DynamoDB stream ARN")
    table_name = match.group(1)
    latest = resolver.emulator.client("dynamodb").describe_table(TableName=table_name)["Table"].get("LatestStreamArn")
    if not latest:
        raise Unresolvable(f"table {table_name} has no stream in the emulator")
    if latest != stream_arn:
        log(f"warning: {lid}.{event_name}: {stream_arn} is not the table's latest stream; wired to {latest}")
    return {"name": event_name, "type": "DynamoDB", "table_name": table_name, "stream_arn": latest, **common}


# ---------------------------------------------------------------------------
# deploy
# ---------------------------------------------------------------------------


def resolved_outputs(resolver: Resolver, template: dict[str, Any], stack: dict[str, Any]) -> dict[str, str]:
    """The stack's Outputs, plus those the emulator stack could not hold (they refer to
    resources created outside it); Outputs on the local runner's resources are left out."""
    outputs = {o["OutputKey"]: o.get("OutputValue") for o in stack.get("Outputs", [])}
    for key, output in template.get("Outputs", {}).items():
        if key in outputs or ("Condition" in output and not resolver.condition(output["Condition"])):
            continue
        try:
            outputs[key] = as_env_string(resolver.resolve(output["Value"]))
        except Unresolvable:
            continue
    return outputs


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
        "outputs": resolved_outputs(resolver, template, stack),
        "resources": {**{lid: r["physical"] for lid, r in resources.items() if lid not in created}, **created},
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
