//! A local stand-in for API Gateway's HTTP API: matches routes as declared in the template, turns
//! each request into the payload-2.0 event API Gateway would send, and invokes the function's
//! handler with it (through `lambda_http`'s own deserialisation, as in Lambda).
use crate::jwt::LocalIssuer;
use crate::BoxError;
use base64::Engine;
use cmp_lambda::handlers::{api::ApiHandler, ingest::IngestHandler};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Map, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// API Gateway HTTP APIs refuse payloads over 10 MB.
const MAX_PAYLOAD: usize = 10 * 1024 * 1024;

#[derive(Clone)]
pub enum HttpFunction {
    Ingest(Arc<IngestHandler>),
    Api(Arc<ApiHandler>),
}

impl HttpFunction {
    async fn call(&self, req: lambda_http::Request) -> lambda_http::Response<lambda_http::Body> {
        match self {
            HttpFunction::Ingest(h) => h.handle(req).await,
            HttpFunction::Api(h) => h.handle(req).await,
        }
    }
}

#[derive(Clone)]
pub struct Route {
    pub method: String,
    pub path: String,
    pub function: HttpFunction,
    /// The JWT authorizer of the route (issuer, audiences), if any.
    pub auth: Option<crate::wiring::RouteAuth>,
}

impl Route {
    /// Path parameters when `path` matches this route's template.
    fn matches(&self, method: &str, path: &str) -> Option<Map<String, Value>> {
        if !self.method.eq_ignore_ascii_case(method) && self.method != "ANY" {
            return None;
        }
        let tpl: Vec<&str> = self.path.trim_matches('/').split('/').collect();
        let got: Vec<&str> = path.trim_matches('/').split('/').collect();
        if tpl.len() != got.len() {
            return None;
        }
        let mut params = Map::new();
        for (t, g) in tpl.iter().zip(&got) {
            if let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                if g.is_empty() {
                    return None;
                }
                params.insert(name.to_owned(), Value::String(percent_decode(g)));
            } else if t != g {
                return None;
            }
        }
        Some(params)
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query_params(raw: &str) -> Map<String, Value> {
    let mut m: Map<String, Value> = Map::new();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = percent_decode(&k.replace('+', " "));
        let v = percent_decode(&v.replace('+', " "));
        match m.get_mut(&k) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                m.insert(k, Value::String(v));
            }
        }
    }
    m
}

fn plain(status: u16, body: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("static response")
}

async fn serve_one(
    routes: Arc<Vec<Route>>,
    issuer: Arc<LocalIssuer>,
    stage: String,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_PAYLOAD).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return plain(413, r#"{"message":"Request Entity Too Large"}"#),
    };
    let method = parts.method.as_str().to_owned();
    let path = parts.uri.path().to_owned();
    let Some((route, params)) = routes.iter().find_map(|r| r.matches(&method, &path).map(|p| (r, p))) else {
        return plain(404, r#"{"message":"Not Found"}"#);
    };
    // the JWT authorizer: signature, expiry, issuer, audience; claims go to the request context
    let claims = match &route.auth {
        None => None,
        Some(auth) => {
            let token = parts
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
                .map(str::trim);
            match token.and_then(|t| issuer.verify(t, &auth.issuer, &auth.audience)) {
                Some(c) => Some(c),
                None => return plain(401, r#"{"message":"Unauthorized"}"#),
            }
        }
    };
    let route_key = format!("{} {}", route.method, route.path);
    let raw_query = parts.uri.query().unwrap_or("").to_owned();
    let mut headers = Map::new();
    for (name, value) in &parts.headers {
        let v = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match headers.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                headers.insert(name.as_str().to_owned(), Value::String(v));
            }
        }
    }
    let (body_value, b64) = match std::str::from_utf8(&body) {
        Ok(s) => (s.to_owned(), false),
        Err(_) => (base64::engine::general_purpose::STANDARD.encode(&body), true),
    };
    let now = chrono::Utc::now();
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "domainPrefix": "127",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": peer.ip().to_string(),
                "userAgent": parts.headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or("")
            },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": route_key,
            "stage": stage,
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis()
        },
        "isBase64Encoded": b64
    });
    if let Some(c) = &claims {
        event["requestContext"]["authorizer"] =
            json!({"jwt": {"claims": Value::Object(crate::jwt::claims_for_context(c)), "scopes": null}});
    }
    if !raw_query.is_empty() {
        event["queryStringParameters"] = Value::Object(query_params(&raw_query));
    }
    if !params.is_empty() {
        event["pathParameters"] = Value::Object(params);
    }
    if !body.is_empty() {
        event["body"] = Value::String(body_value);
    }
    let lambda_req = match lambda_http::request::from_str(&event.to_string()) {
        Ok(r) => r,
        Err(_) => return plain(500, r#"{"message":"Internal Server Error"}"#),
    };
    let resp = route.function.call(lambda_req).await;
    let (rparts, rbody) = resp.into_parts();
    let bytes = match rbody {
        lambda_http::Body::Empty => Bytes::new(),
        lambda_http::Body::Text(t) => Bytes::from(t),
        lambda_http::Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    let mut out = Response::builder().status(rparts.status);
    for (k, v) in &rparts.headers {
        out = out.header(k, v);
    }
    out.body(Full::new(bytes)).unwrap_or_else(|_| plain(500, r#"{"message":"Internal Server Error"}"#))
}

/// Serves the routes on `addr` until `shutdown` turns true. Returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    routes: Vec<Route>,
    issuer: Arc<LocalIssuer>,
    stage: String,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), BoxError> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let routes = Arc::new(routes);
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                accepted = listener.accept() => {
                    let Ok((stream, peer)) = accepted else { continue };
                    let routes = routes.clone();
                    let stage = stage.clone();
                    let issuer = issuer.clone();
                    tokio::spawn(async move {
                        let svc = service_fn(move |req| {
                            let routes = routes.clone();
                            let stage = stage.clone();
                            let issuer = issuer.clone();
                            async move { Ok::<_, std::convert::Infallible>(serve_one(routes, issuer, stage, req, peer).await) }
                        });
                        let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
                    });
                }
            }
        }
    });
    Ok((bound, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_decode_like_api_gateway() {
        let q = query_params("email=anna%40example.com&phone=%2B353861234567&a=1&a=2");
        assert_eq!(q["email"], "anna@example.com");
        assert_eq!(q["phone"], "+353861234567");
        assert_eq!(q["a"], "1,2");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
    }
}
