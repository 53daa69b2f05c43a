//! Least privilege, proved against the template: moto enforces no IAM, so this test compares, for
//! every function, the grants its capabilities declare (`shared/lambda/src/wiring/capability.rs`, the only
//! way a function's wiring is built) with what `infra/template.yaml` grants its role, both ways:
//! nothing missing, nothing extra. It also checks that every environment variable a function's
//! capabilities require is set for it, and that a function's own variables are ones it reads.
//! The local stack builds every function through the same capability list (`Wiring::build`), so
//! a handler that needs an undeclared adapter fails the integration tests at cold start.
use cmp_lambda::wiring::capability::{FunctionSpec, Grant, Resource, FUNCTIONS};
use serde_yaml::Value;
use std::collections::BTreeSet;

const TEMPLATE: &str = include_str!("../../infra/template.yaml");

fn template() -> Value {
    serde_yaml::from_str(TEMPLATE).expect("infra/template.yaml parses")
}

fn resources(t: &Value) -> &serde_yaml::Mapping {
    t.get("Resources").and_then(Value::as_mapping).expect("Resources")
}

/// `x` or `[x, y]` as a list.
fn list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Sequence(s) => s.iter().collect(),
        other => vec![other],
    }
}

/// A resource as the capabilities name it: `!GetAtt X.Arn` → `X`, `!Sub '${X.Arn}/s'` → `X/s`,
/// the function's own log group → `<own log group>`.
fn resource(v: &Value, spec: &FunctionSpec) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Tagged(t) if t.tag == "GetAtt" => {
            let s = t.value.as_str().expect("!GetAtt X.Arn");
            s.strip_suffix(".Arn").unwrap_or(s).to_string()
        }
        Value::Tagged(t) if t.tag == "Sub" => {
            let s = t.value.as_str().expect("!Sub with a string");
            let rest = s.strip_prefix("${").expect("!Sub '${X.Arn}…'");
            let (logical, suffix) = rest.split_once(".Arn}").expect("!Sub '${X.Arn}…'");
            format!("{logical}{suffix}")
        }
        other => panic!("unexpected resource {other:?}"),
    };
    if s == spec.log_group() {
        Resource::OwnLogGroup.to_string()
    } else {
        s
    }
}

/// A condition value: a string, or `!Sub '<service>.${AWS::Region}.${AWS::URLSuffix}'` → service.
fn condition_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Tagged(t) if t.tag == "Sub" => {
            let s = t.value.as_str().expect("!Sub with a string");
            s.strip_suffix(".${AWS::Region}.${AWS::URLSuffix}").expect("a kms:ViaService of this region").to_string()
        }
        other => panic!("unexpected condition value {other:?}"),
    }
}

/// Each condition of a statement, one alternative each (a list of values is one grant per value).
fn conditions(stmt: &Value) -> Vec<String> {
    let Some(c) = stmt.get("Condition") else { return vec![String::new()] };
    let map = c.as_mapping().expect("Condition is a map");
    assert_eq!(map.len(), 1, "one condition operator per statement: {c:?}");
    let (op, keys) = map.iter().next().unwrap();
    let keys = keys.as_mapping().expect("condition keys");
    assert_eq!(keys.len(), 1, "one condition key per statement: {c:?}");
    let (key, values) = keys.iter().next().unwrap();
    list(values)
        .into_iter()
        .map(|v| format!("{} {}={}", op.as_str().unwrap(), key.as_str().unwrap(), condition_value(v)))
        .collect()
}

/// What the template grants a function's role, one line per action, resource and condition.
fn granted(t: &Value, spec: &FunctionSpec) -> BTreeSet<String> {
    let policy = resources(t)
        .get(format!("{}FunctionPolicy", spec.name))
        .unwrap_or_else(|| panic!("{}FunctionPolicy is in the template", spec.name));
    let stmts = policy["Properties"]["PolicyDocument"]["Statement"].as_sequence().expect("statements");
    let mut out = BTreeSet::new();
    for s in stmts {
        let effect = s["Effect"].as_str().expect("Effect");
        for a in list(&s["Action"]) {
            for r in list(&s["Resource"]) {
                for c in conditions(s) {
                    let mut line = format!("{effect} {} on {}", a.as_str().unwrap(), resource(r, spec));
                    if !c.is_empty() {
                        line.push_str(&format!(" if {c}"));
                    }
                    out.insert(line);
                }
            }
        }
    }
    out
}

fn declared(spec: &FunctionSpec) -> BTreeSet<String> {
    spec.grants().iter().map(Grant::to_string).collect()
}

/// (missing from the template, extra in the template) for one function.
fn diff(t: &Value, spec: &FunctionSpec) -> (Vec<String>, Vec<String>) {
    let (g, d) = (granted(t, spec), declared(spec));
    (d.difference(&g).cloned().collect(), g.difference(&d).cloned().collect())
}

#[test]
fn every_function_is_granted_exactly_what_its_capabilities_declare() {
    let t = template();
    let mut report = String::new();
    for spec in FUNCTIONS {
        let (missing, extra) = diff(&t, spec);
        for m in &missing {
            report.push_str(&format!("{}: missing from the template: {m}\n", spec.binary));
        }
        for e in &extra {
            report.push_str(&format!("{}: granted but not declared: {e}\n", spec.binary));
        }
    }
    assert!(report.is_empty(), "template and capabilities differ:\n{report}");
}

#[test]
fn every_function_of_the_template_has_a_capability_list() {
    let t = template();
    let functions: BTreeSet<String> = resources(&t)
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|(k, _)| k.as_str().unwrap().to_string())
        .collect();
    let specs: BTreeSet<String> = FUNCTIONS.iter().map(|s| format!("{}Function", s.name)).collect();
    assert_eq!(functions, specs);
    for spec in FUNCTIONS {
        let f = &resources(&t)[format!("{}Function", spec.name).as_str()];
        assert_eq!(f["Metadata"]["BuildProperties"]["Binary"].as_str(), Some(spec.binary), "{}", spec.name);
        assert!(std::path::Path::new(&format!("{}/../functions/{}", env!("CARGO_MANIFEST_DIR"), spec.binary)).is_dir());
    }
}

#[test]
fn a_grant_removed_from_the_template_is_reported_missing() {
    // the audit export's PutObject on the audit bucket, taken out of its policy
    let mut t = template();
    let spec = FUNCTIONS.iter().find(|s| s.binary == "audit_export").unwrap();
    let stmts = t["Resources"]["AuditExportFunctionPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence_mut()
        .unwrap();
    let before = stmts.len();
    stmts.retain(|s| {
        !list(&s["Action"]).iter().any(|a| a.as_str() == Some("s3:PutObject")) || s["Effect"].as_str() != Some("Allow")
    });
    assert_eq!(stmts.len(), before - 1, "the statement granting s3:PutObject was found and removed");
    let (missing, extra) = diff(&t, spec);
    assert_eq!(missing, vec!["Allow s3:PutObject on AuditBucket/audit/*".to_string()]);
    assert!(extra.is_empty());
}

#[test]
fn an_unused_grant_added_to_the_template_is_reported_extra() {
    // the audit export never reads the profile table or unwraps the blind-index key
    let mut t = template();
    let spec = FUNCTIONS.iter().find(|s| s.binary == "audit_export").unwrap();
    let extra_stmt: Value =
        serde_yaml::from_str("Effect: Allow\nAction: [dynamodb:GetItem]\nResource: !GetAtt ProfilesTable.Arn\n")
            .unwrap();
    let kms_stmt: Value = serde_yaml::from_str(
        "Effect: Allow\nAction: kms:Decrypt\nResource: !GetAtt DataKey.Arn\nCondition:\n  StringEquals:\n    kms:EncryptionContext:purpose: blind-index\n",
    )
    .unwrap();
    let stmts = t["Resources"]["AuditExportFunctionPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence_mut()
        .unwrap();
    stmts.push(extra_stmt);
    stmts.push(kms_stmt);
    let (missing, extra) = diff(&t, spec);
    assert!(missing.is_empty(), "{missing:?}");
    assert_eq!(
        extra,
        vec![
            "Allow dynamodb:GetItem on ProfilesTable".to_string(),
            "Allow kms:Decrypt on DataKey if StringEquals kms:EncryptionContext:purpose=blind-index".to_string(),
        ]
    );
}

/// The variables set for a function: the template's globals and its own.
fn environment(t: &Value, spec: &FunctionSpec) -> (BTreeSet<String>, BTreeSet<String>) {
    let names = |v: &Value| -> BTreeSet<String> {
        v.as_mapping().map(|m| m.keys().filter_map(|k| k.as_str().map(str::to_string)).collect()).unwrap_or_default()
    };
    let globals = names(&t["Globals"]["Function"]["Environment"]["Variables"]);
    let own = names(&resources(t)[format!("{}Function", spec.name).as_str()]["Properties"]["Environment"]["Variables"]);
    (globals, own)
}

#[test]
fn every_variable_a_function_needs_is_set_for_it_and_its_own_are_read() {
    let t = template();
    let mut report = String::new();
    for spec in FUNCTIONS {
        let (globals, own) = environment(&t, spec);
        let reads: BTreeSet<&str> = spec.env().iter().map(|(k, _)| *k).collect();
        for (k, required) in spec.env() {
            if required && !globals.contains(k) && !own.contains(k) {
                report.push_str(&format!("{}: {k} is required and not set\n", spec.binary));
            }
        }
        for k in &own {
            if !reads.contains(k.as_str()) {
                report.push_str(&format!("{}: {k} is set but no capability reads it\n", spec.binary));
            }
        }
    }
    assert!(report.is_empty(), "{report}");
}

#[test]
fn the_audit_export_needs_neither_the_key_table_nor_the_blind_index() {
    // the bug this test was written for: every function used to unwrap the blind-index key at
    // cold start, which the audit export's role may not do
    let spec = FUNCTIONS.iter().find(|s| s.binary == "audit_export").unwrap();
    let d = declared(spec);
    assert!(!d.iter().any(|g| g.contains("KeysTable") || g.contains("blind-index")), "{d:#?}");
    assert!(!spec.env().iter().any(|(k, _)| *k == "KEYS_TABLE" || *k == "KMS_KEY_ID"));
}

// ------------------------------------------------------------------ writing the policies

/// The policy statements of a function, rendered from its capabilities: one statement per
/// capability, effect and condition (resources with the same actions together); grants an earlier
/// capability already made are not repeated.
fn policy_yaml(spec: &FunctionSpec) -> String {
    use cmp_lambda::wiring::capability::{Condition, Effect};
    use std::collections::BTreeMap;
    let render_resource = |r: &Resource| match r {
        Resource::Arn(l, "") => format!("!GetAtt {l}.Arn"),
        Resource::Arn(l, s) => format!("!Sub '${{{l}.Arn}}{s}'"),
        Resource::OwnLogGroup => format!("!GetAtt {}.Arn", spec.log_group()),
        Resource::Any => "'*'".to_string(),
    };
    let render_condition = |c: &Condition, pad: &str| -> String {
        let (op, key, value) = match c {
            Condition::None => return String::new(),
            Condition::ViaService(s) => {
                ("StringEquals", "kms:ViaService", format!("!Sub '{s}.${{AWS::Region}}.${{AWS::URLSuffix}}'"))
            }
            Condition::Purpose(p) if p.contains('*') => {
                ("StringLike", "kms:EncryptionContext:purpose", format!("'{p}'"))
            }
            Condition::Purpose(p) => ("StringEquals", "kms:EncryptionContext:purpose", p.to_string()),
            Condition::CustomerContext => {
                ("ForAnyValue:StringEquals", "kms:EncryptionContextKeys", "customer_id".to_string())
            }
            Condition::LeadingKeys(p) => ("ForAllValues:StringLike", "dynamodb:LeadingKeys", format!("'{p}'")),
            Condition::S3Prefix(p) => ("StringLike", "s3:prefix", format!("'{p}'")),
        };
        format!("{pad}Condition:\n{pad}  {op}:\n{pad}    {key}: {value}\n")
    };
    let pad = "            ";
    let mut seen: BTreeSet<Grant> = BTreeSet::new();
    let mut out = String::new();
    for cap in spec.capabilities {
        let mut groups: BTreeMap<(Effect, Condition), BTreeMap<Resource, Vec<&'static str>>> = BTreeMap::new();
        for g in cap.grants() {
            if seen.insert(g) {
                groups.entry((g.effect, g.condition)).or_default().entry(g.resource).or_default().push(g.action);
            }
        }
        let mut n = 0;
        for ((effect, condition), by_resource) in groups {
            // resources with identical actions share a statement
            let mut by_actions: BTreeMap<Vec<&'static str>, Vec<Resource>> = BTreeMap::new();
            for (r, mut actions) in by_resource {
                actions.sort();
                actions.dedup();
                by_actions.entry(actions).or_default().push(r);
            }
            for (actions, rs) in by_actions {
                n += 1;
                let sid = if n == 1 { format!("{cap:?}") } else { format!("{cap:?}{n}") };
                let effect = match effect {
                    Effect::Allow => "Allow",
                    Effect::Deny => "Deny",
                };
                out.push_str(&format!("          - Sid: {sid}\n{pad}Effect: {effect}\n"));
                out.push_str(&format!("{pad}Action: [{}]\n", actions.join(", ")));
                if rs.len() == 1 {
                    out.push_str(&format!("{pad}Resource: {}\n", render_resource(&rs[0])));
                } else {
                    out.push_str(&format!("{pad}Resource:\n"));
                    for r in &rs {
                        out.push_str(&format!("{pad}  - {}\n", render_resource(r)));
                    }
                }
                out.push_str(&render_condition(&condition, pad));
            }
        }
    }
    out
}

/// `UPDATE_TEMPLATE=1 cargo test -p cmp-tests --test least_privilege` rewrites every function
/// policy's statements from the capabilities (then review the diff).
#[test]
fn write_policies_when_asked() {
    if std::env::var("UPDATE_TEMPLATE").is_err() {
        return;
    }
    let path = format!("{}/../infra/template.yaml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for spec in FUNCTIONS {
        let head = format!("  {}FunctionPolicy:", spec.name);
        let start = lines.iter().position(|l| *l == head).unwrap_or_else(|| panic!("{head}"));
        let stmt = start + lines[start..].iter().position(|l| l.trim() == "Statement:").unwrap();
        // the statements run until the next line indented 8 or less (blank lines included)
        let mut end = stmt + 1;
        while end < lines.len() {
            let l = &lines[end];
            let indent = l.len() - l.trim_start().len();
            if !l.trim().is_empty() && indent <= 8 {
                break;
            }
            end += 1;
        }
        // keep the blank line before the next resource
        while end > stmt + 1 && lines[end - 1].trim().is_empty() {
            end -= 1;
        }
        let new: Vec<String> = policy_yaml(spec).lines().map(str::to_string).collect();
        lines.splice(stmt + 1..end, new);
    }
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
}

/// What `cargo tree` says a function links: the AWS SDK service crates and the workspace crates.
fn linked(binary: &str) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["tree", "-p", binary, "-e", "normal", "--prefix", "none", "--format", "{p}"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(out.status.success(), "cargo tree -p {binary}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with("aws-sdk-") || n.starts_with("cmp-") || *n == "lambda_http")
        .map(str::to_string)
        .collect()
}

#[test]
fn every_function_links_the_sdk_crates_of_its_services_and_no_lab_code() {
    use cmp_lambda::wiring::Service;
    let mut report = String::new();
    for spec in FUNCTIONS {
        let linked = linked(spec.binary);
        let mut expected: BTreeSet<String> = [
            (Service::DynamoDb, "aws-sdk-dynamodb"),
            (Service::Kinesis, "aws-sdk-kinesis"),
            (Service::Kms, "aws-sdk-kms"),
            (Service::S3, "aws-sdk-s3"),
            (Service::Sqs, "aws-sdk-sqs"),
        ]
        .into_iter()
        .filter(|(s, _)| spec.uses(*s))
        .map(|(_, c)| c.to_string())
        .collect();
        // aws-config's credential chain (web identity, assume role) brings STS to every function
        expected.insert("aws-sdk-sts".into());
        let sdks: BTreeSet<String> = linked.iter().filter(|c| c.starts_with("aws-sdk-")).cloned().collect();
        if sdks != expected {
            report.push_str(&format!("{}: links {sdks:?}, its services need {expected:?}\n", spec.binary));
        }
        for banned in ["cmp-lab", "cmpctl", "cmp-tests"] {
            if linked.contains(banned) {
                report.push_str(&format!("{} links {banned}\n", spec.binary));
            }
        }
        let http = spec.has(cmp_lambda::wiring::Capability::HttpTrigger);
        if linked.contains("lambda_http") != http {
            report.push_str(&format!("{}: lambda_http linked: {}, HTTP trigger: {http}\n", spec.binary, !http));
        }
    }
    assert!(report.is_empty(), "{report}");
}
