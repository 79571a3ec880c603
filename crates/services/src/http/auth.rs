//! Who may call what: bearer tokens with roles, checked on every route of the API and
//! of the embedded schema registry, and the refusal of the requests a web page could
//! send cross-site without a CORS preflight.
//!
//! # Roles
//!
//! Each token has one [`Role`]; each role may do what the one below it may, and more:
//!
//! - `shop`: place orders and read them (an order, its history, a customer's orders),
//!   read stock, and read the schema registry (including lookups and compatibility
//!   checks, which change nothing);
//! - `operator`: also set stock, cancel orders, read consumer lag and analytics, and
//!   write to the registry (register, soft-delete, a subject's compatibility level);
//! - `admin`: everything, also the registry's global compatibility level and permanent
//!   deletes.
//!
//! `GET /health` stays open, for probes. Any other route, unknown ones included, needs a
//! known token: `401` (with `WWW-Authenticate: Bearer`) without one or with an unknown
//! one, `403` when the token's role is not enough. The API answers them with its own
//! `{"error"}` body; the registry with Confluent's `{"error_code": 40101 | 40301,
//! "message"}`.
//!
//! # Cross-site requests
//!
//! A browser sends a "simple" request cross-site without asking first (no CORS
//! preflight): a `POST` whose content type is `text/plain`,
//! `application/x-www-form-urlencoded`, `multipart/form-data` or absent, with no header
//! of its own such as `Authorization`. This server grants no CORS preflight, so a request
//! that needs one never leaves a page of another site. Whatever the tokens, a `POST`,
//! `PUT`, `PATCH` or `DELETE` with one of those three content types is refused with
//! `415`, and a `POST` that has neither a JSON content type nor an `Authorization`
//! header is refused with `415` too: a bodiless `POST /orders/{id}/cancel` is sent with
//! `content-type: application/json` (its body may be empty) or with a token.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, HOST, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::ApiError;

/// What a token may do; each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Place and read orders, read stock and the schema registry.
    Shop,
    /// Also stock, cancellations, consumers, analytics and registry writes.
    Operator,
    /// Everything.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Shop => "shop",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "shop" => Ok(Role::Shop),
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role {other:?}: the roles are shop, operator and admin"
            )),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The shortest token accepted: 16 characters (a token is a secret, not a password
/// someone remembers; `openssl rand -hex 32` makes a good one).
pub const MIN_TOKEN_LENGTH: usize = 16;

/// The configured tokens, each kept only as its SHA-256 digest with its role.
///
/// A presented token is hashed and compared with every digest in constant time
/// (`subtle`), without stopping at the first match: how long a check takes says nothing
/// about how much of a guess was right, and the process holds no token in memory
/// longer than it takes to hash it.
#[derive(Clone, Default)]
pub struct Tokens {
    digests: Vec<([u8; 32], Role)>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("count", &self.digests.len())
            .finish_non_exhaustive()
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Tokens {
    /// No tokens yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `token` with `role`; refused if it is too short, has characters a bearer
    /// token cannot have (RFC 6750: letters, digits, `-._~+/`, trailing `=`), or is
    /// already there.
    pub fn add(&mut self, role: Role, token: &str) -> Result<(), String> {
        if token.chars().count() < MIN_TOKEN_LENGTH {
            return Err(format!(
                "a {role} token is shorter than {MIN_TOKEN_LENGTH} characters"
            ));
        }
        let body = token.trim_end_matches('=');
        let valid = !body.is_empty()
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
        if !valid {
            return Err(format!(
                "a {role} token has characters a bearer token cannot have (letters, digits, \
                 -._~+/ and a trailing =)"
            ));
        }
        let digest = digest(token);
        if self.digests.iter().any(|(d, _)| *d == digest) {
            return Err(format!("a {role} token is listed twice"));
        }
        self.digests.push((digest, role));
        Ok(())
    }

    /// Reads a tokens file: one `ROLE TOKEN` per line; blank lines and lines starting
    /// with `#` are skipped. Errors name the line (never the token).
    pub fn add_file(&mut self, text: &str) -> Result<(), String> {
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut words = line.split_whitespace();
            let (Some(role), Some(token), None) = (words.next(), words.next(), words.next()) else {
                return Err(format!("line {}: expected `ROLE TOKEN`", n + 1));
            };
            let role: Role = role.parse().map_err(|e| format!("line {}: {e}", n + 1))?;
            self.add(role, token)
                .map_err(|e| format!("line {}: {e}", n + 1))?;
        }
        Ok(())
    }

    /// Reads a list `ROLE:TOKEN,ROLE:TOKEN` (the `ORDERFLOW_TOKENS` variable). Errors
    /// name the entry by its place (never the token).
    pub fn add_list(&mut self, text: &str) -> Result<(), String> {
        for (n, entry) in text.split(',').map(str::trim).enumerate() {
            if entry.is_empty() {
                continue;
            }
            let Some((role, token)) = entry.split_once(':') else {
                return Err(format!("entry {}: expected `ROLE:TOKEN`", n + 1));
            };
            let role: Role = role
                .trim()
                .parse()
                .map_err(|e| format!("entry {}: {e}", n + 1))?;
            self.add(role, token.trim())
                .map_err(|e| format!("entry {}: {e}", n + 1))?;
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    pub fn len(&self) -> usize {
        self.digests.len()
    }

    /// The role of `token`, if it is one of these. Every digest is compared, in
    /// constant time.
    pub fn role_of(&self, token: &str) -> Option<Role> {
        let presented = digest(token);
        let mut found = None;
        for (digest, role) in &self.digests {
            if bool::from(digest.ct_eq(&presented)) {
                found = Some(*role);
            }
        }
        found
    }
}

/// How the API is protected.
#[derive(Debug, Clone, Default)]
pub enum Access {
    /// No tokens: every route is open (the binary serves it so only when told to run
    /// unauthenticated off loopback). Cross-site simple requests are still refused.
    #[default]
    Open,
    /// No tokens, served on a loopback address: as [`Access::Open`], and a request
    /// addressed to a name that is not a loopback one (`Host: evil.example`) is refused
    /// with `403`. A web page whose own name an attacker made resolve to 127.0.0.1 (DNS
    /// rebinding) is same-origin with the API, so CORS does not stop it; its requests
    /// still carry its own name.
    Loopback,
    /// Every route but `GET /health` needs a token of a role that is enough.
    Tokens(Arc<Tokens>),
}

impl Access {
    /// `Open` when `tokens` is empty.
    pub fn with(tokens: Tokens) -> Self {
        if tokens.is_empty() {
            Access::Open
        } else {
            Access::Tokens(Arc::new(tokens))
        }
    }

    /// Whether there are no tokens.
    pub fn is_open(&self) -> bool {
        !matches!(self, Access::Tokens(_))
    }
}

/// Which routes a router serves, for the rules and the shape of refusals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// The API, with the registry nested under `/schema-registry`.
    Api,
    /// The schema registry alone, at the root.
    Registry,
}

/// The guard's state: the access rules and which routes they guard.
#[derive(Debug, Clone)]
pub struct Guard {
    pub access: Access,
    pub surface: Surface,
}

/// What a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    Nothing,
    Role(Role),
}

/// The role `method` on `path` of the API needs.
fn api_need(method: &Method, path: &str) -> Need {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let read = method == Method::GET || method == Method::HEAD;
    match segments.as_slice() {
        ["health"] if read => Need::Nothing,
        ["orders"] if method == Method::POST => Need::Role(Role::Shop),
        ["orders", _] | ["orders", _, "history"] | ["customers", _, "orders"] if read => {
            Need::Role(Role::Shop)
        }
        ["inventory", _] if read => Need::Role(Role::Shop),
        ["inventory", _] if method == Method::PUT => Need::Role(Role::Operator),
        ["orders", _, "cancel"] if method == Method::POST => Need::Role(Role::Operator),
        ["consumers"] | ["analytics"] if read => Need::Role(Role::Operator),
        // Unknown routes and methods: any known token, so that a caller without one
        // learns nothing of what exists.
        _ => Need::Role(Role::Shop),
    }
}

/// The role `method` on `path` (relative to the registry's root) needs.
fn registry_need(method: &Method, path: &str, query: Option<&str>) -> Need {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let permanent = query.is_some_and(|q| {
        q.split('&').any(|p| {
            p.split_once('=')
                .is_some_and(|(k, v)| k == "permanent" && v.eq_ignore_ascii_case("true"))
        })
    });
    let role = match (method.clone(), segments.as_slice()) {
        (Method::GET | Method::HEAD, _) => Role::Shop,
        // A lookup and compatibility checks change nothing.
        (Method::POST, ["subjects", _]) | (Method::POST, ["compatibility", ..]) => Role::Shop,
        (Method::POST, ["subjects", _, "versions"]) => Role::Operator,
        (Method::DELETE, ["subjects", _] | ["subjects", _, "versions", _]) if permanent => {
            Role::Admin
        }
        (Method::DELETE, ["subjects", _] | ["subjects", _, "versions", _]) => Role::Operator,
        (Method::PUT, ["config", _]) => Role::Operator,
        (Method::PUT, ["config"]) => Role::Admin,
        _ => Role::Shop,
    };
    Need::Role(role)
}

/// Why a request is refused.
enum Refusal {
    /// No token, or an unknown one.
    Unauthenticated(String),
    /// A known token whose role is not enough.
    Forbidden(String),
    /// A body a page of another site could send without a preflight.
    CrossSite(String),
}

impl Refusal {
    fn api(self) -> Response {
        match self {
            Refusal::Unauthenticated(m) => ApiError::Unauthorized(m).into_response(),
            Refusal::Forbidden(m) => ApiError::Forbidden(m).into_response(),
            Refusal::CrossSite(m) => ApiError::UnsupportedMediaType(m).into_response(),
        }
    }

    fn registry(self) -> Response {
        let (status, code, message) = match self {
            Refusal::Unauthenticated(m) => (StatusCode::UNAUTHORIZED, 40101, m),
            Refusal::Forbidden(m) => (StatusCode::FORBIDDEN, 40301, m),
            Refusal::CrossSite(m) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, 415, m),
        };
        let mut response = super::registry::error(status, code, &message);
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The content type's essence (`text/plain` of `Text/Plain; charset=utf-8`).
fn essence(request: &Request) -> Option<String> {
    let value = request.headers().get(CONTENT_TYPE)?;
    Some(
        value
            .to_str()
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase(),
    )
}

/// Refuses what a browser sends cross-site without a CORS preflight (see the module's
/// documentation).
fn cross_site(request: &Request) -> Result<(), Refusal> {
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
fn bearer(request: &Request) -> Option<&str> {
    let value = request.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Refuses a request addressed to a name that is not a loopback one (see
/// [`Access::Loopback`]); one without a `Host` (HTTP/1.0, in-process calls) passes.
fn loopback_host(request: &Request) -> Result<(), Refusal> {
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

fn check(guard: &Guard, request: &Request) -> Result<(), Refusal> {
    if let Access::Loopback = &guard.access {
        loopback_host(request)?;
    }
    if let Access::Tokens(tokens) = &guard.access {
        let path = request.uri().path();
        let need = match guard.surface {
            Surface::Registry => registry_need(request.method(), path, request.uri().query()),
            Surface::Api => match registry_path(path) {
                Some(rest) => registry_need(request.method(), rest, request.uri().query()),
                None => api_need(request.method(), path),
            },
        };
        if let Need::Role(needed) = need {
            let role = bearer(request)
                .and_then(|token| tokens.role_of(token))
                .ok_or_else(|| {
                    Refusal::Unauthenticated(
                        "a bearer token is needed (Authorization: Bearer TOKEN)".into(),
                    )
                })?;
            if role < needed {
                return Err(Refusal::Forbidden(format!(
                    "a {role} token may not do this; it needs the {needed} role"
                )));
            }
        }
    }
    cross_site(request)
}

/// The path within the registry, when `path` is one of the registry's.
fn registry_path(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/schema-registry")?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// The middleware: lets a request through only if [`check`] does.
pub async fn guard(State(guard): State<Guard>, request: Request<Body>, next: Next) -> Response {
    match check(&guard, &request) {
        Ok(()) => next.run(request).await,
        Err(refusal) => {
            let registry = match guard.surface {
                Surface::Registry => true,
                Surface::Api => registry_path(request.uri().path()).is_some(),
            };
            if registry {
                refusal.registry()
            } else {
                refusal.api()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOP: &str = "shop-token-0123456789";
    const OPERATOR: &str = "operator-token-0123456789";

    #[test]
    fn a_tokens_file_gives_each_token_its_role_and_ignores_comments() -> Result<(), String> {
        let mut tokens = Tokens::new();
        tokens.add_file(&format!(
            "# the shop front\nshop {SHOP}\n\n  operator   {OPERATOR}  \n"
        ))?;
        assert_eq!(tokens.role_of(SHOP), Some(Role::Shop));
        assert_eq!(tokens.role_of(OPERATOR), Some(Role::Operator));
        assert_eq!(tokens.role_of("shop-token-012345678"), None);
        assert_eq!(tokens.len(), 2);
        Ok(())
    }

    #[test]
    fn a_tokens_list_reads_role_colon_token_pairs() -> Result<(), String> {
        let mut tokens = Tokens::new();
        tokens.add_list(&format!("shop:{SHOP}, admin:{OPERATOR}"))?;
        assert_eq!(tokens.role_of(OPERATOR), Some(Role::Admin));
        Ok(())
    }

    #[test]
    fn bad_tokens_are_refused_naming_the_line_but_not_the_token() {
        let refusal = |text: &str| Tokens::new().add_file(text).err().unwrap_or_default();
        assert_eq!(refusal("shop"), "line 1: expected `ROLE TOKEN`");
        assert!(refusal(&format!("\nroot {SHOP}")).starts_with("line 2: unknown role \"root\""));
        let short = refusal("shop short");
        assert!(
            short.contains("shorter than 16") && !short.contains("short "),
            "{short}"
        );
        assert!(refusal("shop tok\"en-0123456789abc").contains("characters"));
        assert!(refusal(&format!("shop {SHOP}\nadmin {SHOP}")).contains("listed twice"));
        let list = Tokens::new().add_list("shop=abc").err().unwrap_or_default();
        assert_eq!(list, "entry 1: expected `ROLE:TOKEN`");
    }

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

    #[test]
    fn roles_include_the_ones_below_them() {
        assert!(Role::Admin > Role::Operator && Role::Operator > Role::Shop);
        assert_eq!("operator".parse(), Ok(Role::Operator));
        assert!("Operator".parse::<Role>().is_err());
    }

    #[test]
    fn each_route_of_the_api_needs_the_role_its_table_says() {
        let need = |m: Method, p: &str| api_need(&m, p);
        assert_eq!(need(Method::GET, "/health"), Need::Nothing);
        assert_eq!(need(Method::POST, "/health"), Need::Role(Role::Shop));
        assert_eq!(need(Method::POST, "/orders"), Need::Role(Role::Shop));
        assert_eq!(
            need(Method::GET, "/orders/x/history"),
            Need::Role(Role::Shop)
        );
        assert_eq!(need(Method::GET, "/inventory/S"), Need::Role(Role::Shop));
        assert_eq!(
            need(Method::PUT, "/inventory/S"),
            Need::Role(Role::Operator)
        );
        assert_eq!(
            need(Method::POST, "/orders/x/cancel"),
            Need::Role(Role::Operator)
        );
        assert_eq!(need(Method::GET, "/consumers"), Need::Role(Role::Operator));
        assert_eq!(need(Method::GET, "/nowhere"), Need::Role(Role::Shop));
    }

    #[test]
    fn registry_writes_need_an_operator_and_global_or_permanent_ones_an_admin() {
        let need = |m: Method, p: &str, q: Option<&str>| registry_need(&m, p, q);
        assert_eq!(need(Method::GET, "/subjects", None), Need::Role(Role::Shop));
        assert_eq!(
            need(Method::POST, "/subjects/s", None),
            Need::Role(Role::Shop)
        );
        assert_eq!(
            need(Method::POST, "/subjects/s/versions", None),
            Need::Role(Role::Operator)
        );
        assert_eq!(
            need(Method::DELETE, "/subjects/s/versions/1", None),
            Need::Role(Role::Operator)
        );
        assert_eq!(
            need(Method::DELETE, "/subjects/s", Some("permanent=TRUE")),
            Need::Role(Role::Admin)
        );
        assert_eq!(
            need(Method::PUT, "/config/s", None),
            Need::Role(Role::Operator)
        );
        assert_eq!(need(Method::PUT, "/config", None), Need::Role(Role::Admin));
        assert_eq!(registry_path("/schema-registry"), Some(""));
        assert_eq!(registry_path("/schema-registry/x"), Some("/x"));
        assert_eq!(registry_path("/schema-registryx"), None);
    }
}
