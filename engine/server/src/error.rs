//! `ApiError`: the one error type of the HTTP boundary. Every failure of a
//! handler becomes one of these through a `From` conversion, and each
//! leaves as JSON (`{"error": {"code", "message", ...}}`, the CLI's
//! `--json` shape) with the status its meaning calls for. Internal
//! errors are logged here, in full, and sent as a generic sentence.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use integritas_core::error::{EngineError, Problem};
use integritas_core::executor::Refusal;
use integritas_core::message::Message;
use integritas_core::store::StoreError;
use integritas_core::wire::{ErrorBody, ErrorView};

/// Why a request did not do what it asked. Variants say their status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// By the engine's meaning (404, 422, 409 or 403, 409, 503, 500).
    #[error("{0}")]
    Engine(EngineError),
    /// 404: no such thing, or one the caller may not know exists; the two
    /// are answered alike, word for word.
    #[error("no {kind} `{id}`")]
    NotFound { kind: &'static str, id: String },
    /// 401: no valid session or token.
    #[error("sign in first: this needs a session cookie or a bearer token")]
    Unauthorized,
    /// 403: signed in, but the caller's roles do not allow it.
    #[error("{message}")]
    Forbidden { message: String, roles_needed: Vec<String> },
    /// 403: a cookie-authenticated write without the session's CSRF token.
    #[error("this write needs the session's CSRF token in the X-CSRF-Token header")]
    Csrf,
    /// 429: too many attempts from this address.
    #[error("too many sign-in attempts from this address; try again in {retry_after} s")]
    RateLimited { retry_after: u64 },
    /// 400/413/415/422: the request itself is malformed.
    #[error("{message}")]
    BadRequest { status: StatusCode, message: String, path: String },
    /// 422: the input was refused with a body of its own (every problem
    /// of a refused pack).
    #[error("{}", .0.error.message)]
    Rejected(Box<ErrorBody>),
    /// 500: a fault of the install; the detail is logged, never sent.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn forbidden(message: impl Into<String>, roles_needed: Vec<String>) -> ApiError {
        ApiError::Forbidden { message: message.into(), roles_needed }
    }

    /// A 422 naming the field at fault.
    pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::Engine(EngineError::invalid(path, message))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Engine(e) => engine_status(e),
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } | ApiError::Csrf => StatusCode::FORBIDDEN,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::BadRequest { status, .. } => *status,
            ApiError::Rejected(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn view(&self) -> ErrorView {
        match self {
            ApiError::Engine(EngineError::Internal { .. }) | ApiError::Internal(_) => {
                ErrorView::new("internal", "the server failed to do this; the fault is in its log")
            }
            ApiError::Engine(e) => ErrorView::from(e),
            ApiError::NotFound { .. } => ErrorView::new("not_found", self.to_string()),
            ApiError::Unauthorized => ErrorView::new("unauthorized", self.to_string()),
            ApiError::Forbidden { roles_needed, .. } => {
                let mut view = ErrorView::new("forbidden", self.to_string());
                if !roles_needed.is_empty() {
                    view.guard = Some("role".into());
                    view.roles_needed = roles_needed.clone();
                }
                view
            }
            ApiError::Csrf => ErrorView::new("csrf", self.to_string()),
            ApiError::Rejected(body) => body.error.clone(),
            ApiError::RateLimited { .. } => ErrorView::new("rate_limited", self.to_string()),
            ApiError::BadRequest { message, path, .. } => {
                let mut view = ErrorView::new("invalid", message.clone());
                let mut problem = Problem::new(path.clone(), Message::new("problem.input").arg("message", message));
                problem.message = message.clone();
                view.problems = vec![problem];
                view
            }
        }
    }
}

fn engine_status(e: &EngineError) -> StatusCode {
    match e {
        EngineError::NotFound(_) => StatusCode::NOT_FOUND,
        EngineError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        EngineError::Refused(Refusal::Role { .. }) => StatusCode::FORBIDDEN,
        // A document whose forms hold nothing yet: there is nothing to print until they are filled in.
        EngineError::Refused(_) | EngineError::Conflict { .. } | EngineError::NotDrafted { .. } => StatusCode::CONFLICT,
        EngineError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), "request failed: {self}");
        }
        let mut response = (status, axum::Json(ErrorBody { error: self.view() })).into_response();
        if let ApiError::RateLimited { retry_after } = self
            && let Ok(value) = HeaderValue::from_str(&retry_after.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        ApiError::Engine(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Engine(e.into())
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::Internal(format!("a blocking task failed: {e}"))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = match &rejection {
            JsonRejection::JsonDataError(_) => StatusCode::UNPROCESSABLE_ENTITY,
            JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            JsonRejection::BytesRejection(_) => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        // serde's words name the field (`unknown field `today`...`): the
        // body's own words, never a secret of the server.
        let message = match &rejection {
            JsonRejection::JsonDataError(e) => format!("the body does not fit: {}", inner(e)),
            JsonRejection::JsonSyntaxError(e) => format!("the body is not JSON: {}", inner(e)),
            JsonRejection::BytesRejection(_) => "the body is too large or could not be read".to_string(),
            other => other.body_text(),
        };
        ApiError::BadRequest { status, message, path: String::new() }
    }
}

/// The innermost cause of an extractor error: serde's sentence.
fn inner(e: &dyn std::error::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        let message = match &rejection {
            QueryRejection::FailedToDeserializeQueryString(e) => format!("the query does not fit: {}", inner(e)),
            other => other.body_text(),
        };
        ApiError::BadRequest { status: StatusCode::UNPROCESSABLE_ENTITY, message, path: String::new() }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::BadRequest {
            status: StatusCode::BAD_REQUEST,
            message: format!("the path does not fit: {}", rejection.body_text()),
            path: String::new(),
        }
    }
}

/// The result type of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
