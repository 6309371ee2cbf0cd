//! Cross-cutting HTTP behaviour, applied around every route (see `app::router`).

pub mod idempotency;
pub mod pages;
pub mod rate_limit;
pub mod request_id;
pub mod timeout;
