//! Local stand-in for the Cognito user pool's token issuing, and the JWT authorizer's checks.
//!
//! `cmpctl token` mints RS256 ID tokens shaped like Cognito's (`sub`, `iss`, `aud`, `exp`, `iat`,
//! `token_use`, `cognito:groups`, `amr`, `custom:customer_id`) with a signing key kept under
//! `.local/jwt/`. The local HTTP API verifies them as API Gateway's JWT authorizer does: RS256
//! signature against the issuer's key, expiry, issuer and audience.
use crate::BoxError;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

pub const KEY_ID: &str = "cmp-local-1";

pub struct LocalIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

/// The PKCS#1 `RSAPrivateKey` inside a PKCS#8 `PrivateKeyInfo` (DER): SEQUENCE { INTEGER version,
/// SEQUENCE algorithm, OCTET STRING privateKey }.
fn pkcs1_from_pkcs8(der: &[u8]) -> Option<&[u8]> {
    fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (first as usize, rest)
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            (rest[..n].iter().fold(0usize, |a, b| (a << 8) | *b as usize), &rest[n..])
        };
        (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
    }
    let (0x30, body, _) = tlv(der)? else { return None };
    let (0x02, _, rest) = tlv(body)? else { return None };
    let (0x30, _, rest) = tlv(rest)? else { return None };
    let (0x04, key, _) = tlv(rest)? else { return None };
    Some(key)
}

pub fn key_dir() -> PathBuf {
    crate::repo_root().join(".local").join("jwt")
}

impl LocalIssuer {
    /// Loads the local signing key, creating it (RSA 2048) on first use.
    pub fn load_or_create(dir: &Path) -> Result<Self, BoxError> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("signing-key.pk8");
        let pkcs8 = match std::fs::read(&path) {
            Ok(b) => b,
            Err(_) => {
                let kp = KeyPair::generate(KeySize::Rsa2048).map_err(|_| "RSA key generation failed")?;
                let der = kp.as_der().map_err(|_| "RSA key export failed")?.as_ref().to_vec();
                std::fs::write(&path, &der)?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
                }
                der
            }
        };
        let kp = KeyPair::from_pkcs8(&pkcs8).map_err(|_| "the local signing key is unreadable")?;
        let pkcs1 = pkcs1_from_pkcs8(&pkcs8).ok_or("the local signing key is not PKCS#8")?;
        let public = kp.public_key();
        let n = public.modulus().big_endian_without_leading_zero().to_vec();
        let e = public.exponent().big_endian_without_leading_zero().to_vec();
        Ok(LocalIssuer {
            encoding: EncodingKey::from_rsa_der(pkcs1),
            decoding: DecodingKey::from_rsa_raw_components(&n, &e),
        })
    }

    pub fn sign(&self, claims: &Value) -> Result<String, BoxError> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(KEY_ID.into());
        Ok(jsonwebtoken::encode(&header, claims, &self.encoding)?)
    }

    /// Verifies a bearer token as API Gateway's JWT authorizer does; `None` means 401.
    pub fn verify(&self, token: &str, issuer: &str, audience: &[String]) -> Option<Value> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != Algorithm::RS256 || header.kid.as_deref() != Some(KEY_ID) {
            return None;
        }
        let mut v = Validation::new(Algorithm::RS256);
        v.set_issuer(&[issuer]);
        v.set_audience(audience);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.leeway = 0;
        jsonwebtoken::decode::<Value>(token, &self.decoding, &v).ok().map(|d| d.claims)
    }
}

/// What `cmpctl token` asks for.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub role: String,
    pub mfa: bool,
    pub subject: Option<String>,
    pub customer_id: Option<String>,
    pub issuer: String,
    pub audience: String,
    pub ttl_seconds: i64,
}

/// Claims shaped like a Cognito ID token.
pub fn claims(req: &TokenRequest) -> Value {
    let now = chrono::Utc::now().timestamp();
    let sub = req.subject.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let mut c = json!({
        "sub": sub,
        "iss": req.issuer,
        "aud": req.audience,
        "token_use": "id",
        "auth_time": now,
        "iat": now,
        "exp": now + req.ttl_seconds,
        "cognito:groups": [req.role],
        "cognito:username": format!("{}-{}", req.role, &sub[..8.min(sub.len())]),
        "amr": if req.mfa { json!(["pwd", "otp", "mfa"]) } else { json!(["pwd"]) },
    });
    if let Some(cid) = &req.customer_id {
        c["custom:customer_id"] = json!(cid);
    }
    c
}

/// Claims as API Gateway hands them to the function: a map of strings, arrays as `[a b]`.
pub fn claims_for_context(claims: &Value) -> serde_json::Map<String, Value> {
    let mut out = serde_json::Map::new();
    if let Value::Object(m) = claims {
        for (k, v) in m {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Array(a) => format!(
                    "[{}]",
                    a.iter()
                        .map(|x| x.as_str().map(str::to_owned).unwrap_or_else(|| x.to_string()))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
                other => other.to_string(),
            };
            out.insert(k.clone(), Value::String(s));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(ttl: i64) -> TokenRequest {
        TokenRequest {
            role: "cabin_crew".into(),
            mfa: true,
            subject: Some("crew-1".into()),
            customer_id: None,
            issuer: "https://issuer.example/pool".into(),
            audience: "client-1".into(),
            ttl_seconds: ttl,
        }
    }

    #[test]
    fn tokens_verify_only_for_their_issuer_audience_and_lifetime() {
        let dir = std::env::temp_dir().join(format!("cmp-jwt-{}", uuid::Uuid::new_v4()));
        let issuer = LocalIssuer::load_or_create(&dir).unwrap();
        let token = issuer.sign(&claims(&request(60))).unwrap();
        let aud = vec!["client-1".to_owned()];
        let c = issuer.verify(&token, "https://issuer.example/pool", &aud).expect("valid");
        assert_eq!(c["cognito:groups"], json!(["cabin_crew"]));
        assert!(issuer.verify(&token, "https://other.example/pool", &aud).is_none(), "issuer");
        assert!(issuer.verify(&token, "https://issuer.example/pool", &["client-2".to_owned()]).is_none(), "audience");
        let expired = issuer.sign(&claims(&request(-10))).unwrap();
        assert!(issuer.verify(&expired, "https://issuer.example/pool", &aud).is_none(), "expiry");
        let mut tampered = token.clone();
        let mid = tampered.find('.').unwrap() + 5;
        tampered.replace_range(mid..mid + 1, if &token[mid..mid + 1] == "A" { "B" } else { "A" });
        assert!(issuer.verify(&tampered, "https://issuer.example/pool", &aud).is_none(), "signature");
        // another key (another issuer) does not verify
        let other = LocalIssuer::load_or_create(&dir.join("other")).unwrap();
        assert!(other.verify(&token, "https://issuer.example/pool", &aud).is_none());
        // the same key is loaded again
        let again = LocalIssuer::load_or_create(&dir).unwrap();
        assert!(again.verify(&token, "https://issuer.example/pool", &aud).is_some());
        let ctx = claims_for_context(&c);
        assert_eq!(ctx["amr"], json!("[pwd otp mfa]"));
        let _ = std::fs::remove_dir_all(dir);
    }
}
