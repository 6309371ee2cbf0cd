//! The dashboard a lead opens every morning: unfinished requests by status and by
//! assignee, the overdue ones, and requests opened and completed per day over the last 30
//! days with the median time to completion.

use super::chart;
use super::directory::Directory;
use super::page::{api_error_page, render, Nav};
use super::session::DeskUser;
use crate::error::ApiError;
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use docket_domain::access::Scope;
use docket_domain::query::{Direction, RequestQuery, SortKey};

/// How many days the chart and the median cover.
const DAYS: u32 = 30;

pub struct Count {
    pub label: String,
    pub count: i64,
    pub link: String,
}

pub struct Overdue {
    pub number: i64,
    pub title: String,
    pub due: String,
    pub assignee: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    nav: Nav,
    open_total: i64,
    by_status: Vec<Count>,
    by_assignee: Vec<Count>,
    overdue: Vec<Overdue>,
    more_overdue: bool,
    chart: String,
    completed: usize,
    median: String,
}

pub async fn page(State(state): State<AppState>, user: DeskUser) -> Response {
    match inner(&state, &user).await {
        Ok(r) => r,
        Err(e) => api_error_page(e),
    }
}

async fn inner(state: &AppState, user: &DeskUser) -> Result<Response, ApiError> {
    user.principal.require(Scope::RequestsRead)?;
    let ws = user.principal.workspace_id;
    let now = docket_domain::now();
    let today = now.date_naive();
    let since = (today - chrono::Days::new(u64::from(DAYS - 1)))
        .and_hms_opt(0, 0, 0)
        .map_or(now, |d| d.and_utc());
    let stats = crate::ops::reads::request_stats(state, &user.principal, since).await?;
    let dir = Directory::load(state, ws).await?;
    let unfinished = "category=open,in_progress,waiting";
    let by_status = stats
        .open_by_status
        .iter()
        .map(|s| Count {
            label: format!(
                "{} · {}",
                dir.type_name(&s.type_key),
                dir.status_label(&s.type_key, &s.status)
            ),
            count: s.count,
            link: format!("type={}&status={}", s.type_key.as_str(), s.status.as_str()),
        })
        .collect();
    let by_assignee = stats
        .open_by_assignee
        .iter()
        .map(|(id, n)| Count {
            label: dir.member_name(*id, "Unassigned"),
            count: *n,
            link: format!(
                "{unfinished}&assignee={}",
                id.map_or_else(|| "none".to_owned(), |i| i.to_string())
            ),
        })
        .collect();
    // One more than shown, to know whether there are more.
    let query = RequestQuery {
        overdue_at: Some(now),
        sort: SortKey::Due,
        direction: Direction::Asc,
        limit: 11,
        ..Default::default()
    };
    let late = crate::ops::reads::list_requests(state, &user.principal, query).await?;
    let more_overdue = late.items.len() > 10;
    let overdue = late
        .items
        .iter()
        .take(10)
        .map(|r| Overdue {
            number: r.number,
            title: r.title.clone(),
            due: r.due_at.map(super::page::when).unwrap_or_default(),
            assignee: dir.member_name(r.assignee_id, "Unassigned"),
        })
        .collect();
    let days = chart::per_day(
        today,
        DAYS,
        stats.opened.iter().map(|t| t.date_naive()),
        stats.completed.iter().map(|(_, done)| done.date_naive()),
    );
    let median = chart::median_secs(
        stats
            .completed
            .iter()
            .map(|(created, done)| (*done - *created).num_seconds())
            .collect(),
    );
    Ok(render(&DashboardPage {
        nav: Nav::new(user, "dashboard"),
        open_total: stats.open_by_status.iter().map(|s| s.count).sum(),
        by_status,
        by_assignee,
        overdue,
        more_overdue,
        chart: chart::svg(&days),
        completed: stats.completed.len(),
        median: median.map_or_else(|| "—".to_owned(), chart::humanize),
    }))
}
