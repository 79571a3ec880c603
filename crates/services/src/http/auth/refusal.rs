//! Why a request is refused, answered in the API's shape or in the registry's.

use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::http::ApiError;

/// Why a request is refused.
pub enum Refusal {
    /// No token, or an unknown one.
    Unauthenticated(String),
    /// A known token whose role is not enough.
    Forbidden(String),
    /// A body a page of another site could send without a preflight.
    CrossSite(String),
}

impl Refusal {
    pub fn api(self) -> Response {
        match self {
            Refusal::Unauthenticated(m) => ApiError::Unauthorized(m).into_response(),
            Refusal::Forbidden(m) => ApiError::Forbidden(m).into_response(),
            Refusal::CrossSite(m) => ApiError::UnsupportedMediaType(m).into_response(),
        }
    }

    pub fn registry(self) -> Response {
        let (status, code, message) = match self {
            Refusal::Unauthenticated(m) => (StatusCode::UNAUTHORIZED, 40101, m),
            Refusal::Forbidden(m) => (StatusCode::FORBIDDEN, 40301, m),
            Refusal::CrossSite(m) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, 415, m),
        };
        let mut response = crate::http::registry::error(status, code, &message);
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
