//! Signing in to the console when the API has tokens: a browser following a link
//! cannot send `Authorization`, so the sign-in page checks an operator's token against
//! the API and keeps it in a cookie the browser sends back (`HttpOnly`: no script reads
//! it; `SameSite=Strict`: no other site's page makes the browser send it). Signing out
//! forgets it. Without tokens, there is nothing to sign in to.

use axum::Json;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{PreEscaped, html};
use serde::Deserialize;

use super::layout::page as frame;
use crate::http::auth::CONSOLE_COOKIE;

/// The page tries the token on the console itself before keeping it.
const SIGN_IN: &str = r#"
document.getElementById('sign-in').addEventListener('submit', async (event) => {
  event.preventDefault();
  const token = event.target.token.value.trim();
  const said = document.getElementById('outcome');
  const tried = await fetch('/ui', { headers: { authorization: 'Bearer ' + token } });
  if (!tried.ok) {
    said.textContent = tried.status === 403
      ? 'this token may not use the console: it needs the operator role'
      : 'this token is not one the API knows';
    return;
  }
  await fetch('/ui/login', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }) });
  location.assign('/ui');
});
"#;

/// `GET /ui/login`.
pub async fn page() -> Response {
    let body = html! {
        p { "This orderflow has access tokens: sign in with an operator's token." }
        form #sign-in {
            label { "Token " input type="password" name="token" autocomplete="current-password" autofocus; }
            " " button type="submit" { "Sign in" }
        }
        p #outcome role="status" {}
        script { (PreEscaped(SIGN_IN)) }
    };
    frame("Sign in", "", None, body).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    token: String,
}

fn cookie(value: &str, max_age: u32) -> Result<HeaderValue, StatusCode> {
    HeaderValue::from_str(&format!(
        "{CONSOLE_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}"
    ))
    .map_err(|_| StatusCode::BAD_REQUEST)
}

/// `POST /ui/login` `{"token"}`: keeps the token in the console's cookie (for 12 hours).
/// Whether it is good is for the guard to say on every request it comes with.
pub async fn sign_in(Json(request): Json<SignIn>) -> Response {
    let token = request.token.trim();
    let shaped = !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b';' && b != b',');
    match (shaped, cookie(token, 12 * 3600)) {
        (true, Ok(value)) => (StatusCode::NO_CONTENT, [(SET_COOKIE, value)]).into_response(),
        _ => (StatusCode::BAD_REQUEST, "not a token").into_response(),
    }
}

/// `POST /ui/logout`: forgets the token.
pub async fn sign_out() -> Response {
    match cookie("", 0) {
        Ok(value) => (StatusCode::NO_CONTENT, [(SET_COOKIE, value)]).into_response(),
        Err(status) => status.into_response(),
    }
}
