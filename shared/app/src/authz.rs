//! Who may do what: roles, actions, the permission table, MFA, and field-level views.
//!
//! Deny by default: an action is allowed only if the table lists the role for it. The table is the
//! single source: the API enforces it, `docs/access-control.md` renders it (a test keeps the two
//! equal), and the route walk in the integration tests checks that the API does what it says.
use crate::domain::CustomerId;
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    CallCentreAgent,
    CheckinAgent,
    CabinCrew,
    CustomerAffairs,
    Marketing,
    DataAnalyst,
    PrivacyOfficer,
    Partner,
    Admin,
    /// A passenger acting on their own profile only.
    Customer,
    /// A channel system posting events (machine client).
    Channel,
}

impl Role {
    pub const ALL: [Role; 11] = [
        Role::CallCentreAgent,
        Role::CheckinAgent,
        Role::CabinCrew,
        Role::CustomerAffairs,
        Role::Marketing,
        Role::DataAnalyst,
        Role::PrivacyOfficer,
        Role::Partner,
        Role::Admin,
        Role::Customer,
        Role::Channel,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::CallCentreAgent => "call_centre_agent",
            Role::CheckinAgent => "checkin_agent",
            Role::CabinCrew => "cabin_crew",
            Role::CustomerAffairs => "customer_affairs",
            Role::Marketing => "marketing",
            Role::DataAnalyst => "data_analyst",
            Role::PrivacyOfficer => "privacy_officer",
            Role::Partner => "partner",
            Role::Admin => "admin",
            Role::Customer => "customer",
            Role::Channel => "channel",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `POST /v1/events`
    IngestEvents,
    /// `GET /v1/profiles/{id}`
    ReadProfile,
    /// `GET /v1/profiles?email|phone|loyalty=`: finding someone by a direct identifier
    FindProfile,
    /// `GET /v1/profiles/{id}/timeline`
    ReadTimeline,
    /// `GET /v1/audit`
    ReadAudit,
    /// `POST /v1/compensation/assessments`
    AssessCompensation,
    /// `GET /v1/profiles/{id}/consents` and `…/consents/history`
    ReadConsents,
    /// `POST /v1/profiles/{id}/consents`: recording a consent change (an agent on the phone, or the
    /// customer in self-service)
    ChangeConsent,
    /// `POST` and `GET /v1/profiles/{id}/access-requests`: GDPR Art. 15/20 exports
    RequestAccess,
    /// `POST /v1/profiles/{id}/erasure`: GDPR Art. 17
    EraseProfile,
    /// `POST /v1/profiles/{id}/legal-holds`: placing or releasing a hold that stops erasure
    ManageLegalHold,
    /// `GET /v1/privacy/inventory`
    ReadInventory,
    /// `POST /v1/exports`: an on-demand partner export
    RunExport,
    /// `GET /v1/cases` and `GET /v1/cases/{id}`: compensation cases (a customer: their own)
    ReadCases,
    /// `PATCH /v1/cases/{id}`: working a case (staff), or choosing cash or a voucher and giving
    /// payout details (the customer)
    ChangeCase,
    /// `POST /v1/profiles/{id}/merge` and `…/unmerge`: an agent who knows two profiles are one
    /// person (or not)
    MergeProfiles,
    /// `GET /v1/matches/review`, `GET /v1/matches/report` and `GET /v1/profiles/{id}/merges`:
    /// the identity review queue, how decisions bear on the thresholds, a profile's merges
    ReviewMatches,
    /// `POST /v1/matches/{id}/decision`: merging or keeping apart a candidate match
    DecideMatch,
}

impl Action {
    pub const ALL: [Action; 18] = [
        Action::IngestEvents,
        Action::ReadProfile,
        Action::FindProfile,
        Action::ReadTimeline,
        Action::ReadAudit,
        Action::AssessCompensation,
        Action::ReadConsents,
        Action::ChangeConsent,
        Action::RequestAccess,
        Action::EraseProfile,
        Action::ManageLegalHold,
        Action::ReadInventory,
        Action::RunExport,
        Action::ReadCases,
        Action::ChangeCase,
        Action::MergeProfiles,
        Action::ReviewMatches,
        Action::DecideMatch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::IngestEvents => "ingest_events",
            Action::ReadProfile => "read_profile",
            Action::FindProfile => "find_profile",
            Action::ReadTimeline => "read_timeline",
            Action::ReadAudit => "read_audit",
            Action::AssessCompensation => "assess_compensation",
            Action::ReadConsents => "read_consents",
            Action::ChangeConsent => "change_consent",
            Action::RequestAccess => "request_access",
            Action::EraseProfile => "erase_profile",
            Action::ManageLegalHold => "manage_legal_hold",
            Action::ReadInventory => "read_inventory",
            Action::RunExport => "run_export",
            Action::ReadCases => "read_cases",
            Action::ChangeCase => "change_case",
            Action::MergeProfiles => "merge_profiles",
            Action::ReviewMatches => "review_matches",
            Action::DecideMatch => "decide_match",
        }
    }

    /// Privileged actions need a token whose `amr` includes `mfa`: anything that exports, erases,
    /// merges or unmerges, changes consent on someone's behalf, or reads the audit trail.
    pub fn requires_mfa(self) -> bool {
        matches!(
            self,
            Action::ReadAudit
                | Action::ChangeConsent
                | Action::RequestAccess
                | Action::EraseProfile
                | Action::ManageLegalHold
                | Action::RunExport
                | Action::ChangeCase
                | Action::MergeProfiles
                | Action::DecideMatch
        )
    }

    /// Whether `role` needs MFA for this action: a customer changes their own consents and answers
    /// on their own cases without a second factor (as in any preference centre or claim form);
    /// staff doing it need one (a case change can decide a payout).
    pub fn requires_mfa_for(self, role: Role) -> bool {
        self.requires_mfa() && !(matches!(self, Action::ChangeConsent | Action::ChangeCase) && role == Role::Customer)
    }

    /// The purpose recorded in the audit trail when the caller sends no `X-Purpose`.
    pub fn default_purpose(self) -> &'static str {
        match self {
            Action::IngestEvents => "data_collection",
            Action::ReadProfile | Action::FindProfile | Action::ReadTimeline => "customer_service",
            Action::ReadAudit => "privacy_audit",
            Action::AssessCompensation => "compensation_assessment",
            Action::ReadConsents | Action::ChangeConsent => "consent_management",
            Action::RequestAccess | Action::EraseProfile => "data_subject_request",
            Action::ManageLegalHold => "legal_hold",
            Action::ReadInventory => "privacy_audit",
            Action::RunExport => "partner_export",
            Action::ReadCases | Action::ChangeCase => "compensation",
            Action::MergeProfiles | Action::ReviewMatches | Action::DecideMatch => "identity_resolution",
        }
    }
}

/// Every route of the HTTP API and the action it performs (`None`: public).
pub const ROUTES: &[(&str, Option<Action>)] = &[
    ("GET /v1/health", None),
    ("POST /v1/events", Some(Action::IngestEvents)),
    ("GET /v1/profiles/{id}", Some(Action::ReadProfile)),
    ("GET /v1/profiles", Some(Action::FindProfile)),
    ("GET /v1/profiles/{id}/timeline", Some(Action::ReadTimeline)),
    ("GET /v1/audit", Some(Action::ReadAudit)),
    ("POST /v1/compensation/assessments", Some(Action::AssessCompensation)),
    ("GET /v1/profiles/{id}/consents", Some(Action::ReadConsents)),
    ("GET /v1/profiles/{id}/consents/history", Some(Action::ReadConsents)),
    ("POST /v1/profiles/{id}/consents", Some(Action::ChangeConsent)),
    ("POST /v1/profiles/{id}/access-requests", Some(Action::RequestAccess)),
    ("GET /v1/profiles/{id}/access-requests", Some(Action::RequestAccess)),
    ("POST /v1/profiles/{id}/erasure", Some(Action::EraseProfile)),
    ("POST /v1/profiles/{id}/legal-holds", Some(Action::ManageLegalHold)),
    ("GET /v1/privacy/inventory", Some(Action::ReadInventory)),
    ("POST /v1/exports", Some(Action::RunExport)),
    ("GET /v1/cases", Some(Action::ReadCases)),
    ("GET /v1/cases/{id}", Some(Action::ReadCases)),
    ("PATCH /v1/cases/{id}", Some(Action::ChangeCase)),
    ("POST /v1/profiles/{id}/merge", Some(Action::MergeProfiles)),
    ("POST /v1/profiles/{id}/unmerge", Some(Action::MergeProfiles)),
    ("GET /v1/profiles/{id}/merges", Some(Action::ReviewMatches)),
    ("GET /v1/matches/review", Some(Action::ReviewMatches)),
    ("GET /v1/matches/report", Some(Action::ReviewMatches)),
    ("POST /v1/matches/{id}/decision", Some(Action::DecideMatch)),
];

/// The action a route key performs.
pub fn action_for_route(route_key: &str) -> Option<Action> {
    ROUTES.iter().find(|(r, _)| *r == route_key).and_then(|(_, a)| *a)
}

use Role::*;

/// The permission table: for each action, the roles allowed to perform it. Anything not listed is
/// denied. A `Customer` is further restricted to their own profile (see [`Principal::may_access`]).
pub const PERMISSIONS: &[(Action, &[Role])] = &[
    (Action::IngestEvents, &[Channel, Admin]),
    (
        Action::ReadProfile,
        &[
            CallCentreAgent,
            CheckinAgent,
            CabinCrew,
            CustomerAffairs,
            Marketing,
            DataAnalyst,
            PrivacyOfficer,
            Partner,
            Admin,
            Customer,
        ],
    ),
    (Action::FindProfile, &[CallCentreAgent, CheckinAgent, CustomerAffairs, PrivacyOfficer, Admin]),
    (Action::ReadTimeline, &[CallCentreAgent, CheckinAgent, CustomerAffairs, PrivacyOfficer, Admin, Customer]),
    (Action::ReadAudit, &[PrivacyOfficer]),
    (Action::AssessCompensation, &[CallCentreAgent, CustomerAffairs, Admin]),
    (Action::ReadConsents, &[CallCentreAgent, CustomerAffairs, Marketing, PrivacyOfficer, Admin, Customer]),
    (Action::ChangeConsent, &[CallCentreAgent, CustomerAffairs, PrivacyOfficer, Customer]),
    (Action::RequestAccess, &[PrivacyOfficer, Customer]),
    (Action::EraseProfile, &[PrivacyOfficer, Customer]),
    (Action::ManageLegalHold, &[CustomerAffairs, PrivacyOfficer]),
    (Action::ReadInventory, &[PrivacyOfficer, Admin]),
    (Action::RunExport, &[Marketing, PrivacyOfficer, Admin]),
    (Action::ReadCases, &[CallCentreAgent, CustomerAffairs, PrivacyOfficer, Admin, Customer]),
    (Action::ChangeCase, &[CallCentreAgent, CustomerAffairs, Admin, Customer]),
    (Action::MergeProfiles, &[CallCentreAgent, CustomerAffairs, Admin]),
    (Action::ReviewMatches, &[CustomerAffairs, PrivacyOfficer, Admin]),
    (Action::DecideMatch, &[CustomerAffairs, Admin]),
];

pub fn allowed(role: Role, action: Action) -> bool {
    PERMISSIONS.iter().any(|(a, roles)| *a == action && roles.contains(&role))
}

/// The profile attributes a view may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Name,
    Emails,
    Phones,
    DateOfBirth,
    Nationality,
    Loyalty,
    Tier,
    /// Segments ([`crate::segments`]): say no more than the tier and booking count.
    Segments,
    Address,
    Documents,
    Preferences,
    /// A meal preference that reveals religion or health ([`cmp_core::domain::meal`]): GDPR Art. 9,
    /// like special assistance. Without it, `preferences.meal` shows ordinary codes only.
    SpecialMeal,
    SpecialAssistance,
    RecentComplaints,
    Lineage,
    Sources,
}

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Emails => "emails",
            Field::Phones => "phones",
            Field::DateOfBirth => "date_of_birth",
            Field::Nationality => "nationality",
            Field::Loyalty => "loyalty",
            Field::Tier => "tier",
            Field::Segments => "segments",
            Field::Address => "address",
            Field::Documents => "documents",
            Field::Preferences => "preferences",
            Field::SpecialMeal => "special_meal",
            Field::SpecialAssistance => "special_assistance",
            Field::RecentComplaints => "recent_complaints",
            Field::Lineage => "lineage",
            Field::Sources => "sources",
        }
    }

    /// Direct identifiers: they single a person out on their own.
    pub fn is_direct_identifier(self) -> bool {
        matches!(
            self,
            Field::Name
                | Field::Emails
                | Field::Phones
                | Field::DateOfBirth
                | Field::Loyalty
                | Field::Address
                | Field::Documents
        )
    }
}

use Field::*;

const ALL_FIELDS: &[Field] = &[
    Name,
    Emails,
    Phones,
    DateOfBirth,
    Nationality,
    Loyalty,
    Tier,
    Segments,
    Address,
    Documents,
    Preferences,
    SpecialMeal,
    SpecialAssistance,
    Lineage,
    Sources,
];

/// Field-level views of a profile read, per role. Every view also has `id`, `version`, `status` and
/// the timestamps. Roles without `ReadProfile` have no view.
pub fn profile_view(role: Role) -> &'static [Field] {
    match role {
        CallCentreAgent => &[
            Name,
            Emails,
            Phones,
            DateOfBirth,
            Loyalty,
            Tier,
            Segments,
            Address,
            Preferences,
            SpecialMeal,
            SpecialAssistance,
            Sources,
        ],
        CheckinAgent => &[
            Name,
            Phones,
            DateOfBirth,
            Nationality,
            Loyalty,
            Tier,
            Segments,
            Documents,
            Preferences,
            SpecialMeal,
            SpecialAssistance,
        ],
        CabinCrew => &[Name, Tier, Segments, Preferences, SpecialMeal, SpecialAssistance, RecentComplaints],
        CustomerAffairs | PrivacyOfficer | Admin | Customer => ALL_FIELDS,
        Marketing => &[Tier, Segments, Preferences, Nationality],
        DataAnalyst => &[Tier, Segments, Preferences, Nationality, Sources],
        Partner => &[Tier, Segments],
        Channel => &[],
    }
}

/// The authenticated caller, from the claims API Gateway verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// `sub` of the token.
    pub subject: String,
    pub role: Role,
    /// `amr` includes `mfa`.
    pub mfa: bool,
    /// For `Customer`: the customer id their login is linked to (`custom:customer_id`).
    pub customer_id: Option<CustomerId>,
}

/// Why a request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// No role claim, or none this platform knows.
    NoRole,
    /// The role may not perform the action.
    Forbidden,
    /// The action needs MFA and the token has none.
    MfaRequired,
    /// A customer token asked about another customer.
    NotYourProfile,
}

impl Principal {
    /// Builds the principal from verified JWT claims (`cognito:groups`, `amr`, `sub`,
    /// `custom:customer_id`). A caller in several groups takes the first one this platform knows.
    pub fn from_claims(claims: &serde_json::Value) -> Result<Principal, Denial> {
        // ID tokens only: an access token of the same client would pass API Gateway's audience check
        if claims.get("token_use").and_then(|t| t.as_str()) != Some("id") {
            return Err(Denial::NoRole);
        }
        let subject = claims.get("sub").and_then(|s| s.as_str()).unwrap_or_default().to_owned();
        let groups = string_list(claims.get("cognito:groups"));
        let role = groups.iter().find_map(|g| g.parse::<Role>().ok()).ok_or(Denial::NoRole)?;
        let mfa = string_list(claims.get("amr")).iter().any(|m| m == "mfa");
        let customer_id = claims.get("custom:customer_id").and_then(|c| c.as_str()).and_then(|c| c.parse().ok());
        if subject.is_empty() || (role == Role::Customer && customer_id.is_none()) {
            return Err(Denial::NoRole);
        }
        Ok(Principal { subject, role, mfa, customer_id })
    }

    /// May this caller perform `action` (on `customer`, when the action concerns one)?
    pub fn may(&self, action: Action, customer: Option<&CustomerId>) -> Result<(), Denial> {
        if !allowed(self.role, action) {
            return Err(Denial::Forbidden);
        }
        if action.requires_mfa_for(self.role) && !self.mfa {
            return Err(Denial::MfaRequired);
        }
        if self.role == Role::Customer {
            match (customer, &self.customer_id) {
                (Some(c), Some(own)) if c == own => {}
                _ => return Err(Denial::NotYourProfile),
            }
        }
        Ok(())
    }
}

/// API Gateway passes array claims either as JSON arrays or as strings like `[a b]` or `a,b`.
fn string_list(v: Option<&serde_json::Value>) -> Vec<String> {
    match v {
        Some(serde_json::Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect(),
        Some(serde_json::Value::String(s)) => s
            .trim_matches(|c| c == '[' || c == ']')
            .split([' ', ','])
            .map(|x| x.trim_matches('"').to_owned())
            .filter(|x| !x.is_empty())
            .collect(),
        _ => vec![],
    }
}

/// The permission table as Markdown (rendered into `docs/access-control.md`).
pub fn render_markdown() -> String {
    let mut s = String::from("| action | MFA |");
    for r in Role::ALL {
        s.push_str(&format!(" {} |", r.as_str()));
    }
    s.push_str("\n|---|---|");
    for _ in Role::ALL {
        s.push_str("---|");
    }
    s.push('\n');
    for a in Action::ALL {
        let mfa = match (a.requires_mfa(), a.requires_mfa_for(Role::Customer)) {
            (false, _) => "",
            (true, true) => "yes",
            (true, false) => "staff",
        };
        s.push_str(&format!("| `{}` | {} |", a.as_str(), mfa));
        for r in Role::ALL {
            let cell = match (allowed(r, a), r) {
                (false, _) => "",
                (true, Role::Customer) => "own",
                (true, _) => "yes",
            };
            s.push_str(&format!(" {cell} |"));
        }
        s.push('\n');
    }
    s.push_str("\nProfile fields by role (every view also has `id`, `version`, `status`, `created_at`, `updated_at`):\n\n| role | fields |\n|---|---|\n");
    for r in Role::ALL {
        let fields: Vec<&str> = profile_view(r).iter().map(|f| f.as_str()).collect();
        s.push_str(&format!(
            "| {} | {} |\n",
            r.as_str(),
            if fields.is_empty() { "(no profile access)".into() } else { fields.join(", ") }
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn principal(role: Role, mfa: bool) -> Principal {
        Principal { subject: "u".into(), role, mfa, customer_id: None }
    }

    /// `docs/access-control.md` shows the table the code enforces. `UPDATE_DOCS=1 cargo test -p
    /// cmp-shared permission_table` rewrites the section.
    #[test]
    fn permission_table_in_docs_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/access-control.md");
        let doc = std::fs::read_to_string(path).unwrap();
        let start = doc.find("## Permission table\n").expect("section") + "## Permission table\n".len();
        let end = doc[start..].find("\n## ").map(|i| start + i + 1).unwrap_or(doc.len());
        let section = format!(
            "\nGenerated from `shared/app/src/authz.rs` (`PERMISSIONS`, `profile_view`); deny by default. `own`: a passenger on their own profile only.\n\n{}\n",
            render_markdown()
        );
        if std::env::var("UPDATE_DOCS").is_ok() {
            std::fs::write(path, format!("{}{}{}", &doc[..start], section, &doc[end..])).unwrap();
        } else {
            assert_eq!(
                &doc[start..end],
                section,
                "docs/access-control.md is stale: run UPDATE_DOCS=1 cargo test -p cmp-app permission_table"
            );
        }
    }

    #[test]
    fn deny_by_default_and_mfa_for_privileged_actions() {
        assert!(principal(Partner, true).may(Action::IngestEvents, None).is_err());
        assert_eq!(principal(PrivacyOfficer, false).may(Action::ReadAudit, None), Err(Denial::MfaRequired));
        assert_eq!(principal(PrivacyOfficer, true).may(Action::ReadAudit, None), Ok(()));
        assert_eq!(principal(Admin, true).may(Action::ReadAudit, None), Err(Denial::Forbidden));
        for r in Role::ALL {
            for a in Action::ALL {
                let listed = PERMISSIONS.iter().any(|(x, roles)| *x == a && roles.contains(&r));
                assert_eq!(allowed(r, a), listed);
            }
        }
    }

    #[test]
    fn customers_see_only_themselves() {
        let own = CustomerId::new();
        let other = CustomerId::new();
        let p = Principal { subject: "s".into(), role: Customer, mfa: false, customer_id: Some(own.clone()) };
        assert_eq!(p.may(Action::ReadProfile, Some(&own)), Ok(()));
        assert_eq!(p.may(Action::ReadProfile, Some(&other)), Err(Denial::NotYourProfile));
        assert_eq!(p.may(Action::FindProfile, None), Err(Denial::Forbidden));
    }

    #[test]
    fn views_keep_direct_identifiers_from_analysts_partners_and_crew_contacts() {
        for r in [DataAnalyst, Partner, Marketing] {
            assert!(profile_view(r).iter().all(|f| !f.is_direct_identifier()), "{r}");
        }
        let crew = profile_view(CabinCrew);
        for f in [Documents, Emails, Phones] {
            assert!(!crew.contains(&f));
        }
        for f in [Name, Tier, Preferences, SpecialAssistance, RecentComplaints] {
            assert!(crew.contains(&f));
        }
        assert!(profile_view(CheckinAgent).contains(&Documents));
    }

    #[test]
    fn special_category_data_stays_with_the_roles_that_serve_the_passenger() {
        // GDPR Art. 9: special assistance and religious or health meal codes alike
        for r in [DataAnalyst, Partner, Marketing, Channel] {
            for f in [SpecialAssistance, SpecialMeal] {
                assert!(!profile_view(r).contains(&f), "{r} sees {}", f.as_str());
            }
        }
        // catering: the crew, check-in and the call centre keep the meal the passenger asked for
        for r in [CabinCrew, CheckinAgent, CallCentreAgent, Customer] {
            assert!(profile_view(r).contains(&SpecialMeal), "{r}");
        }
        for r in Role::ALL {
            assert_eq!(
                profile_view(r).contains(&SpecialMeal),
                profile_view(r).contains(&SpecialAssistance),
                "{r}: special meals follow special assistance"
            );
        }
    }

    #[test]
    fn claims_are_read_as_api_gateway_passes_them() {
        let c = json!({"sub": "abc", "token_use": "id", "cognito:groups": "[cabin_crew other]", "amr": "[pwd mfa]"});
        let p = Principal::from_claims(&c).unwrap();
        assert_eq!((p.role, p.mfa), (CabinCrew, true));
        let access = json!({"sub": "abc", "token_use": "access", "cognito:groups": "[cabin_crew]"});
        assert_eq!(Principal::from_claims(&access), Err(Denial::NoRole), "access tokens are refused");
        let c = json!({"sub": "abc", "token_use": "id", "cognito:groups": ["nobody"]});
        assert_eq!(Principal::from_claims(&c), Err(Denial::NoRole));
        let c = json!({"sub": "abc", "token_use": "id", "cognito:groups": ["customer"]});
        assert_eq!(Principal::from_claims(&c), Err(Denial::NoRole), "a customer login must be linked");
        let id = CustomerId::new();
        let c =
            json!({"sub": "abc", "token_use": "id", "cognito:groups": ["customer"], "custom:customer_id": id.as_str()});
        assert_eq!(Principal::from_claims(&c).unwrap().customer_id, Some(id));
    }
}
