//! `GET /api/reports`: pages of 10, most recently updated first. Without `status`, open
//! reports (submitted and acknowledged); members without `MANAGE_REPORTS` see only the
//! reports they filed.

use super::{people, Report, StorydenAuth, StorydenError, STATUSES};
use crate::compat::builtin::STORYDEN_REPORT;
use crate::compat::listing;
use crate::state::AppState;
use axum::extract::State;
use axum::http::Uri;
use axum::Json;
use docket_domain::access::Scope;
use docket_domain::query::{Direction, MemberFilter, RequestQuery, SortKey};
use docket_domain::workflow::StatusKey;
use serde::Serialize;

/// Storyden's page size.
pub const PAGE_SIZE: usize = 10;

/// `{page_size, results, total_pages, current_page, next_page?, reports}`.
#[derive(Serialize)]
pub struct ReportList {
    pub page_size: usize,
    pub results: usize,
    pub total_pages: usize,
    pub current_page: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page: Option<usize>,
    pub reports: Vec<Report>,
}

pub async fn list(
    State(state): State<AppState>,
    StorydenAuth(p): StorydenAuth,
    uri: Uri,
) -> Result<Json<ReportList>, StorydenError> {
    p.require(Scope::RequestsRead)?;
    let mut page = 1usize;
    let mut statuses = vec!["submitted", "acknowledged"];
    let mut kind = None;
    let bad = |m: &str| StorydenError::BadRequest(m.to_owned());
    for (name, value) in form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "page" if !value.is_empty() => {
                page = value
                    .parse()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| bad("page must be a whole number of at least 1"))?;
            }
            "status" if !value.is_empty() => {
                let s = STATUSES.into_iter().find(|s| *s == value).ok_or_else(|| {
                    bad("status must be one of submitted, acknowledged, resolved")
                })?;
                statuses = vec![s];
            }
            "kind" if !value.is_empty() => kind = Some(value.into_owned()),
            _ => {}
        }
    }
    let query = RequestQuery {
        statuses: statuses
            .iter()
            .filter_map(|s| StatusKey::parse(s).ok())
            .collect(),
        types: vec![STORYDEN_REPORT.type_key()],
        requester: if p.has(Scope::RequestsManage) {
            None
        } else {
            Some(p.member_id().map_or(MemberFilter::Nobody, MemberFilter::Is))
        },
        sort: SortKey::Updated,
        direction: Direction::Desc,
        ..Default::default()
    };
    let matching: Vec<_> = listing::all(&state, &p, query)
        .await?
        .into_iter()
        .filter(|r| {
            kind.as_ref()
                .is_none_or(|k| r.subject.as_ref().is_some_and(|s| &s.kind == k))
        })
        .collect();
    let results = matching.len();
    let total_pages = results.div_ceil(PAGE_SIZE);
    let shown: Vec<_> = matching
        .into_iter()
        .skip((page - 1).saturating_mul(PAGE_SIZE))
        .take(PAGE_SIZE)
        .collect();
    let people = people(&state, &p, &shown).await?;
    Ok(Json(ReportList {
        page_size: PAGE_SIZE,
        results,
        total_pages,
        current_page: page,
        next_page: (page < total_pages).then_some(page + 1),
        reports: shown.iter().map(|r| Report::of(r, &people)).collect(),
    }))
}
