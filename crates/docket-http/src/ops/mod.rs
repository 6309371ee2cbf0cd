//! The operations layer: one plain async function per use case, called by every front
//! end (the native API, the desk, the portal and the product APIs), so that a rule the
//! domain decides is applied the same way wherever a request is read or changed.
//!
//! - [`reads`]: reading requests and their events as a principal may see them (a type
//!   whose visibility is `own` hides other people's requests from members).
//! - [`requests`]: filing, changing and commenting on a request.
//! - [`items`]: a request's requested items: adding, editing, answering, reviewing,
//!   sending back.
//! - [`links`]: sharing a request through a public link and revoking it.
//! - [`people`]: adding and changing members, issuing and revoking tokens.
//! - [`types`]: defining a request type and changing its workflow.
//!
//! An operation takes the caller's [`docket_domain::access::Principal`] and typed values,
//! never a front end's request or body: the API parses JSON into them, the desk its forms.

pub mod items;
pub mod links;
pub mod people;
pub mod reads;
pub mod requests;
pub mod types;
