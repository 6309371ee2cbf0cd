//! Work Docket does outside a request: delivering webhooks, the due-date scheduler,
//! and email.
//!
//! Workers run inside `launch`, beside the HTTP server, and stop with it: they take no new
//! work after shutdown begins and finish what they started. Everything they work on is
//! claimed through the store with a lease, so several nodes can run them at once.

pub mod mail;
pub mod scheduler;
pub mod webhooks;
