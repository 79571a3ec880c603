//! The configured tokens, kept as digests, read from a file or a list, and checked in
//! constant time.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::Role;

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
}
