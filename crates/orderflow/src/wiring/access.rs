//! Who may call the API and what it accepts: tokens, the loopback rule, request limits.

use anyhow::{Context, bail};
use orderflow_services::http;

use crate::settings::ApiArgs;

/// The API's request limits from the settings, refused with the setting's name when one
/// lets nothing through.
pub(super) fn limits(settings: &ApiArgs) -> anyhow::Result<http::Limits> {
    let limits = http::Limits {
        max_body_bytes: settings.max_body_bytes,
        max_order_lines: settings.max_order_lines,
        max_id_length: settings.max_id_length,
        max_address_length: settings.max_address_length,
    };
    limits.validate().map_err(anyhow::Error::msg)?;
    Ok(limits)
}

/// The variable that lists API tokens as `ROLE:TOKEN,ROLE:TOKEN`, next to `--tokens`.
pub const TOKENS_VAR: &str = "ORDERFLOW_TOKENS";

/// Who may call the API: the tokens of `--tokens` and `ORDERFLOW_TOKENS`. Without any,
/// the API is open and is served on a loopback address only: any other `--http` is
/// refused, unless `--allow-unauthenticated` says so.
pub fn api_access(settings: &ApiArgs) -> anyhow::Result<http::Access> {
    let mut tokens = http::Tokens::new();
    if let Some(path) = &settings.tokens_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the tokens file {}", path.display()))?;
        tokens
            .add_file(&text)
            .map_err(|e| anyhow::anyhow!("in the tokens file {}: {e}", path.display()))?;
        if tokens.is_empty() {
            bail!(
                "the tokens file {} has no token: write one `ROLE TOKEN` per line",
                path.display()
            );
        }
    }
    if let Some(list) = std::env::var_os(TOKENS_VAR) {
        let list = list
            .into_string()
            .map_err(|_| anyhow::anyhow!("{TOKENS_VAR} is not UTF-8"))?;
        tokens
            .add_list(&list)
            .map_err(|e| anyhow::anyhow!("in {TOKENS_VAR}: {e}"))?;
    }
    let access = http::Access::with(tokens);
    let addr = settings.http_addr;
    if access.is_open() && addr.ip().is_loopback() {
        return Ok(http::Access::Loopback);
    }
    if access.is_open() && !settings.allow_unauthenticated {
        bail!(
            "refusing to serve the API without tokens on {addr}, which is not a loopback \
             address: anyone who reaches it could set stock, cancel orders and register \
             schemas. Configure tokens (--tokens FILE or {TOKENS_VAR}), listen on \
             127.0.0.1, or pass --allow-unauthenticated to run unauthenticated anyway"
        );
    }
    Ok(access)
}

/// Says at start how the API is protected.
pub(super) fn announce_access(access: &http::Access, addr: std::net::SocketAddr) {
    match access {
        http::Access::Tokens(tokens) => announce!(
            "orderflow: the API needs a bearer token on every route but GET /health \
             ({} configured)",
            tokens.len()
        ),
        http::Access::Loopback => announce!(
            "orderflow: the API is unauthenticated and listens on loopback only; configure \
             --tokens or {TOKENS_VAR} to serve other hosts"
        ),
        http::Access::Open => announce!(
            "orderflow: WARNING: the API is unauthenticated on {addr} \
             (--allow-unauthenticated): anyone who reaches it may do anything"
        ),
    }
}
