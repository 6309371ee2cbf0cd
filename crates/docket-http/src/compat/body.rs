//! Reading a JSON body into a typed value, with failures described neutrally so that each
//! product can render them in its own error format and status codes.

use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

/// Why a body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// The content type is not JSON (`application/json` or `application/*+json`).
    NotJson,
    /// Larger than the server's body limit.
    TooLarge { limit: usize },
    /// Not one JSON value.
    Syntax(String),
    /// Valid JSON of the wrong shape; `pointer` is a JSON pointer to the field
    /// (`/data/attributes/request_id`), empty for the whole body.
    Shape { pointer: String, message: String },
}

impl BodyError {
    pub fn message(&self) -> String {
        match self {
            BodyError::NotJson => "send the body as application/json".to_owned(),
            BodyError::TooLarge { limit } => {
                format!("the request body is larger than {limit} bytes")
            }
            BodyError::Syntax(m) => format!("the body is not valid JSON: {m}"),
            BodyError::Shape { pointer, message } if pointer.is_empty() => message.clone(),
            BodyError::Shape { pointer, message } => format!("{pointer}: {message}"),
        }
    }
}

/// The raw body of a request, or why it could not be read: larger than the limit
/// (refused at once when its `Content-Length` says so, before any of it arrives), or
/// broken off. For the products that parse their bodies themselves (Collect, Gipper).
pub struct RawBody(pub Result<Bytes, BodyError>);

impl FromRequest<AppState> for RawBody {
    type Rejection = std::convert::Infallible;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let limit = state.settings().body_limit_bytes;
        if crate::extract::declares_more_than(req.headers(), limit) {
            return Ok(RawBody(Err(BodyError::TooLarge { limit })));
        }
        Ok(RawBody(Bytes::from_request(req, state).await.map_err(
            |e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    BodyError::TooLarge { limit }
                } else {
                    BodyError::Syntax(e.body_text())
                }
            },
        )))
    }
}

/// Reads and parses the body of `req`; an empty body counts as `{}` when `empty_is_object`.
pub async fn read_json<T: DeserializeOwned>(
    req: Request,
    state: &AppState,
    empty_is_object: bool,
) -> Result<T, BodyError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    let limit = state.settings().body_limit_bytes;
    let is_json = content_type.as_deref().is_some_and(|m| {
        m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
    });
    if crate::extract::declares_more_than(req.headers(), limit) {
        return Err(BodyError::TooLarge { limit });
    }
    let bytes = Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            BodyError::TooLarge { limit }
        } else {
            BodyError::Syntax(e.body_text())
        }
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) && empty_is_object && content_type.is_none() {
        return parse(b"{}");
    }
    if !is_json {
        return Err(BodyError::NotJson);
    }
    if crate::extract::is_array(&bytes) {
        return Err(BodyError::Shape {
            pointer: String::new(),
            message: "the body must be a JSON object".to_owned(),
        });
    }
    parse(&bytes)
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BodyError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            BodyError::Syntax(inner.to_string())
        } else {
            let message = inner.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_owned();
            BodyError::Shape {
                pointer: pointer(&path),
                message,
            }
        }
    })?;
    de.end().map_err(|e| BodyError::Syntax(e.to_string()))?;
    Ok(value)
}

/// `data.attributes.x` or `items[2].y` as a JSON pointer: `/data/attributes/x`, `/items/2/y`.
fn pointer(path: &str) -> String {
    if path == "." {
        return String::new();
    }
    let mut out = String::new();
    for part in path.split('.') {
        for piece in part.split('[') {
            let piece = piece.trim_end_matches(']');
            if !piece.is_empty() {
                out.push('/');
                out.push_str(piece);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths_become_json_pointers() {
        assert_eq!(super::pointer("."), "");
        assert_eq!(super::pointer("data.attributes.x"), "/data/attributes/x");
        assert_eq!(super::pointer("items[2].y"), "/items/2/y");
    }
}
