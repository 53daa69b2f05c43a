//! What a function may do, declared once: each [`Capability`] names a thing the code does (read
//! profiles, append to the audit trail, unwrap the blind-index key, be triggered by the inbound
//! stream...) and yields both the IAM grants it needs ([`Capability::grants`]) and the environment
//! variables it reads ([`Capability::env`]). A function's [`crate::wiring::Wiring`] is built
//! *only* through its capability list ([`FunctionSpec::capabilities`]): an adapter whose capability
//! is not declared is never built, and asking for it fails at cold start. The least-privilege
//! test (`tests/tests/least_privilege.rs`) compares every function's declared grants with what
//! `infra/template.yaml` grants its role, both ways, and checks its environment variables are set.
use std::fmt;

/// An AWS resource of the template, by logical id, with an optional ARN suffix (an index, an
/// object prefix). `Fn` is the function's own log group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    /// `!GetAtt <logical>.Arn`, or `!Sub '${<logical>.Arn}<suffix>'`.
    Arn(&'static str, &'static str),
    /// The function's own log group (`<Function>LogGroup`).
    OwnLogGroup,
    /// `*` (X-Ray has no resource-level permissions).
    Any,
}

/// The condition of a grant, as the template writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Condition {
    None,
    /// KMS used on the caller's behalf by a service (server-side encryption): `kms:ViaService`.
    ViaService(&'static str),
    /// KMS with an encryption context `purpose` (`StringEquals`, or `StringLike` with a `*`).
    Purpose(&'static str),
    /// KMS with an encryption context carrying `customer_id` (per-customer data keys).
    CustomerContext,
    /// DynamoDB items whose partition key starts with the prefix (`dynamodb:LeadingKeys`).
    LeadingKeys(&'static str),
    /// S3 listing under a prefix (`s3:prefix`).
    S3Prefix(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Effect {
    Allow,
    Deny,
}

/// One action on one resource under one condition: the unit the least-privilege test compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Grant {
    pub effect: Effect,
    pub action: &'static str,
    pub resource: Resource,
    pub condition: Condition,
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resource::Arn(l, "") => write!(f, "{l}"),
            Resource::Arn(l, s) => write!(f, "{l}{s}"),
            Resource::OwnLogGroup => write!(f, "<own log group>"),
            Resource::Any => write!(f, "*"),
        }
    }
}

impl fmt::Display for Condition {
    /// The canonical form the least-privilege test also derives from the template.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::None => Ok(()),
            Condition::ViaService(s) => write!(f, "StringEquals kms:ViaService={s}"),
            Condition::Purpose(p) if p.contains('*') => write!(f, "StringLike kms:EncryptionContext:purpose={p}"),
            Condition::Purpose(p) => write!(f, "StringEquals kms:EncryptionContext:purpose={p}"),
            Condition::CustomerContext => write!(f, "ForAnyValue:StringEquals kms:EncryptionContextKeys=customer_id"),
            Condition::LeadingKeys(p) => write!(f, "ForAllValues:StringLike dynamodb:LeadingKeys={p}"),
            Condition::S3Prefix(p) => write!(f, "StringLike s3:prefix={p}"),
        }
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = match self.effect {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        };
        write!(f, "{e} {} on {}", self.action, self.resource)?;
        if self.condition != Condition::None {
            write!(f, " if {}", self.condition)?;
        }
        Ok(())
    }
}

/// The AWS service clients a capability needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    DynamoDb,
    Kinesis,
    Kms,
    S3,
    Sqs,
}

/// Something a function does that needs AWS permissions, configuration or clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    /// Every function: its own log group and X-Ray segments.
    Runtime,
    /// Invoked by API Gateway's HTTP API (the gateway invokes the function; the role needs nothing).
    HttpTrigger,
    /// Invoked by the Kinesis event source mapping of the inbound stream (the mapping reads with
    /// the function's role), failed batches' coordinates sent to the failed-records queue.
    InboundStreamTrigger,
    /// Invoked by the profile table's DynamoDB stream; failures to the failed-records queue.
    ProfilesStreamTrigger,
    /// Invoked by the audit table's DynamoDB stream; failures to the failed-records queue.
    AuditStreamTrigger,
    /// Invoked by the queue of dropped import files.
    ImportFilesTrigger,
    /// Invoked by the queue of import chunks.
    ImportChunksTrigger,
    /// Hashing identifiers into blind indexes: unwraps (and on the very first start creates) the
    /// HMAC key kept wrapped in the keys table. Needed by whatever looks up or indexes a person.
    BlindIndex,
    /// Validating events against the published JSON Schemas (no AWS permission).
    EventSchemas,
    /// Reading golden profiles, timelines, ledgers and lookups (GetItem, BatchGetItem, Query).
    ProfilesRead,
    /// Reading through the profile table's indexes (gsi1, ByOwner).
    ProfilesIndexRead,
    /// Writing new items (profiles, timeline entries, ledger entries) with conditions.
    ProfilesPut,
    /// Updating and deleting items (merges, unmerges, erasure, contested lookups).
    ProfilesUpdate,
    /// Deleting in batches (erasure of a customer's items).
    ProfilesBatchDelete,
    /// Scanning the whole profile table (partner exports, analyst snapshots).
    ProfilesScan,
    /// Writing the import ledger items only (`IMPORT#…`).
    ImportLedger,
    /// Parking events that cannot be processed, sealed under the dead-letter key.
    DeadLetters,
    /// Creating per-customer data keys (first sighting of a customer).
    CustomerKeysCreate,
    /// Unwrapping per-customer data keys (reading personal data).
    CustomerKeysUnwrap,
    /// Destroying per-customer data keys (erasure by crypto-shredding).
    CustomerKeysShred,
    /// Per-partner and analytics pseudonym keys (created on first export, then unwrapped).
    PseudonymKeys,
    /// Appending to the hash-chained audit trail (and reading it back for verification).
    AuditAppend,
    /// Reading the audit trail (the audit route and access exports).
    AuditRead,
    /// Reading and writing compensation cases.
    Cases,
    /// Writing events to the inbound stream.
    InboundStreamWrite,
    /// Writing change events and notification requests to the outbound stream.
    OutboundStreamWrite,
    /// Access exports in the privacy bucket (`access-requests/`).
    PrivacyExports,
    /// Partner exports in the exports bucket (`partner=…/`).
    PartnerExports,
    /// The analyst snapshot in the analytics bucket.
    AnalystSnapshots,
    /// Audit records archived in the Object Lock bucket.
    AuditArchive,
    /// Reading dropped import files and writing rejected rows and summaries beside them.
    ImportFiles,
    /// Queueing import chunks.
    ImportChunksSend,
}

const fn allow(action: &'static str, resource: Resource, condition: Condition) -> Grant {
    Grant { effect: Effect::Allow, action, resource, condition }
}
const fn deny(action: &'static str, resource: Resource) -> Grant {
    Grant { effect: Effect::Deny, action, resource, condition: Condition::None }
}
const fn arn(logical: &'static str) -> Resource {
    Resource::Arn(logical, "")
}
const DATA_KEY: Resource = Resource::Arn("DataKey", "");
const NONE: Condition = Condition::None;

fn all(actions: &[&'static str], resource: Resource, condition: Condition) -> Vec<Grant> {
    actions.iter().map(|a| allow(a, resource, condition)).collect()
}

/// Server-side encryption of a table with the customer-managed key, as DynamoDB uses it on the
/// caller's behalf: reading needs Decrypt and DescribeKey, writing also Encrypt and
/// GenerateDataKey*.
fn table_sse(write: bool) -> Vec<Grant> {
    let mut g = all(&["kms:Decrypt", "kms:DescribeKey"], DATA_KEY, Condition::ViaService("dynamodb"));
    if write {
        g.extend(all(&["kms:Encrypt", "kms:GenerateDataKey*"], DATA_KEY, Condition::ViaService("dynamodb")));
    }
    g
}

fn failed_records_queue() -> Vec<Grant> {
    let mut g = vec![allow("sqs:SendMessage", arn("FailedRecordsQueue"), NONE)];
    g.extend(all(&["kms:GenerateDataKey", "kms:Decrypt"], DATA_KEY, Condition::ViaService("sqs")));
    g
}

fn table_stream(table: &'static str) -> Vec<Grant> {
    let mut g = all(
        &["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"],
        arn(table),
        NONE,
    );
    g.extend(table_sse(false));
    g.extend(failed_records_queue());
    g
}

fn queue_consumer(queue: &'static str) -> Vec<Grant> {
    all(
        &["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"],
        arn(queue),
        NONE,
    )
}

fn bucket_sse(key: &'static str) -> Vec<Grant> {
    all(&["kms:GenerateDataKey", "kms:Decrypt"], arn(key), Condition::ViaService("s3"))
}

fn stream_writer(stream: &'static str) -> Vec<Grant> {
    let mut g = all(&["kinesis:PutRecord", "kinesis:PutRecords"], arn(stream), NONE);
    g.push(allow("kms:GenerateDataKey", DATA_KEY, Condition::ViaService("kinesis")));
    g
}

impl Capability {
    /// The IAM grants this capability needs on the function's role.
    pub fn grants(self) -> Vec<Grant> {
        use Capability::*;
        let profiles = arn("ProfilesTable");
        let keys = arn("KeysTable");
        let audit = arn("AuditTable");
        match self {
            Runtime => {
                let mut g = all(&["logs:CreateLogStream", "logs:PutLogEvents"], Resource::OwnLogGroup, NONE);
                g.extend(all(&["xray:PutTraceSegments", "xray:PutTelemetryRecords"], Resource::Any, NONE));
                g
            }
            InboundStreamTrigger => {
                let mut g = all(
                    &[
                        "kinesis:DescribeStream",
                        "kinesis:DescribeStreamSummary",
                        "kinesis:GetRecords",
                        "kinesis:GetShardIterator",
                        "kinesis:ListShards",
                    ],
                    arn("InboundStream"),
                    NONE,
                );
                g.push(allow("kms:Decrypt", DATA_KEY, Condition::ViaService("kinesis")));
                g.extend(failed_records_queue());
                g
            }
            ProfilesStreamTrigger => table_stream("ProfilesTable"),
            AuditStreamTrigger => {
                let mut g = table_stream("AuditTable");
                g.extend(audit_append_only());
                g
            }
            ImportFilesTrigger => queue_consumer("ImportFilesQueue"),
            ImportChunksTrigger => queue_consumer("ImportChunksQueue"),
            BlindIndex => {
                let mut g = all(&["dynamodb:GetItem", "dynamodb:PutItem"], keys, Condition::LeadingKeys("__system#*"));
                g.extend(all(&["kms:GenerateDataKey", "kms:Decrypt"], DATA_KEY, Condition::Purpose("blind-index")));
                g.extend(table_sse(true));
                g
            }
            EventSchemas | HttpTrigger => vec![],
            ProfilesRead => {
                let mut g = all(&["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"], profiles, NONE);
                g.extend(table_sse(false));
                g
            }
            ProfilesIndexRead => vec![
                allow("dynamodb:Query", Resource::Arn("ProfilesTable", "/index/gsi1"), NONE),
                allow("dynamodb:Query", Resource::Arn("ProfilesTable", "/index/ByOwner"), NONE),
            ],
            ProfilesPut => {
                let mut g = all(&["dynamodb:PutItem", "dynamodb:ConditionCheckItem"], profiles, NONE);
                g.extend(table_sse(true));
                g
            }
            ProfilesUpdate => {
                let mut g = all(&["dynamodb:UpdateItem", "dynamodb:DeleteItem"], profiles, NONE);
                g.extend(table_sse(true));
                g
            }
            ProfilesBatchDelete => vec![allow("dynamodb:BatchWriteItem", profiles, NONE)],
            ProfilesScan => {
                let mut g = vec![allow("dynamodb:Scan", profiles, NONE)];
                g.extend(table_sse(false));
                g
            }
            ImportLedger => {
                let mut g =
                    all(&["dynamodb:PutItem", "dynamodb:UpdateItem"], profiles, Condition::LeadingKeys("IMPORT#*"));
                g.extend(table_sse(true));
                g
            }
            DeadLetters => {
                let mut g = all(&["kms:GenerateDataKey", "kms:Decrypt"], DATA_KEY, Condition::Purpose("dead-letter"));
                g.push(allow("dynamodb:PutItem", profiles, NONE));
                g.extend(table_sse(true));
                g
            }
            CustomerKeysCreate => {
                let mut g = all(&["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem"], keys, NONE);
                g.extend(all(&["kms:GenerateDataKey", "kms:Decrypt"], DATA_KEY, Condition::CustomerContext));
                g.extend(table_sse(true));
                g
            }
            CustomerKeysUnwrap => {
                let mut g = all(&["dynamodb:GetItem", "dynamodb:BatchGetItem"], keys, NONE);
                g.push(allow("kms:Decrypt", DATA_KEY, Condition::CustomerContext));
                g.extend(table_sse(false));
                g
            }
            CustomerKeysShred => {
                let mut g = vec![allow("dynamodb:DeleteItem", keys, NONE)];
                g.extend(table_sse(true));
                g
            }
            PseudonymKeys => {
                let mut g = Vec::new();
                for prefix in ["__partner#*", "__analytics#*"] {
                    g.extend(all(&["dynamodb:GetItem", "dynamodb:PutItem"], keys, Condition::LeadingKeys(prefix)));
                }
                for purpose in ["partner-pseudonym:*", "analytics-pseudonym"] {
                    g.extend(all(&["kms:GenerateDataKey", "kms:Decrypt"], DATA_KEY, Condition::Purpose(purpose)));
                }
                g.extend(table_sse(true));
                g
            }
            AuditAppend => {
                let mut g = all(
                    &[
                        "dynamodb:GetItem",
                        "dynamodb:BatchGetItem",
                        "dynamodb:Query",
                        "dynamodb:PutItem",
                        "dynamodb:UpdateItem",
                        "dynamodb:ConditionCheckItem",
                    ],
                    audit,
                    NONE,
                );
                g.extend(audit_append_only());
                g.extend(table_sse(true));
                g
            }
            AuditRead => {
                let mut g = all(&["dynamodb:GetItem", "dynamodb:Query"], audit, NONE);
                g.extend(audit_append_only());
                g.extend(table_sse(false));
                g
            }
            Cases => {
                let mut g = Vec::new();
                for r in [arn("CasesTable"), Resource::Arn("CasesTable", "/index/*")] {
                    g.extend(all(&["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"], r, NONE));
                }
                g.extend(table_sse(true));
                g
            }
            InboundStreamWrite => stream_writer("InboundStream"),
            OutboundStreamWrite => stream_writer("OutboundStream"),
            PrivacyExports => {
                let mut g = all(
                    &["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
                    Resource::Arn("PrivacyBucket", "/access-requests/*"),
                    NONE,
                );
                g.push(allow("s3:ListBucket", arn("PrivacyBucket"), Condition::S3Prefix("access-requests/*")));
                g.extend(bucket_sse("DataKey"));
                g
            }
            PartnerExports => {
                let mut g = vec![allow("s3:PutObject", Resource::Arn("ExportsBucket", "/partner=*"), NONE)];
                g.extend(bucket_sse("ExportsKey"));
                g
            }
            AnalystSnapshots => {
                let mut g: Vec<Grant> = ["/profiles/*", "/bookings/*", "/interactions/*", "/manifests/*"]
                    .into_iter()
                    .map(|p| allow("s3:PutObject", Resource::Arn("AnalyticsBucket", p), NONE))
                    .collect();
                g.extend(bucket_sse("AnalyticsKey"));
                g
            }
            AuditArchive => {
                let mut g = vec![allow("s3:PutObject", Resource::Arn("AuditBucket", "/audit/*"), NONE)];
                g.extend(bucket_sse("DataKey"));
                g
            }
            ImportFiles => {
                let mut g = all(&["s3:GetObject", "s3:PutObject"], Resource::Arn("ImportsBucket", "/imports/*"), NONE);
                g.extend(bucket_sse("DataKey"));
                g
            }
            ImportChunksSend => {
                let mut g = vec![allow("sqs:SendMessage", arn("ImportChunksQueue"), NONE)];
                g.extend(all(&["kms:GenerateDataKey", "kms:Decrypt"], DATA_KEY, Condition::ViaService("sqs")));
                g
            }
        }
    }

    /// The environment variables this capability's adapters read, and whether each is required
    /// (a required one missing fails the cold start with its name).
    pub fn env(self) -> &'static [(&'static str, bool)] {
        use Capability::*;
        match self {
            Runtime => &[("CMP_ENV", false), ("RUST_LOG", false)],
            HttpTrigger
            | InboundStreamTrigger
            | ProfilesStreamTrigger
            | AuditStreamTrigger
            | ImportFilesTrigger
            | ImportChunksTrigger
            | EventSchemas
            | ProfilesIndexRead
            | ProfilesBatchDelete => &[],
            BlindIndex => &[("KEYS_TABLE", true), ("KMS_KEY_ID", true)],
            ProfilesRead | ProfilesPut | ProfilesUpdate | ProfilesScan | ImportLedger => &[("PROFILES_TABLE", true)],
            DeadLetters => &[("PROFILES_TABLE", true), ("KMS_KEY_ID", true), ("DEAD_LETTER_TTL_DAYS", false)],
            CustomerKeysCreate | CustomerKeysUnwrap | CustomerKeysShred => &[
                ("KEYS_TABLE", true),
                ("KMS_KEY_ID", true),
                ("DATA_KEY_CACHE_TTL_SECONDS", false),
                ("DATA_KEY_CACHE_MAX_USES", false),
                ("DATA_KEY_CACHE_CAPACITY", false),
            ],
            PseudonymKeys => &[("KEYS_TABLE", true), ("KMS_KEY_ID", true)],
            AuditAppend | AuditRead => &[("AUDIT_TABLE", true), ("AUDIT_RETENTION_DAYS", false)],
            Cases => &[("CASES_TABLE", true)],
            InboundStreamWrite => &[
                ("INBOUND_STREAM", true),
                ("MAX_BATCH_EVENTS", false),
                ("MAX_EVENT_BYTES", false),
                ("MAX_REQUEST_BYTES", false),
            ],
            OutboundStreamWrite => &[("OUTBOUND_STREAM", true)],
            PrivacyExports => &[("PRIVACY_BUCKET", true)],
            PartnerExports => &[("EXPORTS_BUCKET", true), ("EXPORT_K", false)],
            AnalystSnapshots => &[("ANALYTICS_BUCKET", true)],
            AuditArchive => &[("AUDIT_BUCKET", true), ("AUDIT_RETENTION_DAYS", false)],
            ImportFiles => &[("IMPORTS_BUCKET", true)],
            ImportChunksSend => &[("IMPORT_CHUNKS_QUEUE", true), ("IMPORT_ROWS_PER_CHUNK", false)],
        }
    }

    /// The AWS service clients this capability's adapters call.
    pub fn services(self) -> &'static [Service] {
        use Capability::*;
        use Service::*;
        match self {
            Runtime
            | HttpTrigger
            | InboundStreamTrigger
            | ProfilesStreamTrigger
            | AuditStreamTrigger
            | ImportFilesTrigger
            | ImportChunksTrigger
            | EventSchemas => &[],
            BlindIndex | DeadLetters | CustomerKeysCreate | CustomerKeysUnwrap | PseudonymKeys => &[DynamoDb, Kms],
            ProfilesRead | ProfilesIndexRead | ProfilesPut | ProfilesUpdate | ProfilesBatchDelete | ProfilesScan
            | ImportLedger | CustomerKeysShred | AuditAppend | AuditRead | Cases => &[DynamoDb],
            InboundStreamWrite | OutboundStreamWrite => &[Kinesis],
            PrivacyExports | PartnerExports | AnalystSnapshots | AuditArchive | ImportFiles => &[S3],
            ImportChunksSend => &[Sqs],
        }
    }
}

/// The audit table is append-only whatever any other statement (or a later edit) allows.
fn audit_append_only() -> Vec<Grant> {
    ["dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:DeleteTable"]
        .into_iter()
        .map(|a| deny(a, arn("AuditTable")))
        .collect()
}

/// A function of the template: its binary, its logical id and what it may do.
#[derive(Debug, Clone, Copy)]
pub struct FunctionSpec {
    /// The binary (`functions/<binary>`) and the handler module.
    pub binary: &'static str,
    /// The logical id of the function in `infra/template.yaml` (`<Name>Function`); its policy is
    /// `<Name>FunctionPolicy` and its log group `<Name>LogGroup`.
    pub name: &'static str,
    pub capabilities: &'static [Capability],
}

impl FunctionSpec {
    /// Every grant of every capability, deduplicated and sorted.
    pub fn grants(&self) -> Vec<Grant> {
        let mut g: Vec<Grant> = self.capabilities.iter().flat_map(|c| c.grants()).collect();
        g.sort();
        g.dedup();
        g
    }

    /// Every environment variable the function reads, with whether it is required.
    pub fn env(&self) -> Vec<(&'static str, bool)> {
        let mut v: Vec<(&'static str, bool)> = Vec::new();
        for (k, req) in self.capabilities.iter().flat_map(|c| c.env().iter().copied()) {
            match v.iter_mut().find(|(n, _)| *n == k) {
                Some(e) => e.1 |= req,
                None => v.push((k, req)),
            }
        }
        v.sort();
        v
    }

    pub fn has(&self, c: Capability) -> bool {
        self.capabilities.contains(&c)
    }

    pub fn uses(&self, s: Service) -> bool {
        self.capabilities.iter().any(|c| c.services().contains(&s))
    }

    pub fn log_group(&self) -> String {
        format!("{}LogGroup", self.name)
    }
}

use Capability::*;

pub const INGEST: FunctionSpec = FunctionSpec {
    binary: "ingest",
    name: "Ingest",
    capabilities: &[Runtime, HttpTrigger, EventSchemas, BlindIndex, InboundStreamWrite, AuditAppend],
};

pub const MERGE: FunctionSpec = FunctionSpec {
    binary: "merge",
    name: "Merge",
    capabilities: &[
        Runtime,
        InboundStreamTrigger,
        EventSchemas,
        BlindIndex,
        DeadLetters,
        ProfilesRead,
        ProfilesIndexRead,
        ProfilesPut,
        ProfilesUpdate,
        CustomerKeysCreate,
        AuditAppend,
    ],
};

pub const CONSENT: FunctionSpec = FunctionSpec {
    binary: "consent",
    name: "Consent",
    capabilities: &[
        Runtime,
        InboundStreamTrigger,
        EventSchemas,
        BlindIndex,
        DeadLetters,
        ProfilesRead,
        ProfilesPut,
        AuditAppend,
    ],
};

pub const PUBLISH: FunctionSpec = FunctionSpec {
    binary: "publish",
    name: "Publish",
    capabilities: &[Runtime, ProfilesStreamTrigger, BlindIndex, ProfilesRead, OutboundStreamWrite],
};

pub const API: FunctionSpec = FunctionSpec {
    binary: "api",
    name: "Api",
    capabilities: &[
        Runtime,
        HttpTrigger,
        EventSchemas,
        BlindIndex,
        ProfilesRead,
        ProfilesIndexRead,
        ProfilesPut,
        ProfilesUpdate,
        ProfilesBatchDelete,
        ProfilesScan,
        CustomerKeysUnwrap,
        CustomerKeysShred,
        PseudonymKeys,
        AuditAppend,
        AuditRead,
        Cases,
        OutboundStreamWrite,
        PrivacyExports,
        PartnerExports,
        AnalystSnapshots,
    ],
};

pub const AUDIT_EXPORT: FunctionSpec = FunctionSpec {
    binary: "audit_export",
    name: "AuditExport",
    capabilities: &[Runtime, AuditStreamTrigger, AuditArchive],
};

pub const EXPORT: FunctionSpec = FunctionSpec {
    binary: "export",
    name: "Export",
    capabilities: &[
        Runtime,
        ProfilesRead,
        ProfilesScan,
        CustomerKeysUnwrap,
        PseudonymKeys,
        AuditAppend,
        PartnerExports,
        AnalystSnapshots,
    ],
};

pub const COMPENSATE: FunctionSpec = FunctionSpec {
    binary: "compensate",
    name: "Compensate",
    capabilities: &[
        Runtime,
        InboundStreamTrigger,
        EventSchemas,
        BlindIndex,
        DeadLetters,
        ProfilesRead,
        ProfilesPut,
        CustomerKeysUnwrap,
        AuditAppend,
        Cases,
        OutboundStreamWrite,
    ],
};

pub const ESCALATE: FunctionSpec = FunctionSpec {
    binary: "escalate",
    name: "Escalate",
    capabilities: &[Runtime, ProfilesRead, ProfilesPut, CustomerKeysUnwrap, AuditAppend, Cases, OutboundStreamWrite],
};

pub const IMPORT_PLAN: FunctionSpec = FunctionSpec {
    binary: "import_plan",
    name: "ImportPlan",
    capabilities: &[Runtime, ImportFilesTrigger, ImportFiles, ImportLedger, ImportChunksSend],
};

pub const IMPORT_LOAD: FunctionSpec = FunctionSpec {
    binary: "import_load",
    name: "ImportLoad",
    capabilities: &[
        Runtime,
        ImportChunksTrigger,
        EventSchemas,
        BlindIndex,
        ImportFiles,
        ImportLedger,
        InboundStreamWrite,
    ],
};

/// Every function of the template.
pub const FUNCTIONS: &[FunctionSpec] =
    &[INGEST, MERGE, CONSENT, PUBLISH, API, AUDIT_EXPORT, EXPORT, COMPENSATE, ESCALATE, IMPORT_PLAN, IMPORT_LOAD];

/// The spec of a binary.
pub fn function(binary: &str) -> Option<&'static FunctionSpec> {
    FUNCTIONS.iter().find(|f| f.binary == binary)
}
