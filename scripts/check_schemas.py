#!/usr/bin/env python3
"""Checks the CMP JSON Schemas, the sample events and the OpenAPI document.

Run from anywhere:  .venv/bin/python scripts/check_schemas.py [-v]

* schemas/*.schema.json: valid draft 2020-12 schemas, `$id` = urn:gamma-airways:cmp:schema:<name>,
  every `$ref` resolvable through a registry keyed by `$id` only (as the Rust `jsonschema` crate
  sees them), every object closed, every free string bounded;
* events/*.json: each sample envelope (and each event of batch.json) is valid, with formats asserted;
  e-mail addresses use reserved example domains; phone numbers are valid for their country when the
  optional `phonenumbers` package is importable;
* events/invalid/*.json: each is rejected, and only for the reason listed in EXPECTED_INVALID
  (described in events/invalid/README.md);
* events/apigw-*.json and events/kinesis-batch.json: well-formed Lambda events that carry exactly the
  sample events;
* infra/template.yaml: the Glue tables of the analyst dataset have exactly the columns, types and
  partition key of schemas/analytics.tables.json (which a Rust test holds to the code that writes
  the Parquet files);
* docs/openapi.yaml: a valid OpenAPI 3.1 document (openapi-spec-validator, when installed), whose
  examples validate against the schemas they illustrate.

Ends with a line `N passed, N failed` and exits non-zero on any failure.
"""
from __future__ import annotations

import base64
import json
import re
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
EVENTS = ROOT / "events"
INVALID = EVENTS / "invalid"
OPENAPI = ROOT / "docs" / "openapi.yaml"
URN_PREFIX = "urn:gamma-airways:cmp:schema:"
ENVELOPE_ID = URN_PREFIX + "envelope"
SINGLE_SAMPLES = [
    "customer.profile_observed.json",
    "customer.interaction_logged.json",
    "booking.recorded.json",
    "customer.consent_changed.json",
    "flight.disrupted.json",
]
EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net")

# invalid sample -> (JSON pointer every error must point at, the keywords allowed to fail there)
EXPECTED_INVALID: dict[str, tuple[str, set[str]]] = {
    "missing-id.json": ("", {"required"}),
    "bad-email.json": ("/data/emails/0/address", {"format", "pattern"}),
    "unknown-field.json": ("/data", {"additionalProperties"}),
    "unknown-event-type.json": ("/type", {"enum"}),
    "wrong-value-type.json": ("/data/check_in/bags", {"type"}),
    "no-identifier.json": ("/data", {"anyOf"}),
    "dataschema-mismatch.json": ("/dataschema", {"const"}),
    "time-without-offset.json": ("/time", {"format", "pattern"}),
}

# objects that are deliberately open: the envelope's `data` is closed by the schema of its type
OPEN_OBJECTS_ALLOWED = {(ENVELOPE_ID, "/properties/data")}

VERBOSE = "-v" in sys.argv[1:]
passed = 0
failed = 0


def check(name: str, fn: Callable[[], None]) -> None:
    global passed, failed
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - every failure is reported the same way
        failed += 1
        print(f"FAIL {name}: {exc}")
    else:
        passed += 1
        if VERBOSE:
            print(f"ok   {name}")


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def pointer(parts: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


# ---------------------------------------------------------------------------------------------
# schemas

schema_files = sorted(SCHEMAS.glob("*.schema.json"))
schemas: dict[str, dict] = {}  # $id -> contents
for f in schema_files:
    doc = load_json(f)
    schemas[doc.get("$id", f"<no $id in {f.name}>")] = doc

# Only the $ids are known to the registry, as with the Rust crate's resources.
registry: Registry = Registry().with_resources(
    (sid, Resource.from_contents(doc, default_specification=DRAFT202012)) for sid, doc in schemas.items()
)


def make_validator(schema: dict, reg: Registry = registry) -> Draft202012Validator:
    return Draft202012Validator(schema, registry=reg, format_checker=Draft202012Validator.FORMAT_CHECKER)


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Yields (json pointer, sub-schema) for every schema object in a schema document."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            if key in ("properties", "$defs", "patternProperties", "dependentSchemas"):
                for k, v in value.items():
                    yield from walk(v, f"{path}/{key}/{k}")
            elif key in ("items", "not", "if", "then", "else", "additionalProperties", "contains", "propertyNames"):
                yield from walk(value, f"{path}/{key}")
            elif key in ("allOf", "anyOf", "oneOf", "prefixItems"):
                for i, v in enumerate(value):
                    yield from walk(v, f"{path}/{key}/{i}")


def check_schema_file(f: Path) -> Callable[[], None]:
    def run() -> None:
        doc = load_json(f)
        Draft202012Validator.check_schema(doc)
        if doc.get("$schema") != "https://json-schema.org/draft/2020-12/schema":
            raise AssertionError("$schema is not draft 2020-12")
        want = URN_PREFIX + f.name.removesuffix(".schema.json")
        if doc.get("$id") != want:
            raise AssertionError(f"$id is {doc.get('$id')!r}, expected {want!r}")
        problems = []
        resolver = registry.resolver(base_uri=want)
        for path, sub in walk(doc):
            types = sub.get("type")
            types = types if isinstance(types, list) else [types]
            if "string" in types and "maxLength" not in sub and "enum" not in sub and "const" not in sub:
                problems.append(f"{path}: string without maxLength")
            if "object" in types and sub.get("additionalProperties") is not False \
                    and (want, path) not in OPEN_OBJECTS_ALLOWED:
                problems.append(f"{path}: object without additionalProperties: false")
            if "array" in types and "maxItems" not in sub:
                problems.append(f"{path}: array without maxItems")
            if "$ref" in sub:
                ref = sub["$ref"]
                if not (ref.startswith("#") or ref.startswith(URN_PREFIX)):
                    problems.append(f"{path}: $ref {ref!r} is neither local nor a CMP urn")
                try:
                    resolver.lookup(ref)
                except Exception as exc:  # noqa: BLE001
                    problems.append(f"{path}: $ref {ref!r} does not resolve: {exc}")
        if problems:
            raise AssertionError("; ".join(problems))
    return run


for f in schema_files:
    check(f"schema {f.name}", check_schema_file(f))

envelope = schemas.get(ENVELOPE_ID)
if envelope is None:
    print(f"FAIL no schema with $id {ENVELOPE_ID}")
    sys.exit(1)
envelope_validator = make_validator(envelope)


def assert_valid(instance: Any, what: str) -> None:
    errors = sorted(envelope_validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        raise AssertionError(
            f"{what} is invalid: " + "; ".join(f"{pointer(e.absolute_path) or '/'}: {e.message}" for e in errors)
        )


# ---------------------------------------------------------------------------------------------
# sample events


def all_strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from all_strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from all_strings(v)


EMAIL_RE = re.compile(r"[^\s@\"]+@([A-Za-z0-9.-]+)")


def check_personal_data(event: dict, what: str) -> None:
    for s in all_strings(event):
        for m in EMAIL_RE.finditer(s):
            domain = m.group(1).lower().rstrip(".")
            if not any(domain == d or domain.endswith("." + d) for d in EXAMPLE_DOMAINS):
                raise AssertionError(f"{what}: e-mail {m.group(0)!r} is not on an example domain")


try:
    import phonenumbers  # optional: pip install phonenumbers
except ImportError:  # pragma: no cover - depends on the environment
    phonenumbers = None
    print("skip phone number validity: the phonenumbers package is not installed")


def phone_numbers(event: dict) -> Iterator[tuple[str, str | None]]:
    """Yields (number, default region) for every phone number in an event's data."""
    data = event.get("data", {})
    region = data.get("nationality") or (data.get("address") or {}).get("country")
    for p in data.get("phones", []):
        yield p["number"], region
    for holder in [data.get("customer", {}), data.get("contact", {}), *data.get("passengers", [])]:
        if "phone" in holder:
            yield holder["phone"], region


def check_phones(event: dict, what: str) -> None:
    if phonenumbers is None:
        return
    for number, region in phone_numbers(event):
        raw = "+" + number[2:] if number.startswith("00") else number
        if not raw.startswith("+") and region is None:
            raise AssertionError(f"{what}: national number {number!r} but no country to read it with")
        parsed = phonenumbers.parse(raw, None if raw.startswith("+") else region)
        if not phonenumbers.is_valid_number(parsed):
            raise AssertionError(f"{what}: {number!r} is not a valid phone number")


def check_sample(event: Any, what: str) -> None:
    assert_valid(event, what)
    check_personal_data(event, what)
    check_phones(event, what)


for name in SINGLE_SAMPLES:
    check(f"sample {name}", lambda name=name: check_sample(load_json(EVENTS / name), name))


def check_batch() -> None:
    batch = load_json(EVENTS / "batch.json")
    if set(batch) != {"events"}:
        raise AssertionError("batch.json must be {\"events\": [...]}")
    events = batch["events"]
    if not 1 <= len(events) <= 500:
        raise AssertionError(f"batch has {len(events)} events")
    keys = [(e["source"], e["id"]) for e in events]
    if len(set(keys)) != len(keys):
        raise AssertionError("duplicate source+id in batch")
    for i, e in enumerate(events):
        check_sample(e, f"batch.json /events/{i}")


check("sample batch.json", check_batch)


# outbound events (published by the platform): each sample validates against the outbound schema
OUTBOUND_ID = URN_PREFIX + "outbound"


def check_outbound(f: Path) -> Callable[[], None]:
    def run() -> None:
        # the outbound stream carries customer change events and notification requests
        sid = URN_PREFIX + "notification.requested" if f.name.startswith("notification.") else OUTBOUND_ID
        schema = schemas.get(sid)
        if schema is None:
            raise AssertionError(f"no schema with $id {sid}")
        errors = list(make_validator(schema).iter_errors(load_json(f)))
        if errors:
            raise AssertionError("; ".join(f"{pointer(e.absolute_path) or '/'}: {e.message}" for e in errors))
    return run


for f in sorted((EVENTS / "outbound").glob("*.json")):
    check(f"outbound sample {f.name}", check_outbound(f))


def check_invalid(f: Path) -> Callable[[], None]:
    def run() -> None:
        if f.name not in EXPECTED_INVALID:
            raise AssertionError("not listed in EXPECTED_INVALID (and events/invalid/README.md)")
        want_path, want_keywords = EXPECTED_INVALID[f.name]
        event = load_json(f)
        if "_expect" in json.dumps(event):
            raise AssertionError("invalid samples carry no _expect field")
        errors = list(envelope_validator.iter_errors(event))
        if not errors:
            raise AssertionError("was accepted")
        for e in errors:
            got = pointer(e.absolute_path)
            if got != want_path or e.validator not in want_keywords:
                raise AssertionError(
                    f"unexpected error {e.validator} at {got!r} ({e.message}); expected {sorted(want_keywords)} at {want_path!r}"
                )
        if VERBOSE:
            for e in errors:
                print(f"     {f.name}: {e.validator} at {pointer(e.absolute_path)!r}: {e.message}")
    return run


for f in sorted(INVALID.glob("*.json")):
    check(f"invalid {f.name}", check_invalid(f))


def check_invalid_readme() -> None:
    text = (INVALID / "README.md").read_text(encoding="utf-8")
    missing = [n for n in EXPECTED_INVALID if n not in text]
    if missing:
        raise AssertionError(f"README.md does not describe {missing}")
    absent = [n for n in EXPECTED_INVALID if not (INVALID / n).exists()]
    if absent:
        raise AssertionError(f"listed but missing: {absent}")


check("invalid README.md", check_invalid_readme)

# ---------------------------------------------------------------------------------------------
# the Rust engine: jsonschema-rs is the Python binding of the Rust `jsonschema` crate the CMP uses.
# Optional (pip install jsonschema-rs); run with formats asserted and not, as the Rust side may do either.

try:
    import jsonschema_rs
except ImportError:  # pragma: no cover - depends on the environment
    jsonschema_rs = None
    print("skip Rust-engine cross-check: the jsonschema-rs package is not installed")


def rs_keyword(error: Any) -> str:
    name = type(error.kind).__name__.split("_")[-1]
    return {"Constant": "const"}.get(name, name[:1].lower() + name[1:])


def check_rust_engine(validate_formats: bool) -> Callable[[], None]:
    def run() -> None:
        reg = jsonschema_rs.Registry([(sid, doc) for sid, doc in schemas.items()])
        v = jsonschema_rs.validator_for(envelope, registry=reg, validate_formats=validate_formats)
        samples = [load_json(EVENTS / n) for n in SINGLE_SAMPLES] + load_json(EVENTS / "batch.json")["events"]
        for i, sample in enumerate(samples):
            errs = list(v.iter_errors(sample))
            if errs:
                raise AssertionError(f"sample {i} rejected: {errs[0].message}")
        for name, (want_path, want_keywords) in EXPECTED_INVALID.items():
            errs = list(v.iter_errors(load_json(INVALID / name)))
            if not errs:
                raise AssertionError(f"{name} was accepted")
            for e in errs:
                got = pointer(e.instance_path)
                if got != want_path or rs_keyword(e) not in want_keywords:
                    raise AssertionError(f"{name}: unexpected {rs_keyword(e)} at {got!r}: {e.message}")
    return run


if jsonschema_rs is not None:
    check("Rust engine, formats asserted", check_rust_engine(True))
    check("Rust engine, formats as annotations", check_rust_engine(False))

# ---------------------------------------------------------------------------------------------
# Lambda trigger events

API_REQUEST_ID = re.compile(r"^[A-Za-z0-9]{15}=$")


def check_apigw(name: str, method: str, route: str, path: str) -> Callable[[], None]:
    def run() -> None:
        ev = load_json(EVENTS / name)
        assert ev["version"] == "2.0", "version"
        assert ev["routeKey"] == route and ev["requestContext"]["routeKey"] == route, "routeKey"
        rc = ev["requestContext"]
        assert rc["http"]["method"] == method, "method"
        stage = rc["stage"]
        assert stage == "dev", "stage"
        # an HTTP API with a named stage puts the stage in front of the path
        assert ev["rawPath"] == f"/{stage}{path}" == rc["http"]["path"], "rawPath / http.path"
        assert API_REQUEST_ID.match(rc["requestId"]), "requestId"
        assert isinstance(rc["timeEpoch"], int) and rc["timeEpoch"] > 1_700_000_000_000, "timeEpoch"
        assert all(k == k.lower() for k in ev["headers"]), "header names are lower case"
        assert ev["headers"]["authorization"].startswith("Bearer "), "authorization"
        assert ev["isBase64Encoded"] is False, "isBase64Encoded"
        if method == "POST":
            assert ev["headers"]["content-type"] == "application/json", "content-type"
            body = ev["body"]
            assert body == (EVENTS / "customer.profile_observed.json").read_text(encoding="utf-8"), \
                "body is not the profile_observed sample"
            assert ev["headers"]["content-length"] == str(len(body.encode("utf-8"))), "content-length"
            check_sample(json.loads(body), f"{name} body")
        else:
            cid = ev["pathParameters"]["id"]
            assert re.fullmatch(r"cus_[0-9a-f]{32}", cid), "pathParameters.id"
            assert path.endswith(cid), "path and pathParameters disagree"
            assert "body" not in ev, "GET has no body"
    return run


check("apigw-post-events.json", check_apigw("apigw-post-events.json", "POST", "POST /v1/events", "/v1/events"))
check("apigw-get-profile.json", check_apigw("apigw-get-profile.json", "GET", "GET /v1/profiles/{id}",
                                            "/v1/profiles/cus_0192f1a3c4d57e8f9a0b1c2d3e4f5a6b"))


def check_kinesis() -> None:
    ev = load_json(EVENTS / "kinesis-batch.json")
    records = ev["Records"]
    assert len(records) == len(SINGLE_SAMPLES), "one record per sample"
    last_seq = -1
    for rec, sample in zip(records, SINGLE_SAMPLES):
        k = rec["kinesis"]
        assert k["kinesisSchemaVersion"] == "1.0", "kinesisSchemaVersion"
        assert re.fullmatch(r"[0-9a-f]{64}", k["partitionKey"]), "partitionKey is 64 hex digits"
        assert re.fullmatch(r"[0-9]{56}", k["sequenceNumber"]), "sequenceNumber"
        assert int(k["sequenceNumber"]) > last_seq, "sequence numbers increase"
        last_seq = int(k["sequenceNumber"])
        assert isinstance(k["approximateArrivalTimestamp"], (int, float)), "approximateArrivalTimestamp"
        assert rec["eventSource"] == "aws:kinesis" and rec["eventVersion"] == "1.0", "eventSource/Version"
        assert rec["eventName"] == "aws:kinesis:record", "eventName"
        assert rec["eventID"] == "shardId-000000000000:" + k["sequenceNumber"], "eventID"
        assert rec["awsRegion"] == "eu-west-1", "awsRegion"
        assert rec["eventSourceARN"].startswith("arn:aws:kinesis:eu-west-1:"), "eventSourceARN"
        assert rec["invokeIdentityArn"].startswith("arn:aws:iam::"), "invokeIdentityArn"
        decoded = json.loads(base64.b64decode(k["data"], validate=True).decode("utf-8"))
        assert decoded == load_json(EVENTS / sample), f"record data is not {sample}"
        check_sample(decoded, f"kinesis record for {sample}")


check("kinesis-batch.json", check_kinesis)

# ---------------------------------------------------------------------------------------------
# OpenAPI


def check_openapi() -> None:
    try:
        import yaml
    except ImportError:
        print("skip docs/openapi.yaml: PyYAML is not installed")
        return
    spec = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    try:
        from openapi_spec_validator import validate
    except ImportError:
        print("skip openapi-spec-validator: not installed")
    else:
        validate(spec, base_uri=OPENAPI.as_uri())

    # Validate every example against its schema. The document is registered under its file URI and
    # each schema file under both its file URI (as the document refers to it) and its $id.
    doc_uri = OPENAPI.as_uri()
    reg = registry.with_resource(doc_uri, Resource.from_contents(spec, default_specification=DRAFT202012))
    for f in schema_files:
        reg = reg.with_resource(f.as_uri(), Resource.from_contents(load_json(f), default_specification=DRAFT202012))
    examples = spec.get("components", {}).get("examples", {})
    problems: list[str] = []
    count = 0

    def example_values(media: dict) -> Iterator[tuple[str, Any]]:
        if "example" in media:
            yield "example", media["example"]
        for key, ex in media.get("examples", {}).items():
            if "$ref" in ex:
                ex = examples[ex["$ref"].rsplit("/", 1)[-1]]
            if "value" in ex:
                yield key, ex["value"]
            elif "externalValue" in ex:
                yield key, load_json((OPENAPI.parent / ex["externalValue"]).resolve())

    def check_examples(where: str, schema_ptr: list[str], media: dict) -> None:
        """Validates the examples of `media` against the schema at `schema_ptr` in the document."""
        nonlocal count
        v = Draft202012Validator(
            {"$ref": doc_uri + "#" + pointer(schema_ptr)},
            registry=reg,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        for key, value in example_values(media):
            count += 1
            errs = list(v.iter_errors(value))
            if errs:
                problems.append(f"{where} [{key}]: " + "; ".join(
                    f"{pointer(e.absolute_path) or '/'}: {e.message}" for e in errs[:3]))

    def deref(node: dict, ptr: list[str]) -> tuple[dict, list[str]]:
        if "$ref" in node:
            ref = node["$ref"]
            assert ref.startswith("#/"), ref
            ptr = [part.replace("~1", "/").replace("~0", "~") for part in ref[2:].split("/")]
            node = spec
            for part in ptr:
                node = node[part]
        return node, ptr

    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            where = f"{method.upper()} {path}"
            base = ["paths", path, method]
            for i, p in enumerate(op.get("parameters", [])):
                p, pptr = deref(p, base + ["parameters", str(i)])
                if "example" in p:
                    check_examples(f"{where} parameter {p['name']}", pptr + ["schema"], {"example": p["example"]})
            for ctype, media in op.get("requestBody", {}).get("content", {}).items():
                check_examples(f"{where} request {ctype}", base + ["requestBody", "content", ctype, "schema"], media)
            for status, resp in op["responses"].items():
                resp, rptr = deref(resp, base + ["responses", status])
                for ctype, media in resp.get("content", {}).items():
                    check_examples(f"{where} {status} {ctype}", rptr + ["content", ctype, "schema"], media)
    if problems:
        raise AssertionError("; ".join(problems))
    if count < 20:
        raise AssertionError(f"only {count} examples were checked")
    if VERBOSE:
        print(f"     {count} OpenAPI examples validated")


check("docs/openapi.yaml", check_openapi)


def check_glue_tables() -> None:
    import cfnlint.decode

    template, matches = cfnlint.decode.decode(str(ROOT / "infra" / "template.yaml"))
    if template is None:
        raise AssertionError(f"template does not parse: {matches}")
    spec = load_json(SCHEMAS / "analytics.tables.json")
    glue = {
        res["Properties"]["TableInput"]["Name"]: res["Properties"]["TableInput"]
        for res in template["Resources"].values()
        if res.get("Type") == "AWS::Glue::Table"
    }
    problems = []
    if set(glue) != {t["name"] for t in spec["tables"]}:
        problems.append(f"Glue tables {sorted(glue)} != {sorted(t['name'] for t in spec['tables'])}")
    part = spec["partition_key"]
    for t in spec["tables"]:
        table = glue.get(t["name"])
        if table is None:
            continue
        have = [(c["Name"], c["Type"], c.get("Comment")) for c in table["StorageDescriptor"]["Columns"]]
        want = [(c["name"], c["type"], c["comment"]) for c in t["columns"]]
        if have != want:
            diff = [f"{h} != {w}" for h, w in zip(have, want) if h != w] or [f"{len(have)} columns, want {len(want)}"]
            problems.append(f"{t['name']}: " + "; ".join(diff))
        keys = [(k["Name"], k["Type"]) for k in table.get("PartitionKeys", [])]
        if keys != [(part["name"], part["type"])]:
            problems.append(f"{t['name']}: partition keys {keys}")
        location = json.dumps(table["StorageDescriptor"]["Location"])
        template_loc = json.dumps(table["Parameters"].get("storage.location.template"))
        if f"/{t['name']}/" not in location or f"/{t['name']}/{part['name']}=${{!{part['name']}}}/" not in template_loc:
            problems.append(f"{t['name']}: location {location} / {template_loc}")
        if "ParquetHiveSerDe" not in table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"]:
            problems.append(f"{t['name']}: not a Parquet SerDe")
    if problems:
        raise AssertionError("; ".join(problems))


check("infra/template.yaml Glue tables = schemas/analytics.tables.json", check_glue_tables)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
