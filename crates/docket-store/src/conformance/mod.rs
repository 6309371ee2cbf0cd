//! The storage conformance suite: the behaviour every [`Store`] backend must have.
//!
//! Docket talks to storage only through [`Store`], so the backends must be
//! interchangeable: the same numbering, the same workspace isolation, the same conflicts,
//! the same list results and the same pages. Each check here is a `pub async fn` that
//! takes a fresh store and asserts one thing a user would notice if it broke.
//! [`conformance_tests!`](crate::conformance_tests) turns them into one
//! `#[tokio::test]` per check for a backend:
//!
//! ```text
//! // crates/docket-store/tests/postgres_conformance.rs
//! docket_store::conformance_tests!(make_postgres_store().await);
//! ```
//!
//! The factory is an expression evaluated inside each (async) test. It yields either an
//! `Arc<dyn Store>` or `(Arc<dyn Store>, guard)`, where the guard (a `TempDir`, a
//! throw-away schema, ...) lives until the test ends. The caller needs `tokio` (with the
//! `macros` and `rt-multi-thread` features) among its dependencies.
//!
//! The checks do not assume an empty database: slugs, emails and idempotency scopes are
//! unique per run, so a backend may share one database between tests.

use crate::{Applied, RequestTypeChange, Result, Store, StoreError};
use docket_domain::access::{Acting, Principal, Role, Scope, ScopeSet};
use docket_domain::event::Event;
use docket_domain::ids::{RequestId, RequestTypeId, WorkspaceId};
use docket_domain::member::{Email, Member, NewMember};
use docket_domain::query::{Direction, RequestQuery, SortKey, MAX_LIMIT};
use docket_domain::request::{
    plan_create, plan_update, NewRequest, Request, RequestPatch, RequestType, TypeKey,
};
use docket_domain::token::{Token, TokenSecret};
use docket_domain::workflow::{
    Category, From as FromStatus, Party, Status, StatusKey, Transition, Workflow, WorkflowInput,
};
use docket_domain::workspace::Workspace;
use docket_domain::{now, DomainError, Timestamp};
use std::any::Any;
use std::fmt::Debug;
use std::sync::Arc;

/// Expands to one `#[tokio::test(flavor = "multi_thread")]` per conformance check, each
/// running the check against a store made by `$factory`.
///
/// `$factory` is evaluated inside each async test, so it may `.await`. It yields an
/// `Arc<dyn Store>`, or `(Arc<dyn Store>, guard)` to keep something (a temporary
/// directory, a scratch schema) alive until the test ends. See [`Fixture`].
///
/// [`Fixture`]: crate::conformance::Fixture
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr $(,)?) => {
        $crate::__conformance_tests! {
            $factory;
            workspace_creation_stores_general_type_owner_and_token,
            duplicate_workspace_slug_is_refused_and_stores_nothing,
            request_numbers_are_sequential_per_workspace,
            unknown_request_type_is_a_validation_error,
            requests_read_back_as_written,
            workspaces_are_isolated,
            change_request_bumps_version_and_appends_event,
            unchanged_patch_adds_no_event,
            concurrent_conflicting_changes_let_exactly_one_win,
            concurrent_creates_get_distinct_numbers,
            list_filters_by_status_and_category,
            list_filters_by_assignee_and_requester,
            list_filters_by_tag_and_type,
            list_filters_by_due_dates_and_overdue,
            list_text_search,
            restricted_types_hide_other_peoples_requests_from_lists_and_the_feed,
            deleted_requests_leave_lists_but_keep_their_timeline,
            pagination_visits_every_request_once_in_order,
            pagination_is_stable_under_concurrent_inserts,
            many_concurrent_lists_each_get_their_own_answer,
            workflow_change_cannot_drop_a_status_in_use,
            moves_follow_the_current_workflow,
            request_type_keys_are_unique_per_workspace,
            external_keys_are_unique_per_workspace_and_space,
            member_emails_are_unique_per_workspace,
            update_member_changes_role_and_name,
            the_last_owner_cannot_be_demoted_even_concurrently,
            the_change_feed_holds_every_event_of_a_workspace_in_order,
            webhooks_are_stored_changed_and_deleted_per_workspace,
            deliveries_are_queued_from_the_outbox_and_claimed_in_order,
            failed_deliveries_retry_then_pause_their_webhook,
            due_notices_are_recorded_once_per_due_time,
            emails_are_queued_once_claimed_and_their_failures_recorded,
            the_email_planner_reads_only_events_that_may_send,
            email_templates_are_overridden_per_workspace,
            public_links_are_created_found_listed_and_revoked,
            several_requests_are_created_with_links_together_or_not_at_all,
            a_one_time_link_is_used_exactly_once_under_concurrent_uses,
            request_by_number_is_scoped_to_the_workspace,
            follow_up_events_are_written_with_the_change,
            tokens_revoke_touch_and_list_by_member,
            idempotency_keys_claim_replay_and_release,
            concurrent_idempotency_claims_let_exactly_one_run,
            moves_racing_a_workflow_change_never_strand_a_request,
            text_search_ignores_case_and_accents,
            passwords_and_sessions_sign_members_in_and_out,
            request_stats_count_unfinished_work_and_completions,
            files_are_stored_listed_and_scoped_to_their_workspace,
            attaching_and_detaching_files_is_recorded_on_the_request,
            deleting_a_file_records_it_on_its_request,
            file_policies_are_set_per_workspace,
            server_secrets_are_made_once_and_shared,
            a_link_use_stores_its_files_in_the_same_write,
            items_are_filed_with_their_request_and_read_back_in_order,
            item_changes_write_the_request_its_items_and_events_together,
            lists_filter_by_item_progress,
        }
    };
}

/// The expansion of [`conformance_tests!`]: one test per named check.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($factory:expr; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread")]
            async fn $check() {
                let (store, _guard) = $crate::conformance::Fixture::into_parts($factory);
                $crate::conformance::$check(store).await;
            }
        )*
    };
}

/// What a backend's factory may yield: the store (`Arc<dyn Store>` or `Arc<Backend>`),
/// optionally paired with a guard kept alive until the test ends (dropped after the check).
pub trait Fixture {
    fn into_parts(self) -> (Arc<dyn Store>, Box<dyn Any + Send>);
}

impl Fixture for Arc<dyn Store> {
    fn into_parts(self) -> (Arc<dyn Store>, Box<dyn Any + Send>) {
        (self, Box::new(()))
    }
}

impl<G: Send + 'static> Fixture for (Arc<dyn Store>, G) {
    fn into_parts(self) -> (Arc<dyn Store>, Box<dyn Any + Send>) {
        (self.0, Box::new(self.1))
    }
}

impl<S: Store> Fixture for Arc<S> {
    fn into_parts(self) -> (Arc<dyn Store>, Box<dyn Any + Send>) {
        (self, Box::new(()))
    }
}

impl<S: Store, G: Send + 'static> Fixture for (Arc<S>, G) {
    fn into_parts(self) -> (Arc<dyn Store>, Box<dyn Any + Send>) {
        (self.0, Box::new(self.1))
    }
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A workspace created through [`Store::create_workspace`], with its owner and the owner's
/// token (and that token's secret).
#[derive(Clone, Debug)]
pub struct TestWorkspace {
    pub workspace: Workspace,
    pub owner: Member,
    pub token: Token,
    pub secret: TokenSecret,
}

impl TestWorkspace {
    pub fn id(&self) -> WorkspaceId {
        self.workspace.id
    }

    /// The owner acting through the owner's token.
    pub fn owner_principal(&self) -> Principal {
        principal_for(&self.owner, Some(&self.token))
    }
}

/// A slug no other run has used: `prefix` and 12 random hex digits.
pub fn unique_slug(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// The workspace, owner and owner token a new workspace is created with (not yet stored).
pub fn new_workspace(slug: &str) -> (Workspace, Member, Token, TokenSecret) {
    let at = now();
    let workspace =
        Workspace::new(&format!("Workspace {slug}"), slug, at).expect("valid workspace");
    let email = Email::parse(&format!("owner@{slug}.example")).expect("valid email");
    let owner = NewMember::new(email, "Olive Owner", Role::Owner)
        .expect("valid member")
        .into_member(workspace.id, at);
    let secret = TokenSecret::generate();
    let token = Token::new(
        workspace.id,
        Some(owner.id),
        "owner",
        Vec::new(),
        None,
        &secret,
        at,
    );
    (workspace, owner, token, secret)
}

/// Creates a workspace with a unique slug starting with `slug_prefix`, its owner and the
/// owner's token.
pub async fn create_workspace(store: &dyn Store, slug_prefix: &str) -> TestWorkspace {
    let (workspace, owner, token, secret) = new_workspace(&unique_slug(slug_prefix));
    store
        .create_workspace(workspace.clone(), owner.clone(), token.clone())
        .await
        .expect("create a workspace");
    TestWorkspace {
        workspace,
        owner,
        token,
        secret,
    }
}

/// The principal of `member`, acting through `token` (and its scopes) if given.
pub fn principal_for(member: &Member, token: Option<&Token>) -> Principal {
    Principal::for_token(
        member.workspace_id,
        Some(Acting {
            id: member.id,
            role: member.role,
        }),
        token.map(|t| t.id),
        token.map_or(ScopeSet::empty(), Token::scope_set),
    )
}

/// A system token's principal: no member, every scope.
pub fn system_principal(ws: WorkspaceId) -> Principal {
    Principal::for_token(ws, None, None, ScopeSet::empty())
}

/// Adds a member to a workspace.
pub async fn add_member(
    store: &dyn Store,
    ws: WorkspaceId,
    email: &str,
    name: &str,
    role: Role,
) -> Member {
    let member = NewMember::new(Email::parse(email).expect("valid email"), name, role)
        .expect("valid member")
        .into_member(ws, now());
    store.insert_member(member).await.expect("insert a member")
}

/// A new request with just a title.
pub fn titled(title: &str) -> NewRequest {
    NewRequest {
        title: title.to_owned(),
        ..Default::default()
    }
}

/// Files a request of `type_key` in the principal's workspace, as created at `at`.
pub async fn file_request_at(
    store: &dyn Store,
    p: &Principal,
    type_key: &TypeKey,
    input: NewRequest,
    at: Timestamp,
) -> (Request, Event) {
    let p = p.clone();
    store
        .create_request(
            p.workspace_id,
            type_key,
            Box::new(move |t, n| plan_create(&p, t, input, n, at)),
        )
        .await
        .expect("create a request")
}

/// Files a `general` request in the principal's workspace, now.
pub async fn file_request(store: &dyn Store, p: &Principal, input: NewRequest) -> Request {
    file_request_at(store, p, &TypeKey::general(), input, now())
        .await
        .0
}

/// Applies `patch` to a request of the principal's workspace through
/// [`plan_update`], as changed at `at`.
pub async fn patch_request_at(
    store: &dyn Store,
    p: &Principal,
    id: RequestId,
    patch: RequestPatch,
    expected_version: Option<i64>,
    at: Timestamp,
) -> Result<Applied> {
    let p = p.clone();
    store
        .change_request(
            p.workspace_id,
            id,
            Box::new(move |current, t| {
                plan_update(&p, current, &t.workflow, patch, expected_version, at)
            }),
        )
        .await
}

/// Applies `patch` now, with no version precondition.
pub async fn patch_request(
    store: &dyn Store,
    p: &Principal,
    id: RequestId,
    patch: RequestPatch,
) -> Result<Applied> {
    patch_request_at(store, p, id, patch, None, now()).await
}

/// Moves a request to `status`, which must succeed.
pub async fn move_request(
    store: &dyn Store,
    p: &Principal,
    id: RequestId,
    status: &str,
) -> Request {
    let patch = RequestPatch {
        status: Some(status_key(status)),
        ..Default::default()
    };
    let applied = patch_request(store, p, id, patch).await;
    changed(applied, &format!("moving a request to {status}")).0
}

/// The request and event of an [`Applied::Changed`], or a panic saying what was expected.
pub fn changed(applied: Result<Applied>, what: &str) -> (Request, Event) {
    match applied {
        Ok(Applied::Changed { request, event }) => (request, event),
        other => panic!("{what}: expected Applied::Changed, got {other:?}"),
    }
}

fn status_key(s: &str) -> StatusKey {
    StatusKey::parse(s).expect("valid status key")
}

fn type_key(s: &str) -> TypeKey {
    TypeKey::parse(s).expect("valid type key")
}

/// A request type with `workflow`, not yet stored.
pub fn new_request_type(ws: WorkspaceId, key: &str, workflow: Workflow) -> RequestType {
    let at = now();
    RequestType {
        id: RequestTypeId::new(),
        workspace_id: ws,
        key: type_key(key),
        name: format!("Type {key}"),
        description: String::new(),
        workflow,
        items: Vec::new(),
        created_at: at,
        updated_at: at,
    }
}

/// `base` without the statuses in `drop` (and their transitions), with the statuses in
/// `set` added or (same key) replaced, and a `requests:manage` transition for each
/// `(from, to)` in `moves`.
pub fn edit_workflow(
    base: &Workflow,
    drop: &[&str],
    set: &[(&str, Category)],
    moves: &[(&str, &str)],
) -> Workflow {
    let kept = |k: &StatusKey| !drop.contains(&k.as_str());
    let mut statuses: Vec<Status> = base
        .statuses()
        .iter()
        .filter(|s| kept(&s.key))
        .cloned()
        .collect();
    for &(key, category) in set {
        match statuses.iter_mut().find(|s| s.key.as_str() == key) {
            Some(s) => s.category = category,
            None => statuses.push(Status {
                key: status_key(key),
                label: key.to_owned(),
                category,
                initial: false,
            }),
        }
    }
    let mut transitions: Vec<Transition> = base
        .transitions()
        .iter()
        .filter(|t| {
            kept(&t.to)
                && match &t.from {
                    FromStatus::Any => true,
                    FromStatus::Status(k) => kept(k),
                }
        })
        .cloned()
        .collect();
    for &(from, to) in moves {
        transitions.push(Transition {
            from: FromStatus::Status(status_key(from)),
            to: status_key(to),
            by: vec![Party::Scope(Scope::RequestsManage)],
            assigns_actor: false,
        });
    }
    Workflow::new(WorkflowInput {
        statuses,
        transitions,
        remind_before_due_minutes: base.reminders().to_vec(),
        notify_contact_on: Vec::new(),
        ..Default::default()
    })
    .expect("a valid edited workflow")
}

/// A request-type change that replaces only the workflow.
pub fn workflow_change(workflow: Workflow) -> RequestTypeChange {
    RequestTypeChange {
        workflow: Some(workflow),
        ..Default::default()
    }
}

/// 32 random bytes, for idempotency scopes and fingerprints.
fn random_bytes() -> [u8; 32] {
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    out[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    out
}

/// A query for everything, on one page.
fn everything() -> RequestQuery {
    RequestQuery {
        limit: MAX_LIMIT,
        ..Default::default()
    }
}

/// The titles a query lists (one page), sorted.
async fn listed_titles(store: &dyn Store, ws: WorkspaceId, query: &RequestQuery) -> Vec<String> {
    let page = store.list_requests(ws, query).await.expect("list requests");
    let mut titles: Vec<String> = page.items.into_iter().map(|r| r.title).collect();
    titles.sort();
    titles
}

async fn expect_titles(
    store: &dyn Store,
    ws: WorkspaceId,
    what: &str,
    query: RequestQuery,
    expected: &[&str],
) {
    let mut expected: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    assert_eq!(
        listed_titles(store, ws, &query).await,
        expected,
        "listing {what}"
    );
}

/// Every page of a query, following `next` until it is absent.
async fn all_pages(
    store: &dyn Store,
    ws: WorkspaceId,
    mut query: RequestQuery,
) -> Vec<Vec<Request>> {
    let mut pages = Vec::new();
    loop {
        let page = store.list_requests(ws, &query).await.expect("list a page");
        assert!(
            page.items.len() <= query.limit as usize,
            "a page holds at most `limit` items"
        );
        pages.push(page.items);
        match page.next {
            Some(cursor) => query.after = Some(cursor),
            None => return pages,
        }
        assert!(
            pages.len() <= 1000,
            "paging never ends: the cursor does not advance"
        );
    }
}

fn titles_of(requests: &[Request]) -> Vec<String> {
    requests.iter().map(|r| r.title.clone()).collect()
}

/// `requests` in the order a list sorted by `sort` and `dir` must return them: by the sort
/// value, ties broken by id, both in the list's direction.
fn in_list_order(requests: &[Request], sort: SortKey, dir: Direction) -> Vec<Request> {
    let mut out = requests.to_vec();
    out.sort_by_key(|r| (sort.value(r), r.id));
    if dir == Direction::Desc {
        out.reverse();
    }
    out
}

fn expect_conflict<T: Debug>(result: Result<T>, code: &str, what: &str) {
    match result {
        Err(StoreError::Domain(DomainError::Conflict { code: c, .. })) if c == code => {}
        other => panic!("{what}: expected Conflict {{ code: {code:?} }}, got {other:?}"),
    }
}

fn expect_not_found<T: Debug>(result: Result<T>, what: &str) {
    match result {
        Err(StoreError::Domain(DomainError::NotFound(_))) => {}
        other => panic!("{what}: expected NotFound, got {other:?}"),
    }
}

fn expect_invalid<T: Debug>(result: Result<T>, field: &str, what: &str) {
    match result {
        Err(StoreError::Domain(DomainError::Validation(errors)))
            if errors.iter().any(|e| e.field == field) => {}
        other => panic!("{what}: expected a validation error on {field:?}, got {other:?}"),
    }
}

fn fields(event: &Event) -> Vec<&str> {
    event.changes.iter().map(|c| c.field.as_str()).collect()
}

mod events;
mod files;
mod idempotency;
mod items;
mod links;
mod lists;
mod members;
mod request_types;
mod requests;
mod workspaces;

pub use events::{
    deliveries_are_queued_from_the_outbox_and_claimed_in_order,
    due_notices_are_recorded_once_per_due_time, email_templates_are_overridden_per_workspace,
    emails_are_queued_once_claimed_and_their_failures_recorded,
    failed_deliveries_retry_then_pause_their_webhook, new_webhook,
    the_change_feed_holds_every_event_of_a_workspace_in_order,
    the_email_planner_reads_only_events_that_may_send,
    webhooks_are_stored_changed_and_deleted_per_workspace,
};
pub use files::{
    a_link_use_stores_its_files_in_the_same_write,
    attaching_and_detaching_files_is_recorded_on_the_request,
    deleting_a_file_records_it_on_its_request, file_policies_are_set_per_workspace,
    files_are_stored_listed_and_scoped_to_their_workspace, new_file,
    server_secrets_are_made_once_and_shared,
};
pub use idempotency::{
    concurrent_idempotency_claims_let_exactly_one_run, idempotency_keys_claim_replay_and_release,
    moves_racing_a_workflow_change_never_strand_a_request,
    restricted_types_hide_other_peoples_requests_from_lists_and_the_feed,
    text_search_ignores_case_and_accents, the_last_owner_cannot_be_demoted_even_concurrently,
};
pub use items::{
    item_changes_write_the_request_its_items_and_events_together,
    items_are_filed_with_their_request_and_read_back_in_order, lists_filter_by_item_progress,
};
pub use links::{
    a_one_time_link_is_used_exactly_once_under_concurrent_uses,
    follow_up_events_are_written_with_the_change, passwords_and_sessions_sign_members_in_and_out,
    public_links_are_created_found_listed_and_revoked,
    request_by_number_is_scoped_to_the_workspace,
    request_stats_count_unfinished_work_and_completions,
    several_requests_are_created_with_links_together_or_not_at_all,
};
pub use lists::{
    deleted_requests_leave_lists_but_keep_their_timeline, list_filters_by_assignee_and_requester,
    list_filters_by_due_dates_and_overdue, list_filters_by_status_and_category,
    list_filters_by_tag_and_type, list_text_search,
    many_concurrent_lists_each_get_their_own_answer, pagination_is_stable_under_concurrent_inserts,
    pagination_visits_every_request_once_in_order,
};
pub use members::{
    member_emails_are_unique_per_workspace, tokens_revoke_touch_and_list_by_member,
    update_member_changes_role_and_name,
};
pub use request_types::{
    external_keys_are_unique_per_workspace_and_space, moves_follow_the_current_workflow,
    request_type_keys_are_unique_per_workspace, workflow_change_cannot_drop_a_status_in_use,
};
pub use requests::{
    change_request_bumps_version_and_appends_event,
    concurrent_conflicting_changes_let_exactly_one_win, concurrent_creates_get_distinct_numbers,
    request_numbers_are_sequential_per_workspace, requests_read_back_as_written,
    unchanged_patch_adds_no_event, unknown_request_type_is_a_validation_error,
    workspaces_are_isolated,
};
pub use workspaces::{
    duplicate_workspace_slug_is_refused_and_stores_nothing,
    workspace_creation_stores_general_type_owner_and_token,
};
