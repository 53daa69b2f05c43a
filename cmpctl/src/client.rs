//! A small HTTP client for talking to the local API.
use crate::BoxError;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

#[derive(Clone)]
pub struct ApiClient {
    base: String,
    http: Client<HttpConnector, Full<Bytes>>,
    token: Option<String>,
    headers: Vec<(String, String)>,
}

impl ApiClient {
    pub fn new(base: impl Into<String>) -> Self {
        ApiClient {
            base: base.into(),
            http: Client::builder(TokioExecutor::new()).build_http(),
            token: None,
            headers: vec![],
        }
    }

    /// The same client, sending `Authorization: Bearer <token>`.
    pub fn with_token(&self, token: impl Into<String>) -> Self {
        ApiClient { token: Some(token.into()), ..self.clone() }
    }

    /// The same client, sending one more header with every request.
    pub fn with_header(&self, name: &str, value: &str) -> Self {
        let mut c = self.clone();
        c.headers.push((name.to_owned(), value.to_owned()));
        c
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<(u16, Value), BoxError> {
        let mut req = hyper::Request::builder().method(method).uri(format!("{}{}", self.base, path));
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        if let Some(t) = &self.token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        let resp = self.http.request(req.body(Full::new(Bytes::from(body)))?).await?;
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await?.to_bytes();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Ok((status, value))
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Result<(u16, Value), BoxError> {
        self.request("POST", path, Some("application/json"), serde_json::to_vec(body)?).await
    }

    pub async fn get(&self, path: &str) -> Result<(u16, Value), BoxError> {
        self.request("GET", path, None, vec![]).await
    }
}

/// Percent-encodes a query value.
pub fn encode(v: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
