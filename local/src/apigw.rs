//! Builds the API Gateway HTTP API (payload 2.0) event that AWS would send for a
//! request, so the local server feeds handlers through `lambda_http`'s own parser:
//! the same `Request` (path parameters, query, the Lambda authorizer's context, the
//! mutual-TLS client certificate) as in Lambda.

use base64::Engine;
use serde_json::{Map, Value, json};

/// What the local server knows about one HTTP request.
pub struct Incoming<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub raw_query: &'a str,
    pub headers: Vec<(String, String)>,
    pub body: &'a [u8],
    pub route_key: String,
    pub path_parameters: Vec<(&'static str, String)>,
    /// The authorizer's context (absent: none, the handler answers 401).
    pub authorizer: Option<Map<String, Value>>,
    /// The client certificate the TLS layer verified, as PEM.
    pub client_cert_pem: Option<&'a str>,
    pub source_ip: String,
    pub request_id: String,
}

/// A `Host` value that is a plain host[:port]; anything else becomes `localhost`
/// (API Gateway sets `Host` itself; a client's must never reach URL building).
pub fn safe_host(host: Option<&str>) -> String {
    host.filter(|h| {
        !h.is_empty()
            && h.len() <= 255
            && h.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    })
    .unwrap_or("localhost")
    .to_owned()
}

/// The headers API Gateway sets itself, overriding whatever the client sent.
const GATEWAY_HEADERS: [&str; 4] = ["host", "x-forwarded-proto", "x-forwarded-port", "x-forwarded-for"];

/// The event JSON.
pub fn event(req: &Incoming<'_>) -> Value {
    let mut headers = Map::new();
    let client_host = req
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.as_str());
    headers.insert("host".into(), Value::String(safe_host(client_host)));
    headers.insert("x-forwarded-proto".into(), Value::String("http".into()));
    headers.insert("x-forwarded-for".into(), Value::String(req.source_ip.clone()));
    for (name, value) in &req.headers {
        let name = name.to_ascii_lowercase();
        if GATEWAY_HEADERS.contains(&name.as_str()) {
            continue;
        }
        // API Gateway joins repeated headers with commas.
        match headers.get_mut(&name) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(value);
            }
            _ => {
                headers.insert(name, Value::String(value.clone()));
            }
        }
    }
    let user_agent = headers
        .get("user-agent")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let mut ctx = json!({
        "accountId": "local",
        "apiId": "local",
        "domainName": "localhost",
        "domainPrefix": "localhost",
        "http": {
            "method": req.method,
            "path": req.path,
            "protocol": "HTTP/1.1",
            "sourceIp": req.source_ip,
            "userAgent": user_agent,
        },
        "requestId": req.request_id,
        "routeKey": req.route_key,
        "stage": "$default",
        "time": "",
        "timeEpoch": 0,
    });
    if let Some(context) = &req.authorizer {
        // A Lambda authorizer's simple response context, as API Gateway passes it on.
        ctx["authorizer"] = json!({ "lambda": context });
    }
    if let Some(pem) = req.client_cert_pem {
        // Where API Gateway puts the certificate of a mutual-TLS custom domain (the
        // DN, serial and validity fields it adds are not rebuilt here).
        ctx["authentication"] = json!({ "clientCert": { "clientCertPem": pem, "validity": {} } });
    }
    let path_parameters: Map<String, Value> = req
        .path_parameters
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::String(v.clone())))
        .collect();
    let mut event = json!({
        "version": "2.0",
        "routeKey": req.route_key,
        "rawPath": req.path,
        "rawQueryString": req.raw_query,
        "headers": headers,
        "requestContext": ctx,
        "pathParameters": path_parameters,
        "isBase64Encoded": false,
    });
    if !req.body.is_empty() {
        match std::str::from_utf8(req.body) {
            Ok(text) => event["body"] = Value::String(text.to_owned()),
            Err(_) => {
                event["body"] = Value::String(base64::engine::general_purpose::STANDARD.encode(req.body));
                event["isBase64Encoded"] = Value::Bool(true);
            }
        }
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;

    #[test]
    fn lambda_http_reads_the_event_like_an_api_gateway_one() {
        let mut context = Map::new();
        context.insert("organisation_id".into(), json!("org-1"));
        context.insert("scope".into(), json!("directory:read directory:write"));
        context.insert("x5t#S256".into(), json!("t"));
        let incoming = Incoming {
            method: "PUT",
            path: "/organisations/org-1/authorityclaims/c%231",
            raw_query: "page=1&size=2",
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("X-A".into(), "1".into()),
                ("x-a".into(), "2".into()),
            ],
            body: br#"{"a":1}"#,
            route_key: "PUT /organisations/{OrganisationId}/authorityclaims/{OrganisationAuthorityClaimId}".into(),
            path_parameters: vec![
                ("OrganisationId", "org-1".into()),
                ("OrganisationAuthorityClaimId", "c#1".into()),
            ],
            authorizer: Some(context),
            client_cert_pem: Some("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            source_ip: "127.0.0.1".into(),
            request_id: "r".into(),
        };
        let req = lambda_http::request::from_str(&event(&incoming).to_string()).unwrap();
        assert_eq!(req.method(), "PUT");
        assert_eq!(
            req.path_parameters_ref().unwrap().first("OrganisationAuthorityClaimId"),
            Some("c#1")
        );
        assert_eq!(req.query_string_parameters_ref().unwrap().first("size"), Some("2"));
        assert_eq!(req.headers()["x-a"], "1,2");
        assert_eq!(req.body().as_ref(), br#"{"a":1}"#);
        let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() else {
            panic!()
        };
        let lambda = &ctx.authorizer.as_ref().unwrap().fields;
        assert_eq!(lambda["scope"], "directory:read directory:write");
        let cert = ctx.authentication.as_ref().unwrap().client_cert.as_ref().unwrap();
        assert!(
            cert.client_cert_pem
                .as_deref()
                .unwrap()
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
        let caller = directory_http::caller::caller(&req).unwrap();
        assert_eq!(caller.organisation_id.as_deref(), Some("org-1"));
    }

    #[test]
    fn client_sent_gateway_headers_cannot_break_the_event() {
        for (name, value) in [
            ("Host", "a b"),
            ("X-Forwarded-Proto", "a b"),
            ("Host", "evil/../x"),
            ("X-Forwarded-Port", "x y"),
        ] {
            let incoming = Incoming {
                method: "GET",
                path: "/organisations/o/snapshot",
                raw_query: "",
                headers: vec![(name.into(), value.into())],
                body: b"",
                route_key: "GET /organisations/{OrganisationId}/snapshot".into(),
                path_parameters: vec![("OrganisationId", "o".into())],
                authorizer: None,
                client_cert_pem: None,
                source_ip: "127.0.0.1".into(),
                request_id: "r".into(),
            };
            let req = lambda_http::request::from_str(&event(&incoming).to_string()).unwrap();
            assert_eq!(req.uri().path(), "/organisations/o/snapshot", "{name}: {value}");
        }
        assert_eq!(safe_host(Some("127.0.0.1:3000")), "127.0.0.1:3000");
    }
}
