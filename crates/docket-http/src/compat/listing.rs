//! Every live request of one type matching a query, for the products that paginate by page
//! number and report totals (Open Notes, Storyden), which Docket's keyset lists do not.
//!
//! This walks the native keyset pages (indexed, 100 at a time) and leaves the product's
//! extra filters and the page slicing to the caller. The cost grows with the number of
//! the product's requests in the workspace, which is acceptable for a request desk; a
//! backend-side count and offset would replace it if that ever matters.

use crate::state::AppState;
use docket_domain::access::Principal;
use docket_domain::query::{RequestQuery, MAX_LIMIT};
use docket_domain::request::Request;
use docket_store::StoreError;

/// Every request `query` matches (its `limit` and `after` are ignored), in its order.
pub async fn all(
    state: &AppState,
    p: &Principal,
    mut query: RequestQuery,
) -> Result<Vec<Request>, StoreError> {
    query.limit = MAX_LIMIT;
    query.after = None;
    query.restricted = crate::ops::reads::restriction(state, p).await?;
    let mut out = Vec::new();
    loop {
        let page = state.store().list_requests(p.workspace_id, &query).await?;
        out.extend(page.items);
        match page.next {
            Some(next) => query.after = Some(next),
            None => return Ok(out),
        }
    }
}
