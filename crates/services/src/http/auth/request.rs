//! What the guard reads from a request besides its path: the content type (to refuse
//! what a page could send cross-site), the bearer token, and the name it is addressed
//! to (to refuse DNS rebinding on loopback).

use axum::extract::Request;
use axum::http::Method;
use axum::http::header::{AUTHORIZATION, HOST};

use super::refusal::Refusal;
use crate::http::extract::essence;

/// Refuses what a browser sends cross-site without a CORS preflight (see the module's
/// documentation).
pub fn cross_site(request: &Request) -> Result<(), Refusal> {
    let method = request.method();
    let changes = [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(method);
    if !changes {
        return Ok(());
    }
    let essence = essence(request);
    const SIMPLE: [&str; 3] = [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ];
    if let Some(simple) = essence.as_deref().filter(|e| SIMPLE.contains(e)) {
        return Err(Refusal::CrossSite(format!(
            "content-type {simple:?} is not JSON; send application/json (a route that \
             changes state takes nothing a web page could send cross-site)"
        )));
    }
    if method == Method::POST && essence.is_none() && !request.headers().contains_key(AUTHORIZATION)
    {
        return Err(Refusal::CrossSite(
            "a POST without a token must say it is JSON (content-type: application/json), \
             even with no body, so that no web page can send it cross-site"
                .into(),
        ));
    }
    Ok(())
}

/// The bearer token of the request, if it has one.
pub fn bearer(request: &Request) -> Option<&str> {
    let value = request.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The cookie the console's sign-in sets: a browser cannot send `Authorization` when it
/// follows a link.
pub const CONSOLE_COOKIE: &str = "orderflow_token";

/// The token of the console's cookie, if the request carries it.
pub fn console_cookie(request: &Request) -> Option<&str> {
    request
        .headers()
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == CONSOLE_COOKIE)
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
}

/// Refuses a request addressed to a name that is not a loopback one (see
/// [`Access::Loopback`]); one without a `Host` (HTTP/1.0, in-process calls) passes.
pub fn loopback_host(request: &Request) -> Result<(), Refusal> {
    let host = match request.uri().host() {
        Some(host) => host,
        None => match request.headers().get(HOST) {
            Some(value) => value.to_str().unwrap_or("(not ASCII)"),
            None => return Ok(()),
        },
    };
    let name = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    let lower = name.to_ascii_lowercase();
    let loopback = lower == "localhost"
        || lower.ends_with(".localhost")
        || lower
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        return Ok(());
    }
    let shown: String = host.chars().take(64).collect();
    Err(Refusal::Forbidden(format!(
        "this API has no tokens and answers only requests addressed to a loopback name \
         (localhost, 127.0.0.1, [::1]), not {shown:?}"
    )))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;

    use super::*;

    #[test]
    fn without_tokens_on_loopback_only_requests_to_a_loopback_name_pass() {
        let to = |host: &str| {
            let request = Request::builder()
                .uri("/orders/x")
                .header(HOST, host)
                .body(Body::empty())
                .unwrap_or_default();
            loopback_host(&request).is_ok()
        };
        for host in [
            "localhost:8080",
            "LOCALHOST",
            "127.0.0.1:1",
            "127.3.2.1",
            "[::1]:80",
        ] {
            assert!(to(host), "{host}");
        }
        for host in [
            "evil.example",
            "evil.example:8080",
            "10.0.0.1:8080",
            "[::2]:80",
        ] {
            assert!(!to(host), "{host}");
        }
        let bare = Request::builder().uri("/orders/x").body(Body::empty());
        assert!(bare.is_ok_and(|r| loopback_host(&r).is_ok()));
    }
}
