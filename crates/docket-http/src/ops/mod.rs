//! The operations layer: one plain async function per use case, called by every front
//! end (the native API, the desk, the portal and the product APIs), so that a rule the
//! domain decides is applied the same way wherever a request is read or changed.
//!
//! - [`reads`]: reading requests and their events as a principal may see them (a type
//!   whose visibility is `own` hides other people's requests from members).

pub mod reads;
