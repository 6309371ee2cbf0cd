//! Listing requests: filters, sort orders, and opaque keyset cursors.
//!
//! Pages are cut by keyset (the sort value and the id of the last row), never by offset,
//! so a page boundary does not shift when requests are inserted concurrently: a client
//! paging through sees every row that existed when it started exactly once.

use crate::ids::{MemberId, RequestId};
use crate::request::{Request, TypeKey};
use crate::workflow::{Category, StatusKey};
use crate::Timestamp;
use base64::Engine;
use serde::Deserialize;

pub const MAX_LIMIT: u32 = 100;
pub const DEFAULT_LIMIT: u32 = 25;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    #[default]
    Created,
    Updated,
    Due,
    Number,
}

impl SortKey {
    /// The integer every backend sorts by. Requests without a due date sort after all dated
    /// ones, ascending.
    pub fn value(self, r: &Request) -> i64 {
        match self {
            SortKey::Created => r.created_at.timestamp_micros(),
            SortKey::Updated => r.updated_at.timestamp_micros(),
            SortKey::Due => r.due_at.map_or(i64::MAX, |d| d.timestamp_micros()),
            SortKey::Number => r.number,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            SortKey::Created => "created",
            SortKey::Updated => "updated",
            SortKey::Due => "due",
            SortKey::Number => "number",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Asc,
    #[default]
    Desc,
}

/// A member filter: a given member, or nobody (`none`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberFilter {
    Is(MemberId),
    Nobody,
}

/// Where the previous page ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub key: i64,
    pub id: RequestId,
}

impl Cursor {
    pub fn after(sort: SortKey, r: &Request) -> Self {
        Self {
            key: sort.value(r),
            id: r.id,
        }
    }

    /// Opaque to clients; it records the order it was cut for, so it cannot be replayed
    /// against another order.
    pub fn encode(&self, sort: SortKey, dir: Direction) -> String {
        let dir = if dir == Direction::Asc { "asc" } else { "desc" };
        let raw = format!("1:{}:{dir}:{}:{}", sort.as_str(), self.key, self.id);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    pub fn decode(s: &str, sort: SortKey, dir: Direction) -> Result<Self, String> {
        let bad = || "the cursor is not one this list handed out".to_owned();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| bad())?;
        let raw = String::from_utf8(bytes).map_err(|_| bad())?;
        let parts: Vec<&str> = raw.splitn(5, ':').collect();
        let dir = if dir == Direction::Asc { "asc" } else { "desc" };
        match parts.as_slice() {
            ["1", s, d, key, id] if *s == sort.as_str() && *d == dir => Ok(Self {
                key: key.parse().map_err(|_| bad())?,
                id: id.parse().map_err(|_| bad())?,
            }),
            ["1", ..] => Err("the cursor was made for another sort order; keep sort and direction the same while paging".into()),
            _ => Err(bad()),
        }
    }
}

/// Everything a request list can be filtered and ordered by.
#[derive(Clone, Debug, Default)]
pub struct RequestQuery {
    pub statuses: Vec<StatusKey>,
    pub categories: Vec<Category>,
    /// Requests of one of these types; empty for any type.
    pub types: Vec<TypeKey>,
    pub assignee: Option<MemberFilter>,
    pub requester: Option<MemberFilter>,
    pub tag: Option<String>,
    pub due_before: Option<Timestamp>,
    pub due_after: Option<Timestamp>,
    /// When set, only requests due before this instant and not finished.
    pub overdue_at: Option<Timestamp>,
    /// Words that must all appear in the title, description or data.
    pub text: Option<String>,
    /// Requests whose requested items stand so (see [`crate::item::ProgressFilter`]).
    pub items: Option<crate::item::ProgressFilter>,
    pub sort: SortKey,
    pub direction: Direction,
    pub limit: u32,
    pub after: Option<Cursor>,
    /// What the caller may not see (see [`Restriction`]); `None` sees everything.
    pub restricted: Option<Restriction>,
}

/// The requests hidden from a caller: those of `types` (types whose visibility is `own`)
/// that `member` neither filed nor is assigned to. Lists, the change feed and its stream
/// leave them out; single reads answer them as not found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Restriction {
    /// The caller; `None` (a system token without `requests:manage`) sees none of them.
    pub member: Option<MemberId>,
    /// The keys of the types whose requests only their own people see.
    pub types: Vec<TypeKey>,
}

impl Restriction {
    /// What `p` may not see among requests of `types` (the workspace's request types):
    /// `None` when `p` may see every request.
    pub fn of<'a>(
        p: &crate::access::Principal,
        types: impl IntoIterator<Item = &'a crate::request::RequestType>,
    ) -> Option<Self> {
        if p.has(crate::access::Scope::RequestsManage) {
            return None;
        }
        let types: Vec<TypeKey> = types
            .into_iter()
            .filter(|t| t.workflow.visibility() == crate::workflow::RequestVisibility::Own)
            .map(|t| t.key.clone())
            .collect();
        (!types.is_empty()).then(|| Self {
            member: p.member_id(),
            types,
        })
    }

    /// Whether `r` is hidden by this restriction.
    pub fn hides(&self, r: &Request) -> bool {
        self.types.contains(&r.type_key) && !r.concerns(self.member)
    }
}

/// One page of a list.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Present when more items follow.
    pub next: Option<Cursor>,
}

/// Splits a search into words for the backends' full-text indexes: letters and digits
/// only, so no query syntax from the client ever reaches the index.
pub fn search_terms(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(str::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_another_order() {
        let c = Cursor {
            key: 42,
            id: RequestId::new(),
        };
        let s = c.encode(SortKey::Due, Direction::Asc);
        assert_eq!(Cursor::decode(&s, SortKey::Due, Direction::Asc), Ok(c));
        assert!(Cursor::decode(&s, SortKey::Due, Direction::Desc).is_err());
        assert!(Cursor::decode(&s, SortKey::Created, Direction::Asc).is_err());
        assert!(Cursor::decode("garbage!", SortKey::Due, Direction::Asc).is_err());
    }

    #[test]
    fn search_terms_strip_query_syntax() {
        assert_eq!(
            search_terms("Invoice* OR \"NEAR(x\" -2024"),
            vec!["invoice", "or", "near", "x", "2024"]
        );
    }
}
