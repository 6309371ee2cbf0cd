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

use crate::{
    Applied, AttemptOutcome, ExternalKey, IdempotencyClaim, MemberChange, RequestTypeChange,
    Result, Store, StoreError, StoredResponse, WebhookChange,
};
use crate::{EmailOutcome, NewEmail, NewLink};
use chrono::TimeDelta;
use docket_domain::access::{Acting, Principal, Role, Scope, ScopeSet};
use docket_domain::event::{Actor, Event, EventKind};
use docket_domain::file::{
    attached_change, storage_key, FileId, FileName, FilePolicy, FileRecord, Uploader, Visibility,
};
use docket_domain::ids::{
    EventId, MemberId, RequestId, RequestTypeId, TokenId, WebhookId, WorkspaceId,
};
use docket_domain::link::{plan_link_use, LinkMode, LinkSubmission, PublicLink};
use docket_domain::member::{Email, Member, NewMember};
use docket_domain::query::{
    Direction, MemberFilter, RequestQuery, Restriction, SortKey, MAX_LIMIT,
};
use docket_domain::request::{
    plan_create, plan_delete, plan_update, NewRequest, Patch, Request, RequestPatch, RequestType,
    Subject, TypeKey,
};
use docket_domain::session::Session;
use docket_domain::token::{Token, TokenHash, TokenSecret};
use docket_domain::webhook::{Attempt, DeliveryState, Webhook, WebhookState};
use docket_domain::workflow::{
    Category, From as FromStatus, Party, Status, StatusKey, Transition, Workflow, WorkflowInput,
};
use docket_domain::workspace::Workspace;
use docket_domain::{now, DomainError, Timestamp};
use std::any::Any;
use std::collections::{BTreeSet, HashSet};
use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, Ordering};
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

// ---------------------------------------------------------------------------------------
// Workspaces
// ---------------------------------------------------------------------------------------

/// A new workspace comes with the built-in `general` type, its owner, and the owner's
/// token, which authenticates (found by hash, with its member).
pub async fn workspace_creation_stores_general_type_owner_and_token(store: Arc<dyn Store>) {
    store.ping().await.expect("a fresh store answers ping");
    let s = create_workspace(&*store, "acme").await;
    let ws = s.id();

    let listed = store.list_workspaces().await.expect("list workspaces");
    assert!(listed.contains(&s.workspace), "the new workspace is listed");
    assert_eq!(
        store
            .workspace_by_slug(&s.workspace.slug)
            .await
            .expect("by slug"),
        Some(s.workspace.clone())
    );
    assert_eq!(
        store
            .workspace_by_slug(&unique_slug("nobody"))
            .await
            .expect("by slug"),
        None
    );

    let types = store
        .list_request_types(ws)
        .await
        .expect("list request types");
    assert_eq!(
        types.len(),
        1,
        "a new workspace has exactly one request type: {types:?}"
    );
    assert_eq!(types[0].key, TypeKey::general());
    assert_eq!(types[0].workspace_id, ws);
    assert_eq!(
        types[0].workflow,
        Workflow::general(),
        "general uses the general workflow"
    );
    assert_eq!(
        store
            .get_request_type(ws, &TypeKey::general())
            .await
            .expect("get type"),
        Some(types[0].clone())
    );

    assert_eq!(
        store.get_member(ws, s.owner.id).await.expect("get member"),
        Some(s.owner.clone())
    );
    assert_eq!(
        store
            .member_by_email(ws, &s.owner.email)
            .await
            .expect("by email"),
        Some(s.owner.clone())
    );
    assert_eq!(
        store.list_members(ws).await.expect("list members"),
        vec![s.owner.clone()]
    );

    let found = store
        .token_by_hash(&s.secret.hash())
        .await
        .expect("token by hash");
    assert_eq!(
        found,
        Some((s.token.clone(), Some(s.owner.clone()))),
        "the owner's token authenticates as the owner"
    );
    assert_eq!(
        store.get_token(ws, s.token.id).await.expect("get token"),
        Some(s.token.clone())
    );
    assert_eq!(
        store.list_tokens(ws, None).await.expect("list tokens"),
        vec![s.token.clone()]
    );
    let stranger = TokenSecret::generate();
    assert_eq!(
        store
            .token_by_hash(&stranger.hash())
            .await
            .expect("token by hash"),
        None,
        "an unknown secret finds nothing"
    );
}

/// A second workspace with a taken slug is `slug_taken`, and none of it (owner, token) is
/// stored: creation is atomic.
pub async fn duplicate_workspace_slug_is_refused_and_stores_nothing(store: Arc<dyn Store>) {
    let first = create_workspace(&*store, "dup").await;
    let (workspace, owner, token, secret) = new_workspace(&first.workspace.slug);
    let result = store
        .create_workspace(workspace.clone(), owner.clone(), token)
        .await;
    expect_conflict(
        result,
        "slug_taken",
        "a second workspace with the same slug",
    );

    assert_eq!(
        store
            .workspace_by_slug(&first.workspace.slug)
            .await
            .expect("by slug"),
        Some(first.workspace.clone())
    );
    let listed = store.list_workspaces().await.expect("list workspaces");
    assert!(
        !listed.iter().any(|w| w.id == workspace.id),
        "the refused workspace is not listed"
    );
    assert_eq!(
        store
            .token_by_hash(&secret.hash())
            .await
            .expect("token by hash"),
        None,
        "the refused owner token does not authenticate"
    );
    assert_eq!(
        store
            .get_member(workspace.id, owner.id)
            .await
            .expect("get member"),
        None
    );
    assert_eq!(
        store
            .list_request_types(workspace.id)
            .await
            .expect("list types"),
        Vec::new()
    );
}

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

/// Request numbers are 1, 2, 3, … in each workspace, independently, and a create that is
/// refused does not use up a number.
pub async fn request_numbers_are_sequential_per_workspace(store: Arc<dyn Store>) {
    let a = create_workspace(&*store, "num-a").await;
    let b = create_workspace(&*store, "num-b").await;
    let (pa, pb) = (a.owner_principal(), b.owner_principal());

    let mut numbers_a = Vec::new();
    let mut numbers_b = Vec::new();
    for i in 0..3 {
        numbers_a.push(
            file_request(&*store, &pa, titled(&format!("A{i}")))
                .await
                .number,
        );
        numbers_b.push(
            file_request(&*store, &pb, titled(&format!("B{i}")))
                .await
                .number,
        );
    }
    assert_eq!(
        numbers_a,
        [1, 2, 3],
        "workspace A numbers its requests from 1"
    );
    assert_eq!(
        numbers_b,
        [1, 2, 3],
        "workspace B numbers its requests from 1, whatever A does"
    );

    // Refused creates (unknown type, invalid input) leave no gap.
    let result = store
        .create_request(
            a.id(),
            &type_key("nope"),
            Box::new(|_, _| panic!("planned an unknown type")),
        )
        .await;
    expect_invalid(result, "type", "creating a request of an unknown type");
    let p = pa.clone();
    let result = store
        .create_request(
            a.id(),
            &TypeKey::general(),
            Box::new(move |t, n| plan_create(&p, t, titled("   "), n, now())),
        )
        .await;
    expect_invalid(result, "title", "creating a request without a title");
    assert_eq!(
        file_request(&*store, &pa, titled("A3")).await.number,
        4,
        "refused creates use up no number"
    );
}

/// Creating a request with a type key the workspace does not have is a validation error
/// on `type`, and stores nothing.
pub async fn unknown_request_type_is_a_validation_error(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "unknown-type").await;
    let p = s.owner_principal();
    let result = store
        .create_request(
            s.id(),
            &type_key("photo_request"),
            Box::new(move |t, n| plan_create(&p, t, titled("Shoot"), n, now())),
        )
        .await;
    expect_invalid(result, "type", "creating a request of an unknown type");
    expect_titles(
        &*store,
        s.id(),
        "after the refused create",
        everything(),
        &[],
    )
    .await;
}

/// Every field of a request is stored as planned and read back unchanged, and the created
/// event is in its timeline.
pub async fn requests_read_back_as_written(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "roundtrip").await;
    let p = s.owner_principal();
    let ana = add_member(
        &*store,
        s.id(),
        "ana@roundtrip.example",
        "Ana",
        Role::Member,
    )
    .await;
    let data = serde_json::json!({"asset": "PRN-4471", "floor": 3, "nested": {"ok": true, "list": [1, "two", null]}, "ünï": "çødé"});
    let input = NewRequest {
        title: "Printer on fire".into(),
        description: Some("Third floor, next to the kitchen.\nPlease hurry ✨".into()),
        assignee_id: Some(ana.id),
        due_at: Some(now() + TimeDelta::days(2)),
        data: data.as_object().cloned(),
        tags: Some(vec!["hardware".into(), "urgent".into()]),
        subject: Some(Subject {
            kind: "asset".into(),
            id: "PRN-4471".into(),
        }),
    };
    let (request, created) = file_request_at(&*store, &p, &TypeKey::general(), input, now()).await;
    assert_eq!(request.version, 1);
    assert_eq!(request.workspace_id, s.id());
    assert_eq!(
        store
            .get_request(s.id(), request.id)
            .await
            .expect("get request"),
        Some(request.clone()),
        "the stored request equals the planned one"
    );
    assert_eq!(created.kind, EventKind::Created);
    assert_eq!(created.request_id, request.id);
    let timeline = store
        .timeline(s.id(), request.id, None, 100)
        .await
        .expect("timeline");
    assert_eq!(
        timeline,
        vec![created],
        "the timeline holds the created event as returned"
    );
    assert_eq!(
        store
            .get_request(s.id(), RequestId::new())
            .await
            .expect("get request"),
        None,
        "an unknown id is not found"
    );
}

/// Nothing crosses a workspace: asked with another workspace's id, a request, member,
/// token or request type is not found, lists do not show it, and writes are `NotFound`
/// without running the plan.
pub async fn workspaces_are_isolated(store: Arc<dyn Store>) {
    let a = create_workspace(&*store, "iso-a").await;
    let b = create_workspace(&*store, "iso-b").await;
    let pa = a.owner_principal();
    let request = file_request(&*store, &pa, titled("Secret merger plans")).await;
    let purchase = store
        .insert_request_type(new_request_type(a.id(), "purchase", Workflow::general()))
        .await
        .expect("insert a request type");

    // Reads.
    assert_eq!(
        store
            .get_request(b.id(), request.id)
            .await
            .expect("get request"),
        None,
        "A's request from B"
    );
    assert_eq!(
        store
            .get_member(b.id(), a.owner.id)
            .await
            .expect("get member"),
        None,
        "A's owner from B"
    );
    assert_eq!(
        store
            .member_by_email(b.id(), &a.owner.email)
            .await
            .expect("by email"),
        None,
        "A's owner by email from B"
    );
    assert_eq!(
        store
            .get_token(b.id(), a.token.id)
            .await
            .expect("get token"),
        None,
        "A's token from B"
    );
    assert_eq!(
        store
            .get_request_type(b.id(), &purchase.key)
            .await
            .expect("get type"),
        None,
        "A's request type from B"
    );
    let b_types: Vec<TypeKey> = store
        .list_request_types(b.id())
        .await
        .expect("list types")
        .into_iter()
        .map(|t| t.key)
        .collect();
    assert_eq!(
        b_types,
        vec![TypeKey::general()],
        "B lists only its own types"
    );
    assert_eq!(
        store.list_members(b.id()).await.expect("list members"),
        vec![b.owner.clone()],
        "B lists only its own members"
    );
    assert_eq!(
        store.list_tokens(b.id(), None).await.expect("list tokens"),
        vec![b.token.clone()],
        "B lists only its own tokens"
    );
    assert_eq!(
        store
            .list_tokens(b.id(), Some(a.owner.id))
            .await
            .expect("list tokens"),
        Vec::new(),
        "B lists no tokens for A's owner"
    );
    assert_eq!(
        store
            .timeline(b.id(), request.id, None, 100)
            .await
            .expect("timeline"),
        Vec::new(),
        "A's timeline from B"
    );
    expect_titles(&*store, b.id(), "B's requests", everything(), &[]).await;
    let search = RequestQuery {
        text: Some("merger".into()),
        ..everything()
    };
    expect_titles(&*store, b.id(), "a search in B for A's words", search, &[]).await;

    // Writes.
    let planned = Arc::new(AtomicBool::new(false));
    let (flag, p) = (planned.clone(), pa.clone());
    let result = store
        .change_request(
            b.id(),
            request.id,
            Box::new(move |current, t| {
                flag.store(true, Ordering::SeqCst);
                plan_update(
                    &p,
                    current,
                    &t.workflow,
                    RequestPatch {
                        title: Some("Leaked".into()),
                        ..Default::default()
                    },
                    None,
                    now(),
                )
            }),
        )
        .await;
    expect_not_found(result, "changing A's request through B");
    assert!(
        !planned.load(Ordering::SeqCst),
        "the plan never sees another workspace's request"
    );
    assert_eq!(
        store
            .get_request(a.id(), request.id)
            .await
            .expect("get request"),
        Some(request.clone()),
        "A's request is untouched"
    );

    let result = store
        .update_member(
            b.id(),
            a.owner.id,
            MemberChange {
                role: Some(Role::Member),
                ..Default::default()
            },
        )
        .await;
    expect_not_found(result, "changing A's owner through B");
    assert_eq!(
        store
            .get_member(a.id(), a.owner.id)
            .await
            .expect("get member"),
        Some(a.owner.clone()),
        "A's owner is untouched"
    );

    expect_not_found(
        store.revoke_token(b.id(), a.token.id, now()).await,
        "revoking A's token through B",
    );
    assert_eq!(
        store
            .get_token(a.id(), a.token.id)
            .await
            .expect("get token")
            .and_then(|t| t.revoked_at),
        None,
        "A's token is not revoked"
    );

    let result = store
        .update_request_type(
            b.id(),
            &purchase.key,
            RequestTypeChange {
                name: Some("Stolen".into()),
                ..Default::default()
            },
            now(),
        )
        .await;
    expect_not_found(result, "changing A's request type through B");
    let result = store
        .create_request(
            b.id(),
            &purchase.key,
            Box::new(|_, _| panic!("planned with another workspace's type")),
        )
        .await;
    expect_invalid(result, "type", "creating a request in B with A's type");

    // References across workspaces are refused.
    let p = pa.clone();
    let b_owner = b.owner.id;
    let input = NewRequest {
        title: "Assigned abroad".into(),
        assignee_id: Some(b_owner),
        ..Default::default()
    };
    let result = store
        .create_request(
            a.id(),
            &TypeKey::general(),
            Box::new(move |t, n| plan_create(&p, t, input, n, now())),
        )
        .await;
    expect_invalid(
        result,
        "assignee_id",
        "assigning a new request to another workspace's member",
    );
    let patch = RequestPatch {
        assignee_id: Patch::Set(b_owner),
        ..Default::default()
    };
    expect_invalid(
        patch_request(&*store, &pa, request.id, patch).await,
        "assignee_id",
        "assigning a request to another workspace's member",
    );
    assert_eq!(
        store
            .get_request(a.id(), request.id)
            .await
            .expect("get request"),
        Some(request),
        "A's request is untouched"
    );
}

/// A change planned by `plan_update` bumps the version, returns the event naming the field,
/// and the timeline lists the created event and then the updated one.
pub async fn change_request_bumps_version_and_appends_event(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "change").await;
    let p = s.owner_principal();
    let (request, created) = file_request_at(
        &*store,
        &p,
        &TypeKey::general(),
        titled("Fix the door"),
        now(),
    )
    .await;

    let patch = RequestPatch {
        title: Some("Fix the front door".into()),
        ..Default::default()
    };
    let (updated, event) = changed(
        patch_request_at(&*store, &p, request.id, patch, Some(1), now()).await,
        "changing the title",
    );
    assert_eq!(updated.version, 2, "a change bumps the version");
    assert_eq!(updated.title, "Fix the front door");
    assert_eq!(event.kind, EventKind::Updated);
    assert_eq!(event.request_id, request.id);
    assert_eq!(
        fields(&event),
        ["title"],
        "the event names the changed field"
    );
    assert_eq!(event.changes[0].old, serde_json::json!("Fix the door"));
    assert_eq!(
        event.changes[0].new,
        serde_json::json!("Fix the front door")
    );
    assert_eq!(event.actor.member_id, Some(s.owner.id));
    assert_eq!(event.actor.token_id, Some(s.token.id));
    assert_eq!(
        store
            .get_request(s.id(), request.id)
            .await
            .expect("get request"),
        Some(updated.clone()),
        "the stored request is the changed one"
    );

    let timeline = store
        .timeline(s.id(), request.id, None, 100)
        .await
        .expect("timeline");
    assert_eq!(
        timeline,
        vec![created.clone(), event.clone()],
        "the timeline is the created event, then the update"
    );
    assert!(created.seq < event.seq, "events are ordered by seq");

    let (moved, status_event) = {
        let patch = RequestPatch {
            status: Some(status_key("done")),
            ..Default::default()
        };
        changed(
            patch_request_at(&*store, &p, request.id, patch, Some(2), now()).await,
            "closing the request",
        )
    };
    assert_eq!(
        (moved.version, moved.status.as_str(), moved.category),
        (3, "done", Category::Done)
    );
    assert_eq!(fields(&status_event), ["status", "category"]);

    let timeline = store
        .timeline(s.id(), request.id, None, 100)
        .await
        .expect("timeline");
    let kinds: Vec<EventKind> = timeline.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [EventKind::Created, EventKind::Updated, EventKind::Updated]
    );
    let after_first = store
        .timeline(s.id(), request.id, Some(created.seq), 100)
        .await
        .expect("timeline");
    assert_eq!(
        after_first,
        vec![event.clone(), status_event.clone()],
        "after_seq skips the events up to it"
    );
    let first_two = store
        .timeline(s.id(), request.id, None, 2)
        .await
        .expect("timeline");
    assert_eq!(
        first_two,
        vec![created, event],
        "limit keeps the earliest events"
    );
}

/// A patch that changes nothing is `Applied::Unchanged`: no new version, no event.
pub async fn unchanged_patch_adds_no_event(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "noop").await;
    let p = s.owner_principal();
    let request = file_request(&*store, &p, titled("Water the plants")).await;
    let patch = RequestPatch {
        title: Some("Water the plants".into()),
        status: Some(status_key("open")),
        ..Default::default()
    };
    match patch_request(&*store, &p, request.id, patch).await {
        Ok(Applied::Unchanged(r)) => {
            assert_eq!(r, request, "Unchanged carries the request as it is")
        }
        other => panic!("a patch that changes nothing: expected Applied::Unchanged, got {other:?}"),
    }
    assert_eq!(
        store
            .get_request(s.id(), request.id)
            .await
            .expect("get request"),
        Some(request.clone()),
        "the version did not move"
    );
    assert_eq!(
        store
            .timeline(s.id(), request.id, None, 100)
            .await
            .expect("timeline")
            .len(),
        1,
        "no event was added"
    );
}

/// Twenty concurrent changes all made against version 1: exactly one wins, the others are
/// `PreconditionFailed` naming the current version, and the winner's title stays.
pub async fn concurrent_conflicting_changes_let_exactly_one_win(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "race").await;
    let p = s.owner_principal();
    let request = file_request(&*store, &p, titled("Original title")).await;
    let id = request.id;

    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (store, p) = (store.clone(), p.clone());
            tokio::spawn(async move {
                let title = format!("Title from writer {i}");
                let patch = RequestPatch {
                    title: Some(title.clone()),
                    ..Default::default()
                };
                (
                    title,
                    patch_request_at(&*store, &p, id, patch, Some(1), now()).await,
                )
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut refused = 0;
    for task in tasks {
        match task.await.expect("the writer task finished") {
            (title, Ok(Applied::Changed { request, .. })) => winners.push((title, request)),
            (_, Err(StoreError::Domain(DomainError::PreconditionFailed { current }))) => {
                assert_eq!(current, 2, "the refusal names the version that won");
                refused += 1;
            }
            (_, other) => {
                panic!("a concurrent change: expected Changed or PreconditionFailed, got {other:?}")
            }
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one change against version 1 wins"
    );
    assert_eq!(refused, 19, "every other change is refused");
    let (title, won) = winners.pop().expect("a winner");
    let stored = store
        .get_request(s.id(), request.id)
        .await
        .expect("get request")
        .expect("the request exists");
    assert_eq!(stored.title, title, "the winner's title is kept");
    assert_eq!(stored, won);
    assert_eq!(stored.version, 2);
    assert_eq!(
        store
            .timeline(s.id(), request.id, None, 100)
            .await
            .expect("timeline")
            .len(),
        2,
        "one update event"
    );
}

/// Fifty concurrent creates in one workspace get the numbers 1..=50, each once.
pub async fn concurrent_creates_get_distinct_numbers(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "burst").await;
    let p = s.owner_principal();
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let (store, p) = (store.clone(), p.clone());
            tokio::spawn(
                async move { file_request(&*store, &p, titled(&format!("Burst {i}"))).await },
            )
        })
        .collect();
    let mut numbers = Vec::new();
    let mut ids = HashSet::new();
    for task in tasks {
        let request = task.await.expect("the create task finished");
        numbers.push(request.number);
        ids.insert(request.id);
    }
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        (1..=50).collect::<Vec<i64>>(),
        "50 concurrent creates are numbered 1..=50"
    );
    assert_eq!(ids.len(), 50);
    let page = store
        .list_requests(
            s.id(),
            &RequestQuery {
                sort: SortKey::Number,
                direction: Direction::Asc,
                ..everything()
            },
        )
        .await
        .expect("list");
    let listed: Vec<i64> = page.items.iter().map(|r| r.number).collect();
    assert_eq!(listed, (1..=50).collect::<Vec<i64>>(), "all 50 are listed");
}

// ---------------------------------------------------------------------------------------
// Lists
// ---------------------------------------------------------------------------------------

const FIRE: &str = "Printer on fire";
const LEASE: &str = "Renew office lease";
const COFFEE: &str = "Order coffee beans";
const DESK: &str = "Buy standing desk";
const TONER: &str = "Printer toner";
const BACKUP: &str = "Nightly backup failed";

/// Six requests, one of them deleted, varied in every field the lists filter on.
struct ListFixture {
    s: TestWorkspace,
    ana: Member,
    now: Timestamp,
}

/// | title    | status      | assignee | requester | tags              | type     | due      | text              |
/// |----------|-------------|----------|-----------|-------------------|----------|----------|-------------------|
/// | FIRE     | open        | owner    | owner     | hardware          | general  | now - 2d | data: basement    |
/// | LEASE    | in_progress | ana      | owner     | legal, urgent     | general  | now + 7d | desc: landlord    |
/// | COFFEE   | done        | -        | owner     | kitchen           | general  | now - 3d |                   |
/// | DESK     | open        | -        | ana       |                   | purchase | -        | data: ergotron    |
/// | TONER    | (deleted)   | owner    | owner     | hardware          | general  | now - 1d | desc: basement    |
/// | BACKUP   | open        | -        | (system)  | ops               | general  | now + 1d |                   |
async fn list_fixture(store: &dyn Store) -> ListFixture {
    let s = create_workspace(store, "lists").await;
    let ws = s.id();
    let at = now();
    let owner = s.owner_principal();
    let ana = add_member(store, ws, "ana@lists.example", "Ana", Role::Member).await;
    let as_ana = principal_for(&ana, None);
    let purchase = store
        .insert_request_type(new_request_type(ws, "purchase", Workflow::general()))
        .await
        .expect("insert type");
    let data = |v: serde_json::Value| v.as_object().cloned();
    let tags = |t: &[&str]| Some(t.iter().map(|s| (*s).to_owned()).collect());

    let fire = NewRequest {
        title: FIRE.into(),
        description: Some("Smoke on the third floor".into()),
        assignee_id: Some(s.owner.id),
        due_at: Some(at - TimeDelta::days(2)),
        data: data(serde_json::json!({"location": "basement"})),
        tags: tags(&["hardware"]),
        ..Default::default()
    };
    file_request(store, &owner, fire).await;

    let lease = NewRequest {
        title: LEASE.into(),
        description: Some("Call the landlord before March".into()),
        assignee_id: Some(ana.id),
        due_at: Some(at + TimeDelta::days(7)),
        tags: tags(&["legal", "urgent"]),
        ..Default::default()
    };
    let lease = file_request(store, &owner, lease).await;
    move_request(store, &owner, lease.id, "in_progress").await;

    let coffee = NewRequest {
        title: COFFEE.into(),
        due_at: Some(at - TimeDelta::days(3)),
        tags: tags(&["kitchen"]),
        ..Default::default()
    };
    let coffee = file_request(store, &owner, coffee).await;
    move_request(store, &owner, coffee.id, "done").await;

    let desk = NewRequest {
        title: DESK.into(),
        data: data(serde_json::json!({"vendor": "Ergotron"})),
        ..Default::default()
    };
    file_request_at(store, &as_ana, &purchase.key, desk, now()).await;

    let toner = NewRequest {
        title: TONER.into(),
        description: Some("Spare cartridges are in the basement".into()),
        assignee_id: Some(s.owner.id),
        due_at: Some(at - TimeDelta::days(1)),
        tags: tags(&["hardware"]),
        ..Default::default()
    };
    let toner = file_request(store, &owner, toner).await;
    let p = owner.clone();
    let deleted = store
        .change_request(
            ws,
            toner.id,
            Box::new(move |current, _| plan_delete(&p, current, None, now()).map(Some)),
        )
        .await;
    changed(deleted, "deleting a request");

    let backup = NewRequest {
        title: BACKUP.into(),
        due_at: Some(at + TimeDelta::days(1)),
        tags: tags(&["ops"]),
        ..Default::default()
    };
    file_request(store, &system_principal(ws), backup).await;

    ListFixture { s, ana, now: at }
}

/// Lists filter by status (any of several) and by category.
pub async fn list_filters_by_status_and_category(store: Arc<dyn Store>) {
    let f = list_fixture(&*store).await;
    let ws = f.s.id();
    let statuses = |keys: &[&str]| RequestQuery {
        statuses: keys.iter().map(|k| status_key(k)).collect(),
        ..everything()
    };
    let categories = |c: &[Category]| RequestQuery {
        categories: c.to_vec(),
        ..everything()
    };

    expect_titles(
        &*store,
        ws,
        "everything",
        everything(),
        &[FIRE, LEASE, COFFEE, DESK, BACKUP],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "status open",
        statuses(&["open"]),
        &[FIRE, DESK, BACKUP],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "status in_progress",
        statuses(&["in_progress"]),
        &[LEASE],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "status open or done",
        statuses(&["open", "done"]),
        &[FIRE, COFFEE, DESK, BACKUP],
    )
    .await;
    expect_titles(&*store, ws, "status waiting", statuses(&["waiting"]), &[]).await;
    expect_titles(
        &*store,
        ws,
        "category done",
        categories(&[Category::Done]),
        &[COFFEE],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "category in_progress or done",
        categories(&[Category::InProgress, Category::Done]),
        &[LEASE, COFFEE],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "category canceled",
        categories(&[Category::Canceled]),
        &[],
    )
    .await;
}

/// Lists filter by assignee and requester: a given member, or nobody.
pub async fn list_filters_by_assignee_and_requester(store: Arc<dyn Store>) {
    let f = list_fixture(&*store).await;
    let ws = f.s.id();
    let assignee = |m: MemberFilter| RequestQuery {
        assignee: Some(m),
        ..everything()
    };
    let requester = |m: MemberFilter| RequestQuery {
        requester: Some(m),
        ..everything()
    };
    let (owner, ana) = (f.s.owner.id, f.ana.id);

    expect_titles(
        &*store,
        ws,
        "assigned to the owner",
        assignee(MemberFilter::Is(owner)),
        &[FIRE],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "assigned to Ana",
        assignee(MemberFilter::Is(ana)),
        &[LEASE],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "assigned to nobody",
        assignee(MemberFilter::Nobody),
        &[COFFEE, DESK, BACKUP],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "requested by the owner",
        requester(MemberFilter::Is(owner)),
        &[FIRE, LEASE, COFFEE],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "requested by Ana",
        requester(MemberFilter::Is(ana)),
        &[DESK],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "requested by nobody (system)",
        requester(MemberFilter::Nobody),
        &[BACKUP],
    )
    .await;
    let both = RequestQuery {
        statuses: vec![status_key("open")],
        assignee: Some(MemberFilter::Nobody),
        ..everything()
    };
    expect_titles(&*store, ws, "open and unassigned", both, &[DESK, BACKUP]).await;
}

/// Lists filter by one tag (exactly, not by prefix) and by request type.
pub async fn list_filters_by_tag_and_type(store: Arc<dyn Store>) {
    let f = list_fixture(&*store).await;
    let ws = f.s.id();
    let tag = |t: &str| RequestQuery {
        tag: Some(t.to_owned()),
        ..everything()
    };
    let of_type = |k: &str| RequestQuery {
        types: vec![type_key(k)],
        ..everything()
    };

    expect_titles(&*store, ws, "tag hardware", tag("hardware"), &[FIRE]).await;
    expect_titles(&*store, ws, "tag urgent", tag("urgent"), &[LEASE]).await;
    expect_titles(&*store, ws, "tag legal", tag("legal"), &[LEASE]).await;
    expect_titles(&*store, ws, "tag hard (a prefix)", tag("hard"), &[]).await;
    expect_titles(&*store, ws, "tag nobody uses", tag("finance"), &[]).await;
    expect_titles(&*store, ws, "type purchase", of_type("purchase"), &[DESK]).await;
    expect_titles(
        &*store,
        ws,
        "type general",
        of_type("general"),
        &[FIRE, LEASE, COFFEE, BACKUP],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "a type the workspace lacks",
        of_type("photo"),
        &[],
    )
    .await;
}

/// Lists filter by due date (before, after, both) and by overdue (due and unfinished);
/// requests without a due date match neither.
pub async fn list_filters_by_due_dates_and_overdue(store: Arc<dyn Store>) {
    let f = list_fixture(&*store).await;
    let ws = f.s.id();
    let now = f.now;
    let before = |t: Timestamp| RequestQuery {
        due_before: Some(t),
        ..everything()
    };
    let after = |t: Timestamp| RequestQuery {
        due_after: Some(t),
        ..everything()
    };

    expect_titles(&*store, ws, "due before now", before(now), &[FIRE, COFFEE]).await;
    expect_titles(&*store, ws, "due after now", after(now), &[LEASE, BACKUP]).await;
    expect_titles(
        &*store,
        ws,
        "due after in two days",
        after(now + TimeDelta::days(2)),
        &[LEASE],
    )
    .await;
    let window = RequestQuery {
        due_after: Some(now),
        due_before: Some(now + TimeDelta::days(2)),
        ..everything()
    };
    expect_titles(&*store, ws, "due in the next two days", window, &[BACKUP]).await;
    let overdue = RequestQuery {
        overdue_at: Some(now),
        ..everything()
    };
    expect_titles(&*store, ws, "overdue now", overdue, &[FIRE]).await;
    let overdue_later = RequestQuery {
        overdue_at: Some(now + TimeDelta::days(30)),
        ..everything()
    };
    expect_titles(
        &*store,
        ws,
        "overdue in thirty days",
        overdue_later,
        &[FIRE, LEASE, BACKUP],
    )
    .await;
}

/// Text search finds words of the title, the description and `data` values, needs every
/// word, matches word prefixes, ignores case, and sees edits.
pub async fn list_text_search(store: Arc<dyn Store>) {
    let f = list_fixture(&*store).await;
    let ws = f.s.id();
    let search = |text: &str| RequestQuery {
        text: Some(text.to_owned()),
        ..everything()
    };

    expect_titles(&*store, ws, "search: fire (title)", search("fire"), &[FIRE]).await;
    expect_titles(
        &*store,
        ws,
        "search: landlord (description)",
        search("landlord"),
        &[LEASE],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "search: basement (data value)",
        search("basement"),
        &[FIRE],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "search: ergotron (data value)",
        search("ergotron"),
        &[DESK],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "search: printer fire (all words)",
        search("printer fire"),
        &[FIRE],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "search: printer landlord (no request has both)",
        search("printer landlord"),
        &[],
    )
    .await;
    expect_titles(&*store, ws, "search: zebra (in none)", search("zebra"), &[]).await;
    expect_titles(
        &*store,
        ws,
        "search: lea (a prefix of lease)",
        search("lea"),
        &[LEASE],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "search: PRINTER (case)",
        search("PRINTER"),
        &[FIRE],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "search: \"fire\"* (query syntax is not syntax)",
        search("\"fire\"*"),
        &[FIRE],
    )
    .await;
    let combined = RequestQuery {
        tag: Some("hardware".into()),
        ..search("printer")
    };
    expect_titles(
        &*store,
        ws,
        "search: printer with tag hardware",
        combined,
        &[FIRE],
    )
    .await;

    // Edits are searchable at once; the old words are gone.
    let lease = store
        .list_requests(ws, &search("landlord"))
        .await
        .expect("search")
        .items
        .pop()
        .expect("the lease request");
    let patch = RequestPatch {
        title: Some("Renew office contract".into()),
        ..Default::default()
    };
    changed(
        patch_request(&*store, &f.s.owner_principal(), lease.id, patch).await,
        "renaming a request",
    );
    expect_titles(
        &*store,
        ws,
        "search: contract (new title)",
        search("contract"),
        &["Renew office contract"],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "search: lease (old title)",
        search("lease"),
        &[],
    )
    .await;
}

/// A deleted request leaves every list and search, but can still be read, keeps its
/// timeline (with a deleted event), and can no longer change.
pub async fn deleted_requests_leave_lists_but_keep_their_timeline(store: Arc<dyn Store>) {
    let f = list_fixture(&*store).await;
    let ws = f.s.id();
    let hardware = RequestQuery {
        tag: Some("hardware".into()),
        ..everything()
    };
    expect_titles(
        &*store,
        ws,
        "tag hardware (toner deleted)",
        hardware,
        &[FIRE],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "search: toner",
        RequestQuery {
            text: Some("toner".into()),
            ..everything()
        },
        &[],
    )
    .await;
    let owners = RequestQuery {
        assignee: Some(MemberFilter::Is(f.s.owner.id)),
        ..everything()
    };
    expect_titles(
        &*store,
        ws,
        "assigned to the owner (toner deleted)",
        owners,
        &[FIRE],
    )
    .await;

    let s = create_workspace(&*store, "delete").await;
    let p = s.owner_principal();
    let old = file_request(&*store, &p, titled("Old request")).await;
    file_request(&*store, &p, titled("Current request")).await;
    let q = p.clone();
    let (deleted, event) = changed(
        store
            .change_request(
                s.id(),
                old.id,
                Box::new(move |current, _| plan_delete(&q, current, Some(1), now()).map(Some)),
            )
            .await,
        "deleting a request",
    );
    assert!(deleted.deleted_at.is_some());
    assert_eq!(event.kind, EventKind::Deleted);
    expect_titles(
        &*store,
        s.id(),
        "after a delete",
        everything(),
        &["Current request"],
    )
    .await;
    assert_eq!(
        store
            .get_request(s.id(), old.id)
            .await
            .expect("get request"),
        Some(deleted),
        "a deleted request can still be read"
    );
    let kinds: Vec<EventKind> = store
        .timeline(s.id(), old.id, None, 100)
        .await
        .expect("timeline")
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [EventKind::Created, EventKind::Deleted],
        "the timeline is kept"
    );
    let patch = RequestPatch {
        title: Some("Back from the dead".into()),
        ..Default::default()
    };
    match patch_request(&*store, &p, old.id, patch).await {
        Err(StoreError::Domain(DomainError::Gone)) => {}
        other => panic!("changing a deleted request: expected Gone, got {other:?}"),
    }
}

/// With 30 requests (ties in every sort key) and a limit of 7, following `next` visits all
/// 30 exactly once, in order, for every sort key and direction; full pages until the last,
/// and no `next` on the last.
pub async fn pagination_visits_every_request_once_in_order(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "pages").await;
    let p = s.owner_principal();
    let base = now() - TimeDelta::days(10);
    let mut all = Vec::new();
    for i in 0..30i64 {
        // Three requests share each creation time; due times repeat; a quarter have none.
        let created = base + TimeDelta::seconds(i / 3);
        let due_at = (i % 4 != 0).then(|| base + TimeDelta::hours(24 + (i * 7) % 5));
        let input = NewRequest {
            title: format!("Page item {i:02}"),
            due_at,
            ..Default::default()
        };
        let (mut request, _) =
            file_request_at(&*store, &p, &TypeKey::general(), input, created).await;
        if i % 2 == 0 {
            // Half are edited later, several at the same instant.
            let at = base + TimeDelta::days(1) - TimeDelta::seconds(i % 5);
            let patch = RequestPatch {
                title: Some(format!("Page item {i:02} (edited)")),
                ..Default::default()
            };
            request = changed(
                patch_request_at(&*store, &p, request.id, patch, None, at).await,
                "editing a request",
            )
            .0;
        }
        all.push(request);
    }

    for sort in [
        SortKey::Created,
        SortKey::Updated,
        SortKey::Due,
        SortKey::Number,
    ] {
        for direction in [Direction::Asc, Direction::Desc] {
            let query = RequestQuery {
                sort,
                direction,
                limit: 7,
                ..Default::default()
            };
            let pages = all_pages(&*store, s.id(), query).await;
            let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
            assert_eq!(
                sizes,
                [7, 7, 7, 7, 2],
                "page sizes sorting by {sort:?} {direction:?}"
            );
            let visited: Vec<Request> = pages.concat();
            assert_eq!(
                titles_of(&visited),
                titles_of(&in_list_order(&all, sort, direction)),
                "paging by {sort:?} {direction:?} visits every request once, in order"
            );
        }
    }

    let query = RequestQuery {
        limit: 10,
        ..Default::default()
    };
    let sizes: Vec<usize> = all_pages(&*store, s.id(), query)
        .await
        .iter()
        .map(Vec::len)
        .collect();
    assert_eq!(
        sizes,
        [10, 10, 10],
        "when the last page is full it has no `next`"
    );
}

/// Paging `created desc` while new requests (some with the same creation times) arrive
/// between pages: every original request is seen exactly once and in order, and nothing
/// is seen twice.
pub async fn pagination_is_stable_under_concurrent_inserts(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "pages-live").await;
    let p = s.owner_principal();
    let base = now() - TimeDelta::days(1);
    let mut originals = Vec::new();
    for i in 0..30i64 {
        let input = titled(&format!("Original {i:02}"));
        originals.push(
            file_request_at(
                &*store,
                &p,
                &TypeKey::general(),
                input,
                base + TimeDelta::seconds((i / 2) * 10),
            )
            .await
            .0,
        );
    }
    // Inserted after pages 1, 2 and 3, spread over the originals' creation times; the
    // last batch lands exactly on existing times.
    let arrivals: [&[i64]; 3] = [&[5, 45, 85, 125], &[18, 58, 98], &[30, 70, 110]];

    let mut query = RequestQuery {
        sort: SortKey::Created,
        direction: Direction::Desc,
        limit: 7,
        ..Default::default()
    };
    let mut seen: Vec<Request> = Vec::new();
    for page_no in 0.. {
        assert!(page_no < 100, "paging never ends");
        let page = store
            .list_requests(s.id(), &query)
            .await
            .expect("list a page");
        seen.extend(page.items);
        if let Some(batch) = arrivals.get(page_no) {
            for (j, secs) in batch.iter().enumerate() {
                let input = titled(&format!("Arrival {page_no}-{j}"));
                file_request_at(
                    &*store,
                    &p,
                    &TypeKey::general(),
                    input,
                    base + TimeDelta::seconds(*secs),
                )
                .await;
            }
        }
        match page.next {
            Some(cursor) => query.after = Some(cursor),
            None => break,
        }
    }

    let mut ids = HashSet::new();
    for r in &seen {
        assert!(ids.insert(r.id), "{:?} was listed twice", r.title);
    }
    let seen_originals: Vec<Request> = seen
        .iter()
        .filter(|r| r.title.starts_with("Original"))
        .cloned()
        .collect();
    assert_eq!(
        titles_of(&seen_originals),
        titles_of(&in_list_order(
            &originals,
            SortKey::Created,
            Direction::Desc
        )),
        "every original request is seen exactly once, in order"
    );
    let keys: Vec<(i64, RequestId)> = seen
        .iter()
        .map(|r| (SortKey::Created.value(r), r.id))
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] > w[1]),
        "the pages together are in created desc order: {:?}",
        titles_of(&seen)
    );
}

/// Many lists at once (more than a backend runs side by side) each get their whole,
/// right answer: none fails, none waits forever, none sees another's filter.
pub async fn many_concurrent_lists_each_get_their_own_answer(store: Arc<dyn Store>) {
    let f = list_fixture(&*store).await;
    let ws = f.s.id();
    let lists: Vec<_> = (0..64)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let what = format!("list {i} of 64 running at once");
                if i % 2 == 0 {
                    let all = &[FIRE, LEASE, COFFEE, DESK, BACKUP];
                    expect_titles(&*store, ws, &what, everything(), all).await;
                } else {
                    let open_only = RequestQuery {
                        statuses: vec![status_key("open")],
                        ..everything()
                    };
                    expect_titles(&*store, ws, &what, open_only, &[FIRE, DESK, BACKUP]).await;
                }
            })
        })
        .collect();
    tokio::time::timeout(std::time::Duration::from_secs(60), async {
        for list in lists {
            list.await.expect("a list gets its own answer");
        }
    })
    .await
    .expect("64 concurrent lists finish");
}

// ---------------------------------------------------------------------------------------
// Request types
// ---------------------------------------------------------------------------------------

/// A new workflow may not drop a status a request of the workspace is in
/// (`status_in_use`, nothing changes); dropping an unused status works, and another
/// workspace's requests do not count.
pub async fn workflow_change_cannot_drop_a_status_in_use(store: Arc<dyn Store>) {
    let a = create_workspace(&*store, "wf-a").await;
    let b = create_workspace(&*store, "wf-b").await;
    let p = a.owner_principal();
    let general = TypeKey::general();
    let request = file_request(&*store, &p, titled("Waiting on the vendor")).await;
    move_request(&*store, &p, request.id, "waiting").await;
    file_request(&*store, &b.owner_principal(), titled("Still open")).await;

    let without_waiting = edit_workflow(&Workflow::general(), &["waiting"], &[], &[]);
    let result = store
        .update_request_type(
            a.id(),
            &general,
            workflow_change(without_waiting.clone()),
            now(),
        )
        .await;
    expect_conflict(result, "status_in_use", "dropping a status a request is in");
    let stored = store
        .get_request_type(a.id(), &general)
        .await
        .expect("get type")
        .expect("general exists");
    assert_eq!(
        stored.workflow,
        Workflow::general(),
        "a refused change changes nothing"
    );

    let updated = store
        .update_request_type(
            b.id(),
            &general,
            workflow_change(without_waiting.clone()),
            now(),
        )
        .await
        .expect("another workspace's requests do not block dropping a status");
    assert_eq!(updated.workflow, without_waiting);

    let without_canceled = edit_workflow(&Workflow::general(), &["canceled"], &[], &[]);
    let at = now();
    let updated = store
        .update_request_type(
            a.id(),
            &general,
            workflow_change(without_canceled.clone()),
            at,
        )
        .await
        .expect("dropping an unused status");
    assert_eq!(updated.workflow, without_canceled);
    assert_eq!(updated.updated_at, at);
    assert_eq!(
        store
            .get_request_type(a.id(), &general)
            .await
            .expect("get type"),
        Some(updated),
        "the new workflow is stored"
    );

    let renamed = store
        .update_request_type(
            a.id(),
            &general,
            RequestTypeChange {
                name: Some("Anything".into()),
                ..Default::default()
            },
            now(),
        )
        .await
        .expect("renaming a type");
    assert_eq!(
        (renamed.name.as_str(), &renamed.workflow),
        ("Anything", &without_canceled),
        "a rename keeps the workflow"
    );
    let missing = store
        .update_request_type(
            a.id(),
            &type_key("nope"),
            RequestTypeChange::default(),
            now(),
        )
        .await;
    expect_not_found(missing, "changing a type that does not exist");
}

/// Moves are judged by the workflow as it is now: a status added by a change can be
/// entered at once, even when two changes share a timestamp; a dropped status cannot; and
/// a status whose category changes takes its requests with it.
pub async fn moves_follow_the_current_workflow(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "wf-live").await;
    let p = s.owner_principal();
    let general = TypeKey::general();
    let first = file_request(&*store, &p, titled("Review the budget")).await;
    let second = file_request(&*store, &p, titled("Review the roadmap")).await;
    let third = file_request(&*store, &p, titled("Plan the offsite")).await;

    let at = now();
    let with_review = edit_workflow(
        &Workflow::general(),
        &[],
        &[("review", Category::InProgress)],
        &[("open", "review")],
    );
    store
        .update_request_type(s.id(), &general, workflow_change(with_review.clone()), at)
        .await
        .expect("add review");
    let moved = move_request(&*store, &p, first.id, "review").await;
    assert_eq!(moved.category, Category::InProgress);

    // A second change within the same microsecond must not be hidden by a cached workflow.
    let with_approved = edit_workflow(
        &with_review,
        &[],
        &[("approved", Category::Done)],
        &[("review", "approved")],
    );
    store
        .update_request_type(s.id(), &general, workflow_change(with_approved.clone()), at)
        .await
        .expect("add approved");
    let moved = move_request(&*store, &p, first.id, "approved").await;
    assert_eq!(moved.category, Category::Done);

    // Changing a status's category moves its requests' category (and list filters) along,
    // and bumps their version: their representation (and so their ETag) changed.
    let in_review = move_request(&*store, &p, second.id, "review").await;
    let review_waits = edit_workflow(&with_approved, &[], &[("review", Category::Waiting)], &[]);
    store
        .update_request_type(
            s.id(),
            &general,
            workflow_change(review_waits.clone()),
            now(),
        )
        .await
        .expect("recategorise review");
    let stored = store
        .get_request(s.id(), second.id)
        .await
        .expect("get request")
        .expect("exists");
    assert_eq!(
        stored.category,
        Category::Waiting,
        "requests follow their status's new category"
    );
    assert!(
        stored.version > in_review.version,
        "a recategorised request gets a new version ({} then {})",
        in_review.version,
        stored.version
    );
    let waiting = RequestQuery {
        categories: vec![Category::Waiting],
        ..everything()
    };
    expect_titles(
        &*store,
        s.id(),
        "category waiting",
        waiting,
        &["Review the roadmap"],
    )
    .await;

    // A dropped status can no longer be entered.
    let without_canceled = edit_workflow(&review_waits, &["canceled"], &[], &[]);
    store
        .update_request_type(s.id(), &general, workflow_change(without_canceled), now())
        .await
        .expect("drop canceled");
    let patch = RequestPatch {
        status: Some(status_key("canceled")),
        ..Default::default()
    };
    expect_invalid(
        patch_request(&*store, &p, third.id, patch).await,
        "status",
        "moving to a dropped status",
    );
}

/// Request type keys are unique in a workspace (`type_exists`) but not across workspaces.
pub async fn request_type_keys_are_unique_per_workspace(store: Arc<dyn Store>) {
    let a = create_workspace(&*store, "types-a").await;
    let b = create_workspace(&*store, "types-b").await;
    let purchase = new_request_type(a.id(), "purchase", Workflow::general());
    assert_eq!(
        store
            .insert_request_type(purchase.clone())
            .await
            .expect("insert type"),
        purchase
    );
    assert_eq!(
        store
            .get_request_type(a.id(), &purchase.key)
            .await
            .expect("get type"),
        Some(purchase.clone())
    );
    let again = new_request_type(a.id(), "purchase", Workflow::general());
    expect_conflict(
        store.insert_request_type(again).await,
        "type_exists",
        "a second type with the same key",
    );
    expect_conflict(
        store
            .insert_request_type(new_request_type(a.id(), "general", Workflow::general()))
            .await,
        "type_exists",
        "a second general type",
    );
    store
        .insert_request_type(new_request_type(b.id(), "purchase", Workflow::general()))
        .await
        .expect("the same key in another workspace");
    let keys: BTreeSet<String> = store
        .list_request_types(a.id())
        .await
        .expect("list")
        .into_iter()
        .map(|t| t.key.as_str().to_owned())
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["general".to_owned(), "purchase".to_owned()]),
        "A lists both its types"
    );

    let (request, _) = file_request_at(
        &*store,
        &a.owner_principal(),
        &purchase.key,
        titled("New laptop"),
        now(),
    )
    .await;
    assert_eq!(
        (request.type_key, request.type_id, request.number),
        (purchase.key, purchase.id, 1),
        "a request of a custom type"
    );
}

/// An external key names one request per workspace and key space: a second create with the
/// same key is `external_key_taken` and stores nothing (no request, no number used); the
/// same key is free in another space or another workspace; the key finds its request.
pub async fn external_keys_are_unique_per_workspace_and_space(store: Arc<dyn Store>) {
    let a = create_workspace(&*store, "extkey-a").await;
    let b = create_workspace(&*store, "extkey-b").await;
    let key = |space: &str, k: &str| ExternalKey {
        space: space.to_owned(),
        key: k.to_owned(),
    };
    let create = |ws: &TestWorkspace, k: ExternalKey, title: &str| {
        let p = ws.owner_principal();
        let input = titled(title);
        let store = store.clone();
        async move {
            store
                .create_request_with_key(
                    p.workspace_id,
                    &TypeKey::general(),
                    k,
                    Box::new(move |t, n| plan_create(&p, t, input, n, now())),
                )
                .await
        }
    };
    let (first, _) = create(&a, key("notes", "req-1"), "First")
        .await
        .expect("create with a new key");
    assert_eq!(
        store
            .request_by_external_key(a.id(), &key("notes", "req-1"))
            .await
            .expect("look up the key")
            .map(|r| r.id),
        Some(first.id)
    );
    expect_conflict(
        create(&a, key("notes", "req-1"), "Again").await,
        "external_key_taken",
        "the same key twice in one workspace",
    );
    let page = store
        .list_requests(
            a.id(),
            &RequestQuery {
                limit: MAX_LIMIT,
                ..Default::default()
            },
        )
        .await
        .expect("list");
    assert_eq!(page.items.len(), 1, "the refused create stored nothing");
    let (other_space, _) = create(&a, key("cases", "req-1"), "Other space")
        .await
        .expect("the same key in another space");
    assert_eq!(other_space.number, 2, "the refused create used no number");
    create(&b, key("notes", "req-1"), "Other workspace")
        .await
        .expect("the same key in another workspace");
    assert_eq!(
        store
            .request_by_external_key(b.id(), &key("notes", "missing"))
            .await
            .expect("look up a missing key"),
        None
    );
    assert_eq!(
        store
            .request_by_external_key(b.id(), &key("notes", "req-1"))
            .await
            .expect("look up in B")
            .map(|r| r.title),
        Some("Other workspace".to_owned())
    );
}

// ---------------------------------------------------------------------------------------
// Members and tokens
// ---------------------------------------------------------------------------------------

/// An email is one member per workspace (`email_taken`, whatever its case), but the same
/// person may join another workspace.
pub async fn member_emails_are_unique_per_workspace(store: Arc<dyn Store>) {
    let a = create_workspace(&*store, "members-a").await;
    let b = create_workspace(&*store, "members-b").await;
    let ana = add_member(&*store, a.id(), "ana@example.com", "Ana", Role::Member).await;
    assert_eq!(
        store.get_member(a.id(), ana.id).await.expect("get member"),
        Some(ana.clone())
    );

    let twin = NewMember::new(
        Email::parse("ANA@Example.com").expect("email"),
        "Ana Again",
        Role::Admin,
    )
    .expect("member")
    .into_member(a.id(), now());
    expect_conflict(
        store.insert_member(twin.clone()).await,
        "email_taken",
        "a second member with the same email",
    );
    assert_eq!(
        store.get_member(a.id(), twin.id).await.expect("get member"),
        None,
        "the refused member is not stored"
    );

    let elsewhere = add_member(&*store, b.id(), "ana@example.com", "Ana", Role::Admin).await;
    assert_eq!(
        store
            .member_by_email(b.id(), &elsewhere.email)
            .await
            .expect("by email"),
        Some(elsewhere.clone())
    );
    assert_eq!(
        store
            .member_by_email(a.id(), &ana.email)
            .await
            .expect("by email"),
        Some(ana.clone()),
        "each workspace keeps its own"
    );

    let listed: HashSet<_> = store
        .list_members(a.id())
        .await
        .expect("list")
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(listed, HashSet::from([a.owner.id, ana.id]));
}

/// `update_member` changes the role (and the name), leaves what it is not given, and
/// refuses an unknown member.
pub async fn update_member_changes_role_and_name(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "roles").await;
    let ana = add_member(&*store, s.id(), "ana@roles.example", "Ana", Role::Member).await;

    let promoted = store
        .update_member(
            s.id(),
            ana.id,
            MemberChange {
                role: Some(Role::Moderator),
                ..Default::default()
            },
        )
        .await
        .expect("change a role");
    assert_eq!(
        (promoted.role, promoted.name.as_str()),
        (Role::Moderator, "Ana")
    );
    assert_eq!(
        store.get_member(s.id(), ana.id).await.expect("get member"),
        Some(promoted.clone()),
        "the new role is stored"
    );

    let renamed = store
        .update_member(
            s.id(),
            ana.id,
            MemberChange {
                name: Some("Ana Lima".into()),
                ..Default::default()
            },
        )
        .await
        .expect("rename");
    assert_eq!(
        (renamed.role, renamed.name.as_str()),
        (Role::Moderator, "Ana Lima"),
        "a rename keeps the role"
    );
    assert_eq!(
        store
            .member_by_email(s.id(), &ana.email)
            .await
            .expect("by email"),
        Some(renamed.clone())
    );
    let found = store
        .token_by_hash(&s.secret.hash())
        .await
        .expect("token by hash")
        .expect("owner token");
    assert_eq!(
        found.1,
        Some(s.owner.clone()),
        "other members are untouched"
    );

    let missing = store
        .update_member(s.id(), MemberId::new(), MemberChange::default())
        .await;
    expect_not_found(missing, "changing an unknown member");
}

/// Tokens: stored as issued (scopes, expiry), found by hash with their member (none for a
/// system token), listed per member, revoked once (the first time is kept), and touched.
pub async fn tokens_revoke_touch_and_list_by_member(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "tokens").await;
    let ws = s.id();
    let ana = add_member(&*store, ws, "ana@tokens.example", "Ana", Role::Member).await;
    let ana_secret = TokenSecret::generate();
    let ana_token = Token::new(
        ws,
        Some(ana.id),
        "CLI",
        vec![Scope::RequestsWrite, Scope::RequestsRead],
        None,
        &ana_secret,
        now(),
    );
    assert_eq!(
        store
            .insert_token(ana_token.clone())
            .await
            .expect("insert token"),
        ana_token
    );
    let ops_secret = TokenSecret::generate();
    let ops_token = Token::new(
        ws,
        None,
        "ops",
        Vec::new(),
        Some(now() + TimeDelta::days(30)),
        &ops_secret,
        now(),
    );
    store
        .insert_token(ops_token.clone())
        .await
        .expect("insert a system token");

    assert_eq!(
        store
            .token_by_hash(&ana_secret.hash())
            .await
            .expect("by hash"),
        Some((ana_token.clone(), Some(ana.clone())))
    );
    assert_eq!(
        store
            .token_by_hash(&ops_secret.hash())
            .await
            .expect("by hash"),
        Some((ops_token.clone(), None)),
        "a system token has no member"
    );

    let ids = |tokens: Vec<Token>| tokens.into_iter().map(|t| t.id).collect::<HashSet<_>>();
    assert_eq!(
        ids(store.list_tokens(ws, Some(ana.id)).await.expect("list")),
        HashSet::from([ana_token.id]),
        "Ana's tokens"
    );
    assert_eq!(
        ids(store.list_tokens(ws, Some(s.owner.id)).await.expect("list")),
        HashSet::from([s.token.id]),
        "the owner's tokens"
    );
    assert_eq!(
        ids(store.list_tokens(ws, None).await.expect("list")),
        HashSet::from([s.token.id, ana_token.id, ops_token.id]),
        "all tokens"
    );

    let revoked_at = now();
    let revoked = store
        .revoke_token(ws, ana_token.id, revoked_at)
        .await
        .expect("revoke");
    assert_eq!(revoked.revoked_at, Some(revoked_at));
    assert_eq!(
        revoked,
        Token {
            revoked_at: Some(revoked_at),
            ..ana_token.clone()
        },
        "revoking changes only revoked_at"
    );
    assert_eq!(
        store.get_token(ws, ana_token.id).await.expect("get token"),
        Some(revoked.clone())
    );
    let (found, _) = store
        .token_by_hash(&ana_secret.hash())
        .await
        .expect("by hash")
        .expect("still found");
    assert_eq!(
        found.revoked_at,
        Some(revoked_at),
        "a revoked token is found, revoked"
    );
    let again = store
        .revoke_token(ws, ana_token.id, revoked_at + TimeDelta::hours(1))
        .await
        .expect("revoke again");
    assert_eq!(
        again.revoked_at,
        Some(revoked_at),
        "revoking twice keeps the first time"
    );
    assert_eq!(
        store
            .get_token(ws, s.token.id)
            .await
            .expect("get")
            .and_then(|t| t.revoked_at),
        None,
        "other tokens stay active"
    );
    expect_not_found(
        store.revoke_token(ws, TokenId::new(), now()).await,
        "revoking an unknown token",
    );

    let used_at = now() + TimeDelta::seconds(5);
    store.touch_token(s.token.id, used_at).await.expect("touch");
    assert_eq!(
        store
            .get_token(ws, s.token.id)
            .await
            .expect("get")
            .and_then(|t| t.last_used_at),
        Some(used_at),
        "touch records use"
    );
    let (owner_token, _) = store
        .token_by_hash(&s.secret.hash())
        .await
        .expect("by hash")
        .expect("found");
    assert_eq!(
        owner_token.last_used_at,
        Some(used_at),
        "lookups by hash see the recorded use"
    );

    // A member's new role shows on their token at once (a lookup caches nothing stale).
    store
        .update_member(
            ws,
            ana.id,
            MemberChange {
                role: Some(Role::Moderator),
                ..Default::default()
            },
        )
        .await
        .expect("promote");
    let (_, member) = store
        .token_by_hash(&ana_secret.hash())
        .await
        .expect("by hash")
        .expect("found");
    assert_eq!(member.map(|m| m.role), Some(Role::Moderator));
}

// ---------------------------------------------------------------------------------------
// Idempotency keys
// ---------------------------------------------------------------------------------------

/// An idempotency key is claimed once; a retry while it runs is in flight; a finished one
/// replays its response; another request under the same key is a mismatch; a released
/// claim can be claimed again; scopes are separate.
pub async fn idempotency_keys_claim_replay_and_release(store: Arc<dyn Store>) {
    let (scope, other_scope) = (random_bytes(), random_bytes());
    let (fingerprint, other_fingerprint) = (random_bytes(), random_bytes());
    let key = "create-7f3a";
    let claim = |scope: [u8; 32], key: &'static str, fingerprint: [u8; 32]| {
        let store = store.clone();
        async move {
            store
                .idempotency_claim(scope, key, fingerprint, now())
                .await
                .expect("claim")
        }
    };

    assert_eq!(
        claim(scope, key, fingerprint).await,
        IdempotencyClaim::New,
        "the first claim"
    );
    assert_eq!(
        claim(scope, key, fingerprint).await,
        IdempotencyClaim::InFlight,
        "a retry while the first runs"
    );
    assert_eq!(
        claim(other_scope, key, fingerprint).await,
        IdempotencyClaim::New,
        "the same key under another scope"
    );

    let body = br#"{"id":"r1","number":1}"#;
    let stored = StoredResponse {
        status: 201,
        content_type: "application/json".into(),
        headers: vec![
            ("location".into(), "/api/v1/requests/r1".into()),
            ("etag".into(), "\"1\"".into()),
        ],
        body: body.to_vec(),
    };
    store
        .idempotency_complete(scope, key, stored.clone())
        .await
        .expect("complete");
    let replay = IdempotencyClaim::Replay(stored);
    assert_eq!(
        claim(scope, key, fingerprint).await,
        replay,
        "a retry after completion replays the response"
    );
    assert_eq!(
        claim(scope, key, other_fingerprint).await,
        IdempotencyClaim::Mismatch,
        "another request under the same key"
    );

    store
        .idempotency_release(scope, key)
        .await
        .expect("release");
    assert_eq!(
        claim(scope, key, fingerprint).await,
        replay,
        "releasing does not forget a finished response"
    );

    let failing = "create-failing";
    assert_eq!(
        claim(scope, failing, fingerprint).await,
        IdempotencyClaim::New
    );
    store
        .idempotency_release(scope, failing)
        .await
        .expect("release");
    assert_eq!(
        claim(scope, failing, fingerprint).await,
        IdempotencyClaim::New,
        "a released claim can be claimed again"
    );
    assert_eq!(
        claim(other_scope, key, fingerprint).await,
        IdempotencyClaim::InFlight,
        "other scopes are unaffected"
    );
}

/// Twenty concurrent first claims of one key (a client retrying fast, or retries landing
/// on different nodes): exactly one runs the operation, the others see it in flight.
pub async fn concurrent_idempotency_claims_let_exactly_one_run(store: Arc<dyn Store>) {
    let (scope, fingerprint) = (random_bytes(), random_bytes());
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .idempotency_claim(scope, "race-key", fingerprint, now())
                    .await
                    .expect("claim")
            })
        })
        .collect();
    let mut claims = Vec::new();
    for task in tasks {
        claims.push(task.await.expect("the claim task finished"));
    }
    let new = claims
        .iter()
        .filter(|c| **c == IdempotencyClaim::New)
        .count();
    let in_flight = claims
        .iter()
        .filter(|c| **c == IdempotencyClaim::InFlight)
        .count();
    assert_eq!(new, 1, "exactly one claim runs the operation: {claims:?}");
    assert_eq!(in_flight, 19, "every other claim waits for it: {claims:?}");
}

/// Ten requests moving into `waiting` while the workflow drops `waiting`, all at once:
/// whichever order the backend serialises them in, no request ends in a status its
/// workflow no longer has.
pub async fn moves_racing_a_workflow_change_never_strand_a_request(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "wf-race").await;
    let p = s.owner_principal();
    let mut ids = Vec::new();
    for i in 0..10 {
        let request = file_request(&*store, &p, titled(&format!("Racer {i}"))).await;
        move_request(&*store, &p, request.id, "in_progress").await;
        ids.push(request.id);
    }
    let without_waiting = edit_workflow(&Workflow::general(), &["waiting"], &[], &[]);
    let ws = s.id();
    let change = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .update_request_type(
                    ws,
                    &TypeKey::general(),
                    workflow_change(without_waiting),
                    now(),
                )
                .await
        })
    };
    let moves: Vec<_> = ids
        .iter()
        .map(|&id| {
            let (store, p) = (store.clone(), p.clone());
            tokio::spawn(async move {
                let patch = RequestPatch {
                    status: Some(status_key("waiting")),
                    ..Default::default()
                };
                patch_request(&*store, &p, id, patch).await
            })
        })
        .collect();
    for task in moves {
        match task.await.expect("the move task finished") {
            Ok(Applied::Changed { .. }) | Err(StoreError::Domain(_)) => {}
            other => panic!("a racing move: expected Changed or a refusal, got {other:?}"),
        }
    }
    match change.await.expect("the change task finished") {
        Ok(_) => {}
        Err(StoreError::Domain(DomainError::Conflict {
            code: "status_in_use",
            ..
        })) => {}
        other => panic!("the racing workflow change: expected Ok or status_in_use, got {other:?}"),
    }
    let workflow = store
        .get_request_type(s.id(), &TypeKey::general())
        .await
        .expect("get type")
        .expect("general exists")
        .workflow;
    for id in ids {
        let request = store
            .get_request(s.id(), id)
            .await
            .expect("get request")
            .expect("the request exists");
        assert!(
            workflow
                .statuses()
                .iter()
                .any(|st| st.key == request.status),
            "request {id} is in {}, which its workflow no longer has",
            request.status.as_str()
        );
    }
}

/// Search folds case and accents beyond ASCII, on both sides: "cafe" finds "Café",
/// "CRÈME" finds "crème", "élan" finds "ELAN", and words split on punctuation.
pub async fn text_search_ignores_case_and_accents(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "accents").await;
    let p = s.owner_principal();
    let ws = s.id();
    file_request(&*store, &p, titled("Café crème for the ÉQUIPE")).await;
    file_request(&*store, &p, titled("ELAN vital; naïve-approach")).await;
    let search = |text: &str| RequestQuery {
        text: Some(text.to_owned()),
        ..everything()
    };
    let cafe = &["Café crème for the ÉQUIPE"];
    let elan = &["ELAN vital; naïve-approach"];
    expect_titles(&*store, ws, "search: cafe", search("cafe"), cafe).await;
    expect_titles(&*store, ws, "search: CRÈME", search("CRÈME"), cafe).await;
    expect_titles(&*store, ws, "search: equipe", search("equipe"), cafe).await;
    expect_titles(&*store, ws, "search: équ (prefix)", search("équ"), cafe).await;
    expect_titles(&*store, ws, "search: élan", search("élan"), elan).await;
    expect_titles(&*store, ws, "search: naive", search("naive"), elan).await;
    expect_titles(&*store, ws, "search: approach", search("approach"), elan).await;
}

/// A workspace keeps an owner: demoting the last one is `last_owner`, and two concurrent
/// demotions of the last two owners let exactly one through.
pub async fn the_last_owner_cannot_be_demoted_even_concurrently(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "owners").await;
    let to_admin = || MemberChange {
        role: Some(Role::Admin),
        ..Default::default()
    };
    expect_conflict(
        store.update_member(s.id(), s.owner.id, to_admin()).await,
        "last_owner",
        "demoting the only owner",
    );

    for round in 0..5 {
        let email = format!("co-owner-{round}@owners.example");
        let co = add_member(&*store, s.id(), &email, "Co", Role::Owner).await;
        let owners = [s.owner.id, co.id];
        let attempts = owners.map(|id| {
            let store = store.clone();
            let ws = s.id();
            tokio::spawn(async move { store.update_member(ws, id, to_admin()).await })
        });
        let mut demoted = Vec::new();
        for (id, attempt) in owners.into_iter().zip(attempts) {
            match attempt.await.expect("task") {
                Ok(_) => demoted.push(id),
                other => expect_conflict(other, "last_owner", "the second demotion"),
            }
        }
        assert_eq!(demoted.len(), 1, "round {round}: exactly one demotion wins");
        let remaining: Vec<_> = store
            .list_members(s.id())
            .await
            .expect("list members")
            .into_iter()
            .filter(|m| m.role == Role::Owner)
            .collect();
        assert_eq!(remaining.len(), 1, "round {round}: one owner remains");
        // Make the original owner the owner again for the next round.
        if demoted[0] == s.owner.id {
            let back = MemberChange {
                role: Some(Role::Owner),
                ..Default::default()
            };
            store
                .update_member(s.id(), s.owner.id, back)
                .await
                .expect("restore the owner");
            store
                .update_member(s.id(), co.id, to_admin())
                .await
                .expect("demote the co-owner");
        }
    }
}

/// A restriction (types whose requests only their own people see) leaves out of lists and
/// the change feed the requests of those types that the caller neither filed nor is
/// assigned to, and nothing else; a restriction without a member hides all of them.
pub async fn restricted_types_hide_other_peoples_requests_from_lists_and_the_feed(
    store: Arc<dyn Store>,
) {
    let s = create_workspace(&*store, "restricted").await;
    let ws = s.id();
    let owner = s.owner_principal();
    let ana = add_member(&*store, ws, "ana@restricted.example", "Ana", Role::Member).await;
    let as_ana = principal_for(&ana, None);
    let private = store
        .insert_request_type(new_request_type(ws, "private", Workflow::storyden_report()))
        .await
        .expect("a private type");
    let file = |p: &Principal, title: &str| {
        let p = p.clone();
        let title = title.to_owned();
        let store = store.clone();
        let key = private.key.clone();
        async move {
            file_request_at(&*store, &p, &key, titled(&title), now())
                .await
                .0
        }
    };
    let theirs = file(&owner, "Owner's report").await;
    let mine = file(&as_ana, "Ana's report").await;
    let assigned = file(&owner, "Assigned to Ana").await;
    let q = owner.clone();
    changed(
        store
            .change_request(
                ws,
                assigned.id,
                Box::new(move |current, t| {
                    let patch = RequestPatch {
                        assignee_id: Patch::Set(ana.id),
                        ..Default::default()
                    };
                    plan_update(&q, current, &t.workflow, patch, None, now())
                }),
            )
            .await,
        "assigning Ana",
    );
    let open = file_request(&*store, &owner, titled("An ordinary request")).await;

    let for_ana = Restriction {
        member: Some(ana.id),
        types: vec![private.key.clone()],
    };
    let for_system = Restriction {
        member: None,
        types: vec![private.key.clone()],
    };
    let restricted = |r: &Restriction| RequestQuery {
        restricted: Some(r.clone()),
        limit: MAX_LIMIT,
        ..Default::default()
    };
    expect_titles(
        &*store,
        ws,
        "what Ana may see",
        restricted(&for_ana),
        &["Ana's report", "Assigned to Ana", "An ordinary request"],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "what a member-less caller may see",
        restricted(&for_system),
        &["An ordinary request"],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "everything, unrestricted",
        RequestQuery {
            limit: MAX_LIMIT,
            ..Default::default()
        },
        &[
            "Owner's report",
            "Ana's report",
            "Assigned to Ana",
            "An ordinary request",
        ],
    )
    .await;

    let feed_of = |r: Option<Restriction>| {
        let store = store.clone();
        async move {
            let events = store
                .workspace_events(ws, None, MAX_LIMIT, r.as_ref())
                .await
                .expect("feed");
            events.iter().map(|e| e.request_id).collect::<BTreeSet<_>>()
        }
    };
    assert_eq!(
        feed_of(Some(for_ana)).await,
        BTreeSet::from([mine.id, assigned.id, open.id]),
        "Ana's feed leaves out the owner's report"
    );
    assert_eq!(
        feed_of(Some(for_system)).await,
        BTreeSet::from([open.id]),
        "a member-less caller's feed holds only the ordinary request"
    );
    assert_eq!(
        feed_of(None).await,
        BTreeSet::from([theirs.id, mine.id, assigned.id, open.id]),
        "the unrestricted feed holds everything"
    );
}

/// `workspace_events` is the change feed: every event of a workspace (creations, changes,
/// deletions, of any request) in the order stored, resumable after any event, and nothing
/// of another workspace; `event_signal` moves when this store writes an event.
pub async fn the_change_feed_holds_every_event_of_a_workspace_in_order(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "feed").await;
    let other = create_workspace(&*store, "feed-other").await;
    let p = s.owner_principal();
    let mut signal = store.event_signal();
    signal.borrow_and_update();

    let first = file_request(&*store, &p, titled("First")).await;
    assert!(
        signal.has_changed().expect("signal open"),
        "a write moves the signal"
    );
    file_request(&*store, &other.owner_principal(), titled("Elsewhere")).await;
    let second = file_request(&*store, &p, titled("Second")).await;
    move_request(&*store, &p, first.id, "in_progress").await;
    let q = p.clone();
    changed(
        store
            .change_request(
                s.id(),
                second.id,
                Box::new(move |current, _| plan_delete(&q, current, None, now()).map(Some)),
            )
            .await,
        "deleting a request",
    );

    let feed = store
        .workspace_events(s.id(), None, MAX_LIMIT, None)
        .await
        .expect("feed");
    let seen: Vec<_> = feed.iter().map(|e| (e.request_id, e.kind)).collect();
    assert_eq!(
        seen,
        [
            (first.id, EventKind::Created),
            (second.id, EventKind::Created),
            (first.id, EventKind::Updated),
            (second.id, EventKind::Deleted),
        ],
        "every event of the workspace, in order, the other workspace's left out"
    );
    assert!(feed.windows(2).all(|w| w[0].seq < w[1].seq));

    let rest = store
        .workspace_events(s.id(), Some(feed[1].seq), 1, None)
        .await
        .expect("feed after the second event");
    assert_eq!(
        rest,
        [feed[2].clone()],
        "resumes after a given event, limited"
    );
    let none = store
        .workspace_events(s.id(), Some(feed[3].seq), MAX_LIMIT, None)
        .await
        .expect("feed at the end");
    assert!(none.is_empty(), "nothing after the last event");
    assert_eq!(
        store.latest_event_seq(s.id()).await.expect("latest"),
        feed[3].seq,
        "the newest event of the workspace"
    );
    let fresh = create_workspace(&*store, "feed-empty").await;
    assert_eq!(
        store.latest_event_seq(fresh.id()).await.expect("latest"),
        0,
        "a workspace without events"
    );
}

pub fn new_webhook(ws: WorkspaceId, url: &str, types: &[EventKind]) -> Webhook {
    let at = now();
    Webhook {
        id: WebhookId::new(),
        workspace_id: ws,
        url: url.to_owned(),
        event_types: types.to_vec(),
        description: "test".into(),
        state: WebhookState::Active,
        paused_reason: None,
        secret: docket_domain::webhook::generate_secret(),
        created_at: at,
        updated_at: at,
    }
}

fn attempt(status: u16) -> Attempt {
    Attempt {
        at: now(),
        status_code: Some(status),
        duration_ms: 3,
        error: (status >= 300).then(|| format!("HTTP {status}")),
    }
}

/// Webhooks are kept per workspace, changed field by field, and deleted with their log.
pub async fn webhooks_are_stored_changed_and_deleted_per_workspace(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "hooks").await;
    let other = create_workspace(&*store, "hooks-other").await;
    let hook = new_webhook(s.id(), "https://a.example/hook", &[]);
    assert_eq!(
        store.insert_webhook(hook.clone()).await.expect("insert"),
        hook
    );
    assert_eq!(
        store.get_webhook(s.id(), hook.id).await.expect("get"),
        Some(hook.clone())
    );
    assert_eq!(
        store.get_webhook(other.id(), hook.id).await.expect("get"),
        None
    );
    assert_eq!(store.list_webhooks(other.id()).await.expect("list"), []);

    let changed = store
        .update_webhook(
            s.id(),
            hook.id,
            WebhookChange {
                url: Some("https://b.example/hook".into()),
                event_types: Some(vec![EventKind::Updated]),
                state: Some(WebhookState::Paused),
                ..Default::default()
            },
            now(),
        )
        .await
        .expect("update");
    assert_eq!(
        (
            changed.url.as_str(),
            changed.event_types.as_slice(),
            changed.state
        ),
        (
            "https://b.example/hook",
            &[EventKind::Updated][..],
            WebhookState::Paused
        )
    );
    assert_eq!(changed.description, "test", "untouched fields stay");
    assert_eq!(
        store.list_webhooks(s.id()).await.expect("list"),
        vec![changed]
    );
    expect_not_found(
        store
            .update_webhook(other.id(), hook.id, WebhookChange::default(), now())
            .await,
        "changing another workspace's webhook",
    );
    expect_not_found(
        store.delete_webhook(other.id(), hook.id).await,
        "deleting another workspace's webhook",
    );
    store.delete_webhook(s.id(), hook.id).await.expect("delete");
    assert_eq!(store.get_webhook(s.id(), hook.id).await.expect("get"), None);
}

/// The outbox: events stored after a webhook was made become deliveries (filtered by
/// type), claimed oldest-first per request, one in flight per (webhook, request), leased.
pub async fn deliveries_are_queued_from_the_outbox_and_claimed_in_order(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "outbox").await;
    let p = s.owner_principal();
    file_request(&*store, &p, titled("Before the webhook")).await;
    let all = new_webhook(s.id(), "https://all.example/", &[]);
    let updates = new_webhook(s.id(), "https://updates.example/", &[EventKind::Updated]);
    store.insert_webhook(all.clone()).await.expect("insert");
    store.insert_webhook(updates.clone()).await.expect("insert");

    let a = file_request(&*store, &p, titled("A")).await;
    let b = file_request(&*store, &p, titled("B")).await;
    move_request(&*store, &p, a.id, "in_progress").await;
    let t0 = now();
    let queued = store.enqueue_deliveries(t0, 1000).await.expect("enqueue");
    assert_eq!(
        queued, 4,
        "three events for `all`, one update for `updates`"
    );
    assert_eq!(
        store
            .enqueue_deliveries(t0, 1000)
            .await
            .expect("enqueue again"),
        0,
        "each event is queued once"
    );

    let lease = t0 + TimeDelta::seconds(30);
    let first = store
        .claim_deliveries(t0, lease, 100, 100)
        .await
        .expect("claim");
    let mut got: Vec<(WebhookId, RequestId, EventKind)> = first
        .iter()
        .map(|c| (c.webhook.id, c.event.request_id, c.event.kind))
        .collect();
    got.sort();
    let mut want = vec![
        (all.id, a.id, EventKind::Created),
        (all.id, b.id, EventKind::Created),
        (updates.id, a.id, EventKind::Updated),
    ];
    want.sort();
    assert_eq!(got, want, "A's update to `all` waits for A's creation");
    let claimed_a = first
        .iter()
        .find(|c| c.webhook.id == all.id && c.event.request_id == a.id)
        .unwrap();
    assert_eq!(claimed_a.request.as_ref().map(|r| r.id), Some(a.id));
    assert_eq!(
        claimed_a.webhook.secret, all.secret,
        "the claim carries the secret"
    );
    assert!(
        store
            .claim_deliveries(t0, lease, 100, 100)
            .await
            .expect("claim")
            .is_empty(),
        "leased deliveries are not claimed twice"
    );

    store
        .record_attempt(
            claimed_a.delivery.id,
            attempt(200),
            AttemptOutcome::Delivered,
        )
        .await
        .expect("record");
    let next = store
        .claim_deliveries(t0, lease, 100, 100)
        .await
        .expect("claim");
    assert_eq!(
        next.iter()
            .map(|c| (c.webhook.id, c.event.request_id, c.event.kind))
            .collect::<Vec<_>>(),
        [(all.id, a.id, EventKind::Updated)],
        "A's next event follows once the first is delivered"
    );

    // A lease that runs out makes the delivery due again (a crashed worker).
    let later = lease + TimeDelta::seconds(1);
    let again = store
        .claim_deliveries(later, later + TimeDelta::seconds(30), 100, 1)
        .await
        .expect("claim after the lease");
    assert_eq!(again.len(), 2, "one per webhook with per_webhook = 1");

    let log = store
        .list_deliveries(s.id(), all.id, None, 10)
        .await
        .expect("log");
    assert_eq!(log.len(), 3);
    let delivered = log.iter().find(|d| d.id == claimed_a.delivery.id).unwrap();
    assert_eq!(delivered.state, DeliveryState::Delivered);
    assert_eq!(
        delivered.attempts,
        [attempt(200)].map(|mut x| {
            x.at = delivered.attempts[0].at;
            x
        })
    );
    assert!(log.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    let older = store
        .list_deliveries(s.id(), all.id, Some(log[0].id), 10)
        .await
        .expect("older page");
    assert_eq!(older, log[1..].to_vec());

    // Redelivery queues the event again; an event the webhook does not take is refused.
    let again = store
        .redeliver(s.id(), all.id, claimed_a.event.id, now())
        .await
        .expect("redeliver");
    assert_eq!(
        (again.event_id, again.state),
        (claimed_a.event.id, DeliveryState::Pending)
    );
    expect_conflict(
        store
            .redeliver(s.id(), updates.id, claimed_a.event.id, now())
            .await,
        "event_not_subscribed",
        "redelivering a creation to an updates-only webhook",
    );
    expect_invalid(
        store.redeliver(s.id(), all.id, EventId::new(), now()).await,
        "event_id",
        "redelivering an unknown event",
    );
}

/// A failed attempt is retried when due; giving up fails the delivery and pauses the
/// webhook, whose deliveries then wait (still queued) until it is active again.
pub async fn failed_deliveries_retry_then_pause_their_webhook(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "retries").await;
    let p = s.owner_principal();
    let hook = new_webhook(s.id(), "https://down.example/", &[]);
    store.insert_webhook(hook.clone()).await.expect("insert");
    file_request(&*store, &p, titled("One")).await;
    let t0 = now();
    store.enqueue_deliveries(t0, 100).await.expect("enqueue");
    let lease = t0 + TimeDelta::seconds(30);
    let claimed = store
        .claim_deliveries(t0, lease, 10, 10)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    let id = claimed[0].delivery.id;

    let retry_at = t0 + TimeDelta::seconds(5);
    store
        .record_attempt(id, attempt(503), AttemptOutcome::RetryAt(retry_at))
        .await
        .expect("record");
    assert!(
        store
            .claim_deliveries(t0 + TimeDelta::seconds(4), lease, 10, 10)
            .await
            .expect("claim")
            .is_empty(),
        "not before its retry time"
    );
    let retried = store
        .claim_deliveries(retry_at, retry_at + TimeDelta::seconds(30), 10, 10)
        .await
        .expect("claim");
    assert_eq!(retried.len(), 1);
    assert_eq!(
        retried[0].delivery.attempts.len(),
        1,
        "the claim shows earlier attempts"
    );

    store
        .record_attempt(
            id,
            attempt(500),
            AttemptOutcome::GiveUp {
                pause_reason: "failing for three days".into(),
            },
        )
        .await
        .expect("give up");
    let paused = store
        .get_webhook(s.id(), hook.id)
        .await
        .expect("get")
        .unwrap();
    assert_eq!(paused.state, WebhookState::Paused);
    assert_eq!(
        paused.paused_reason.as_deref(),
        Some("failing for three days")
    );
    let log = store
        .list_deliveries(s.id(), hook.id, None, 10)
        .await
        .expect("log");
    assert_eq!(log[0].state, DeliveryState::Failed);
    assert_eq!(log[0].attempts.len(), 2);

    // While paused, events are still queued but not claimed.
    file_request(&*store, &p, titled("Two")).await;
    let t1 = retry_at + TimeDelta::seconds(60);
    assert_eq!(store.enqueue_deliveries(t1, 100).await.expect("enqueue"), 1);
    assert!(store
        .claim_deliveries(t1, t1 + TimeDelta::seconds(30), 10, 10)
        .await
        .expect("claim")
        .is_empty());
    let resumed = store
        .update_webhook(
            s.id(),
            hook.id,
            WebhookChange {
                state: Some(WebhookState::Active),
                ..Default::default()
            },
            t1,
        )
        .await
        .expect("resume");
    assert_eq!(resumed.paused_reason, None, "resuming clears the reason");
    assert_eq!(
        store
            .claim_deliveries(t1, t1 + TimeDelta::seconds(30), 10, 10)
            .await
            .expect("claim")
            .len(),
        1,
        "the queued event goes out once active"
    );
}

/// The scheduler's step: an overdue notice for each unfinished live request past due, a
/// reminder at each lead time of its workflow, each once per due time, even when asked
/// concurrently; nothing for finished or deleted requests.
pub async fn due_notices_are_recorded_once_per_due_time(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "due").await;
    let p = s.owner_principal();
    let general = Workflow::general();
    let reminding = Workflow::new(WorkflowInput {
        statuses: general.statuses().to_vec(),
        transitions: general.transitions().to_vec(),
        remind_before_due_minutes: vec![60, 600],
        ..Default::default()
    })
    .expect("a workflow with reminders");
    assert_eq!(reminding.reminders(), [600, 60], "largest lead first");
    let rtype = new_request_type(s.id(), "remind", reminding);
    store
        .insert_request_type(rtype.clone())
        .await
        .expect("insert type");
    let t0 = now();
    let due = |title: &str, minutes: i64| NewRequest {
        due_at: Some(t0 + TimeDelta::minutes(minutes)),
        ..titled(title)
    };
    let file = |input: NewRequest| {
        let (store, p, key) = (store.clone(), p.clone(), rtype.key.clone());
        async move { file_request_at(&*store, &p, &key, input, t0).await.0 }
    };
    let late = file(due("Late", -30)).await;
    let soon = file(due("Soon", 30)).await;
    let later = file(due("Later", 300)).await;
    file(due("Far", 3000)).await;
    let finished = file(due("Finished", -30)).await;
    move_request(&*store, &p, finished.id, "done").await;

    // Two schedulers at once: each notice is written once.
    let (a, b) = tokio::join!(
        store.record_due_notices(t0, 100),
        store.record_due_notices(t0, 100)
    );
    let mut notices: Vec<(RequestId, EventKind)> = a
        .expect("notices")
        .into_iter()
        .chain(b.expect("notices"))
        .map(|e| (e.request_id, e.kind))
        .collect();
    notices.sort();
    let mut want = vec![
        (late.id, EventKind::Overdue),
        (soon.id, EventKind::Reminder),
        (soon.id, EventKind::Reminder),
        (later.id, EventKind::Reminder),
    ];
    want.sort();
    assert_eq!(
        notices, want,
        "30 min away: both reminders; 5 h away: the 10 h one"
    );
    assert!(
        store
            .record_due_notices(t0, 100)
            .await
            .expect("again")
            .is_empty(),
        "nothing twice"
    );
    let timeline = store
        .timeline(s.id(), late.id, None, 10)
        .await
        .expect("timeline");
    let overdue = timeline.last().expect("an event");
    assert_eq!(overdue.kind, EventKind::Overdue);
    assert_eq!(overdue.actor, Default::default(), "the system acted");

    // Time passes: "Soon" becomes overdue. A new due date earns new notices.
    let at = t0 + TimeDelta::minutes(31);
    let kinds = |events: Vec<Event>| -> Vec<(RequestId, EventKind)> {
        events.into_iter().map(|e| (e.request_id, e.kind)).collect()
    };
    assert_eq!(
        kinds(store.record_due_notices(at, 100).await.expect("later")),
        [(soon.id, EventKind::Overdue)]
    );
    let patch = RequestPatch {
        due_at: Patch::Set(at - TimeDelta::minutes(1)),
        ..Default::default()
    };
    changed(
        patch_request(&*store, &p, late.id, patch).await,
        "new due date",
    );
    assert_eq!(
        kinds(
            store
                .record_due_notices(at, 100)
                .await
                .expect("after a new due date")
        ),
        [(late.id, EventKind::Overdue)]
    );
}

/// Events are flagged for the email planner when written: a move into a status the
/// request's workflow emails the contact on, and a creation with an assignee, come back;
/// a move no workflow emails about does not, yet the pass covers it (`through`), so the
/// cursor moves past it unread. A full page covers only up to its last event.
pub async fn the_email_planner_reads_only_events_that_may_send(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "flagged").await;
    let p = s.owner_principal();
    let general = store
        .get_request_type(s.id(), &TypeKey::general())
        .await
        .expect("read the type")
        .expect("the general type");
    let w = &general.workflow;
    let emails_on_done = Workflow::new(WorkflowInput {
        statuses: w.statuses().to_vec(),
        transitions: w.transitions().to_vec(),
        remind_before_due_minutes: w.reminders().to_vec(),
        notify_contact_on: vec![status_key("done")],
        ..Default::default()
    })
    .expect("a valid workflow");
    store
        .update_request_type(s.id(), &general.key, workflow_change(emails_on_done), now())
        .await
        .expect("change the workflow");
    let start = store
        .outbox_cursor(&unique_slug("mail"))
        .await
        .expect("cursor");

    let quiet = file_request(&*store, &p, titled("Quiet")).await;
    let to = |status: &str| RequestPatch {
        status: Some(status_key(status)),
        ..Default::default()
    };
    let event_of = |applied: Applied| match applied {
        Applied::Changed { event, .. } => event,
        Applied::Unchanged(_) => panic!("the move was made"),
    };
    let started = event_of(
        patch_request(&*store, &p, quiet.id, to("in_progress"))
            .await
            .expect("move"),
    );
    let done = event_of(
        patch_request(&*store, &p, quiet.id, to("done"))
            .await
            .expect("move"),
    );
    let (_, created) = file_request_at(
        &*store,
        &p,
        &TypeKey::general(),
        NewRequest {
            assignee_id: Some(s.owner.id),
            ..titled("Assigned")
        },
        now(),
    )
    .await;
    let mine = |events: &[Event]| -> Vec<i64> {
        events
            .iter()
            .filter(|e| e.workspace_id == s.id())
            .map(|e| e.seq)
            .collect()
    };

    let page = store.mail_events_after(start, 100).await.expect("events");
    assert_eq!(
        mine(&page.events),
        [done.seq, created.seq],
        "the move into done and the assigned creation, not the quiet creation or the move into in_progress ({})",
        started.seq
    );
    assert!(
        page.through >= created.seq,
        "the pass covers every event written"
    );

    let first = store
        .mail_events_after(started.seq, 1)
        .await
        .expect("events");
    assert_eq!(first.events.len(), 1);
    assert_eq!(
        first.through, first.events[0].seq,
        "a full page covers up to its last event, no further"
    );
    let rest = store
        .mail_events_after(page.through, 100)
        .await
        .expect("events");
    assert!(mine(&rest.events).is_empty());
}

/// The email outbox: a new consumer starts at the newest event; queuing moves its cursor
/// only from where it stood (so two nodes cannot queue one event twice); claims lease;
/// a failure writes `email.failed` on the request's timeline.
pub async fn emails_are_queued_once_claimed_and_their_failures_recorded(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "mail").await;
    let p = s.owner_principal();
    // Assigned, so their creation may email the assignee and the planner reads it.
    let assigned = |title: &str| NewRequest {
        assignee_id: Some(s.owner.id),
        ..titled(title)
    };
    file_request(&*store, &p, assigned("History")).await;
    let name = format!("email-{}", unique_slug("c"));
    let start = store.outbox_cursor(&name).await.expect("cursor");
    assert!(
        store
            .mail_events_after(start, 10)
            .await
            .expect("events")
            .events
            .is_empty(),
        "a new consumer starts after the newest event"
    );
    let r = file_request(&*store, &p, assigned("Contract")).await;
    let page = store.mail_events_after(start, 10).await.expect("events");
    let mine: Vec<_> = page
        .events
        .iter()
        .filter(|e| e.request_id == r.id)
        .collect();
    assert_eq!(mine.len(), 1);
    let to = page.through;
    let email = |to_addr: &str| NewEmail {
        workspace_id: s.id(),
        request_id: r.id,
        event_id: mine[0].id,
        to: to_addr.into(),
        subject: "Hello".into(),
        body: "Body".into(),
    };
    let t0 = now();
    let (first, second) = tokio::join!(
        store.queue_emails(&name, start, to, vec![email("a@x.example")], t0),
        store.queue_emails(&name, start, to, vec![email("a@x.example")], t0)
    );
    assert_eq!(
        [first.expect("queue"), second.expect("queue")]
            .iter()
            .filter(|q| **q)
            .count(),
        1,
        "exactly one of two racing planners queues"
    );
    assert_eq!(store.outbox_cursor(&name).await.expect("cursor"), to);
    store
        .queue_emails(&name, to, to, vec![email("b@x.example")], t0)
        .await
        .expect("queue");

    let lease = t0 + TimeDelta::seconds(30);
    let claimed = store.claim_emails(t0, lease, 10).await.expect("claim");
    let mut ours: Vec<_> = claimed
        .iter()
        .filter(|q| q.email.request_id == r.id)
        .collect();
    ours.sort_by_key(|q| q.email.to.clone());
    assert_eq!(ours.len(), 2);
    assert_eq!(ours[0].email, email("a@x.example"));
    assert_eq!(ours[0].attempts, 0);
    assert!(
        store
            .claim_emails(t0, lease, 10)
            .await
            .expect("claim")
            .iter()
            .all(|q| q.email.request_id != r.id),
        "leased emails are not claimed twice"
    );
    store
        .record_email(&ours[0].id, EmailOutcome::Sent, t0)
        .await
        .expect("sent");
    let retry = t0 + TimeDelta::seconds(5);
    store
        .record_email(
            &ours[1].id,
            EmailOutcome::RetryAt {
                at: retry,
                error: "451 try later".into(),
            },
            t0,
        )
        .await
        .expect("retry");
    let again = store
        .claim_emails(retry, retry + TimeDelta::seconds(30), 10)
        .await
        .expect("claim");
    let again: Vec<_> = again
        .iter()
        .filter(|q| q.email.request_id == r.id)
        .collect();
    assert_eq!(again.len(), 1, "only the one to retry");
    assert_eq!(
        (again[0].email.to.as_str(), again[0].attempts),
        ("b@x.example", 1)
    );
    store
        .record_email(
            &again[0].id,
            EmailOutcome::Failed {
                error: "550 no such user".into(),
            },
            retry,
        )
        .await
        .expect("failed");
    let timeline = store
        .timeline(s.id(), r.id, None, 10)
        .await
        .expect("timeline");
    let last = timeline.last().unwrap();
    assert_eq!(last.kind, EventKind::EmailFailed);
    assert!(last.comment.as_deref().unwrap().contains("b@x.example"));
    assert!(
        store
            .claim_emails(retry + TimeDelta::days(1), retry + TimeDelta::days(2), 10)
            .await
            .expect("claim")
            .iter()
            .all(|q| q.email.request_id != r.id),
        "sent and failed emails are done"
    );
}

/// Template overrides are per workspace, replaced by name, and removable.
pub async fn email_templates_are_overridden_per_workspace(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "tpl").await;
    let other = create_workspace(&*store, "tpl-other").await;
    let t = docket_domain::email::Template {
        name: "assigned".into(),
        subject: "Yours: {{title}}".into(),
        body: "Take it".into(),
    };
    store
        .set_email_template(s.id(), t.clone(), now())
        .await
        .expect("set");
    let changed = docket_domain::email::Template {
        body: "Take it, please".into(),
        ..t.clone()
    };
    store
        .set_email_template(s.id(), changed.clone(), now())
        .await
        .expect("replace");
    assert_eq!(
        store.email_templates(s.id()).await.expect("list"),
        vec![changed]
    );
    assert!(store
        .email_templates(other.id())
        .await
        .expect("list")
        .is_empty());
    assert!(!store
        .delete_email_template(other.id(), "assigned")
        .await
        .expect("delete"));
    assert!(store
        .delete_email_template(s.id(), "assigned")
        .await
        .expect("delete"));
    assert!(store
        .email_templates(s.id())
        .await
        .expect("list")
        .is_empty());
}

// ---------------------------------------------------------------------------------------
// Public links
// ---------------------------------------------------------------------------------------

/// Files a request of the built-in Gipper workflow (registering the type first).
async fn gipper_request(
    store: &dyn Store,
    ws: &TestWorkspace,
    link: NewLink,
) -> (Request, PublicLink) {
    let rtype = new_request_type(ws.id(), "gipper", Workflow::gipper());
    let _ = store.insert_request_type(rtype).await;
    let p = ws.owner_principal();
    let (request, _, link) = store
        .create_request_with_link(
            ws.id(),
            &type_key("gipper"),
            Box::new(move |t, n| plan_create(&p, t, titled("photos please"), n, now())),
            link,
        )
        .await
        .expect("create a request with a link");
    (request, link)
}

fn completion() -> LinkSubmission {
    LinkSubmission {
        status: Some(status_key("completed")),
        data: serde_json::Map::new(),
    }
}

pub async fn public_links_are_created_found_listed_and_revoked(store: Arc<dyn Store>) {
    let ws = create_workspace(&*store, "links").await;
    let other = create_workspace(&*store, "links-other").await;
    let expires = now() + TimeDelta::days(1);
    let (request, link) = gipper_request(
        &*store,
        &ws,
        NewLink {
            mode: LinkMode::OneTime,
            expires_at: Some(expires),
        },
    )
    .await;
    assert_eq!(link.request_id, request.id);
    assert_eq!(link.mode, LinkMode::OneTime);
    assert_eq!(link.expires_at, Some(expires));
    assert_eq!(link.used_count, 0);
    assert_eq!(link.token.as_str().len(), 16);

    let (found, found_request) = store
        .link_by_token(&link.token)
        .await
        .unwrap()
        .expect("the link is found by its token");
    assert_eq!(found, link);
    assert_eq!(found_request.id, request.id);

    let second = store
        .insert_link(
            ws.id(),
            request.id,
            NewLink {
                mode: LinkMode::MultiUse,
                expires_at: None,
            },
            now(),
        )
        .await
        .unwrap();
    assert_ne!(second.token, link.token);
    let listed = store.links_of_request(ws.id(), request.id).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.contains(&link) && listed.contains(&second));
    assert!(store
        .links_of_request(other.id(), request.id)
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        store
            .insert_link(
                other.id(),
                request.id,
                NewLink {
                    mode: LinkMode::OneTime,
                    expires_at: None
                },
                now()
            )
            .await,
        Err(StoreError::Domain(DomainError::NotFound(_)))
    ));

    let later = now() + TimeDelta::days(7);
    let moved = store
        .set_link_expiry(ws.id(), link.id, Some(later))
        .await
        .unwrap();
    assert_eq!(moved.expires_at, Some(later));
    assert!(store
        .set_link_expiry(other.id(), link.id, None)
        .await
        .is_err());
    let (found, _) = store.link_by_token(&link.token).await.unwrap().unwrap();
    assert_eq!(found.expires_at, Some(later));

    let at = now();
    assert!(matches!(
        store.revoke_link(other.id(), second.id, at).await,
        Err(StoreError::Domain(DomainError::NotFound(_)))
    ));
    let revoked = store.revoke_link(ws.id(), second.id, at).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(at));
    let again = store.revoke_link(ws.id(), second.id, now()).await.unwrap();
    assert_eq!(
        again.revoked_at,
        Some(at),
        "revoking twice keeps the first time"
    );
    let err = store
        .use_link(
            &second.token,
            Box::new(|l, r, t| plan_link_use(l, r, &t.workflow, completion(), now())),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::Domain(DomainError::Conflict {
            code: "link_revoked",
            ..
        })
    ));
}

pub async fn a_one_time_link_is_used_exactly_once_under_concurrent_uses(store: Arc<dyn Store>) {
    let ws = create_workspace(&*store, "one-time").await;
    let (request, link) = gipper_request(
        &*store,
        &ws,
        NewLink {
            mode: LinkMode::OneTime,
            expires_at: None,
        },
    )
    .await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        let token = link.token.clone();
        tasks.push(tokio::spawn(async move {
            store
                .use_link(
                    &token,
                    Box::new(|l, r, t| plan_link_use(l, r, &t.workflow, completion(), now())),
                )
                .await
        }));
    }
    let mut wins = 0;
    for t in tasks {
        match t.await.expect("the task runs") {
            Ok((used, r, event)) => {
                wins += 1;
                assert_eq!(used.used_count, 1);
                assert_eq!(r.status.as_str(), "completed");
                assert_eq!(event.request_id, request.id);
            }
            Err(StoreError::Domain(DomainError::Conflict { code, .. })) => {
                assert_eq!(code, "link_used");
            }
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(wins, 1, "a one-time link completes exactly once");
    let (stored, r) = store.link_by_token(&link.token).await.unwrap().unwrap();
    assert_eq!(stored.used_count, 1);
    assert_eq!(r.version, 2);
    let events = store
        .timeline(ws.id(), request.id, None, 100)
        .await
        .unwrap();
    assert_eq!(events.len(), 2, "one creation and one completion");
}

pub async fn request_by_number_is_scoped_to_the_workspace(store: Arc<dyn Store>) {
    let ws = create_workspace(&*store, "by-number").await;
    let other = create_workspace(&*store, "by-number-other").await;
    let r = file_request(&*store, &ws.owner_principal(), titled("numbered")).await;
    let found = store.request_by_number(ws.id(), r.number).await.unwrap();
    assert_eq!(found.map(|f| f.id), Some(r.id));
    assert!(store
        .request_by_number(ws.id(), r.number + 1000)
        .await
        .unwrap()
        .is_none());
    let theirs = store.request_by_number(other.id(), r.number).await.unwrap();
    assert_ne!(theirs.map(|t| t.id), Some(r.id));
}

pub async fn follow_up_events_are_written_with_the_change(store: Arc<dyn Store>) {
    let ws = create_workspace(&*store, "follow-ups").await;
    let p = ws.owner_principal();
    let r = file_request(&*store, &p, titled("with a message")).await;
    let principal = p.clone();
    let applied = store
        .change_request(
            ws.id(),
            r.id,
            Box::new(move |current, t| {
                let patch = RequestPatch {
                    status: Some(status_key("done")),
                    ..Default::default()
                };
                let planned = plan_update(&principal, current, &t.workflow, patch, None, now())?;
                Ok(planned.map(|mut planned| {
                    let e = docket_domain::request::message_queued(
                        &principal,
                        &planned.request,
                        "completion",
                        "x@example.com",
                        now(),
                    );
                    planned.follow_ups.push(e);
                    planned
                }))
            }),
        )
        .await;
    let (request, event) = changed(applied, "a change with a follow-up");
    assert_eq!(event.kind, EventKind::Updated);
    assert_eq!(request.version, 2, "one change, one version");
    let events = store.timeline(ws.id(), r.id, None, 100).await.unwrap();
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::Created,
            EventKind::Updated,
            EventKind::MessageQueued
        ]
    );
    assert_eq!(
        events[2].changes[0].new,
        serde_json::json!({ "template": "completion", "recipient": "x@example.com" })
    );

    // A plan that fails writes neither the change nor its follow-ups.
    let principal = p.clone();
    let refused = store
        .change_request(
            ws.id(),
            r.id,
            Box::new(move |current, t| {
                let patch = RequestPatch {
                    status: Some(status_key("no-such-status")),
                    ..Default::default()
                };
                plan_update(&principal, current, &t.workflow, patch, None, now())
            }),
        )
        .await;
    assert!(refused.is_err());
    assert_eq!(
        store
            .timeline(ws.id(), r.id, None, 100)
            .await
            .unwrap()
            .len(),
        3
    );
}

/// Passwords are found by email across workspaces; sessions open their member until they
/// expire, are deleted, or the member's password changes.
pub async fn passwords_and_sessions_sign_members_in_and_out(store: Arc<dyn Store>) {
    let a = create_workspace(&*store, "pw-a").await;
    let b = create_workspace(&*store, "pw-b").await;
    let email = format!("{}@example.com", unique_slug("desk"));
    let in_a = add_member(&*store, a.workspace.id, &email, "Ada", Role::Moderator).await;
    let in_b = add_member(&*store, b.workspace.id, &email, "Ada", Role::Member).await;
    let parsed = Email::parse(&email).unwrap();
    assert!(
        store.password_candidates(&parsed).await.unwrap().is_empty(),
        "no password yet"
    );

    store
        .set_password(a.workspace.id, in_a.id, Some("hash-a".into()))
        .await
        .unwrap();
    store
        .set_password(b.workspace.id, in_b.id, Some("hash-b".into()))
        .await
        .unwrap();
    let found = store.password_candidates(&parsed).await.unwrap();
    let found: Vec<_> = found.iter().map(|(m, h)| (m.id, h.as_str())).collect();
    assert_eq!(found, vec![(in_a.id, "hash-a"), (in_b.id, "hash-b")]);
    let wrong_ws = store
        .set_password(b.workspace.id, in_a.id, Some("x".into()))
        .await;
    assert!(matches!(
        wrong_ws,
        Err(StoreError::Domain(DomainError::NotFound(_)))
    ));

    let at = now();
    let (secret, session) = Session::start(a.workspace.id, in_a.id, at);
    store.insert_session(session.clone()).await.unwrap();
    let (found, member) = store
        .session_by_hash(&TokenHash::of(&secret), at)
        .await
        .unwrap()
        .expect("the session opens");
    assert_eq!(found, session);
    assert_eq!(member.id, in_a.id);
    assert_eq!(member.role, Role::Moderator);
    let later = session.expires_at;
    assert!(
        store
            .session_by_hash(&session.hash, later)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert!(store
        .session_by_hash(&TokenHash::of("other"), at)
        .await
        .unwrap()
        .is_none());

    // A new password signs every browser out.
    store
        .set_password(a.workspace.id, in_a.id, Some("hash-a2".into()))
        .await
        .unwrap();
    assert!(store
        .session_by_hash(&session.hash, at)
        .await
        .unwrap()
        .is_none());

    let (secret, session) = Session::start(b.workspace.id, in_b.id, at);
    store.insert_session(session).await.unwrap();
    store.delete_session(&TokenHash::of(&secret)).await.unwrap();
    assert!(store
        .session_by_hash(&TokenHash::of(&secret), at)
        .await
        .unwrap()
        .is_none());
    store.delete_session(&TokenHash::of(&secret)).await.unwrap();

    store
        .set_password(a.workspace.id, in_a.id, None)
        .await
        .unwrap();
    let found = store.password_candidates(&parsed).await.unwrap();
    assert_eq!(found.len(), 1, "a removed password cannot sign in");
}

/// The dashboard counts live unfinished requests by status and assignee, and the
/// requests opened and completed since a moment.
pub async fn request_stats_count_unfinished_work_and_completions(store: Arc<dyn Store>) {
    let t = create_workspace(&*store, "stats").await;
    let other = create_workspace(&*store, "stats-other").await;
    let owner = principal_for(&t.owner, None);
    let mod_ = add_member(
        &*store,
        t.workspace.id,
        "mod@example.com",
        "Mo",
        Role::Moderator,
    )
    .await;
    let start = now();
    let a = file_request(&*store, &owner, titled("a")).await;
    let b = file_request(&*store, &owner, titled("b")).await;
    let c = file_request(&*store, &owner, titled("c")).await;
    let d = file_request(&*store, &owner, titled("d")).await;
    file_request(
        &*store,
        &principal_for(&other.owner, None),
        titled("elsewhere"),
    )
    .await;
    let assign = RequestPatch {
        assignee_id: Patch::Set(mod_.id),
        ..Default::default()
    };
    changed(patch_request(&*store, &owner, a.id, assign).await, "assign");
    move_request(&*store, &owner, b.id, "in_progress").await;
    move_request(&*store, &owner, c.id, "done").await;
    move_request(&*store, &owner, d.id, "canceled").await;

    let stats = store
        .request_stats(t.workspace.id, start, None)
        .await
        .unwrap();
    let by_status: BTreeSet<(String, i64)> = stats
        .open_by_status
        .iter()
        .map(|s| (s.status.as_str().to_owned(), s.count))
        .collect();
    assert_eq!(
        by_status,
        BTreeSet::from([("open".to_owned(), 1), ("in_progress".to_owned(), 1)])
    );
    let by_assignee: BTreeSet<(Option<MemberId>, i64)> =
        stats.open_by_assignee.iter().cloned().collect();
    assert_eq!(by_assignee, BTreeSet::from([(Some(mod_.id), 1), (None, 1)]));
    assert_eq!(stats.opened.len(), 4);
    assert_eq!(stats.completed.len(), 1);
    let (created, done) = stats.completed[0];
    assert_eq!(created, c.created_at);
    assert!(done >= created);

    // A caller from whom the type's requests are hidden but those they are assigned to
    // counts only those: `a`, open and assigned to the moderator.
    let hidden = Restriction {
        member: Some(mod_.id),
        types: vec![TypeKey::general()],
    };
    let theirs = store
        .request_stats(t.workspace.id, start, Some(&hidden))
        .await
        .unwrap();
    assert_eq!(
        theirs
            .open_by_status
            .iter()
            .map(|s| (s.status.as_str(), s.count))
            .collect::<Vec<_>>(),
        vec![("open", 1)]
    );
    assert_eq!(theirs.open_by_assignee, vec![(Some(mod_.id), 1)]);
    assert_eq!(theirs.opened, vec![a.created_at]);
    assert!(
        theirs.completed.is_empty(),
        "the done request is not theirs"
    );

    let later = store
        .request_stats(t.workspace.id, now() + TimeDelta::seconds(1), None)
        .await
        .unwrap();
    assert!(later.opened.is_empty() && later.completed.is_empty());
    assert_eq!(
        later.open_by_status.len(),
        2,
        "unfinished work is counted whenever it began"
    );
}

// ---------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------

/// A new file record of `ws` (not yet stored), attached to `request` when given.
pub fn new_file(ws: WorkspaceId, request: Option<RequestId>, name: &str) -> FileRecord {
    let id = FileId::new();
    FileRecord {
        id,
        workspace_id: ws,
        request_id: request,
        name: FileName::sanitize(name),
        content_type: "application/pdf".into(),
        size: 1234,
        sha256: Some("ab".repeat(32)),
        uploaded_by: Uploader::System,
        visibility: Visibility::Internal,
        storage_key: storage_key(ws, id),
        created_at: now(),
    }
}

fn actor_of(p: &Principal) -> Actor {
    Actor {
        member_id: p.member_id(),
        token_id: p.token_id,
    }
}

/// The `files` changes of a request's timeline, as `(old id, new id)`.
async fn file_changes(store: &dyn Store, ws: WorkspaceId, r: RequestId) -> Vec<(String, String)> {
    let id = |v: &serde_json::Value| v["id"].as_str().unwrap_or("").to_owned();
    store
        .timeline(ws, r, None, 100)
        .await
        .expect("timeline")
        .iter()
        .flat_map(|e| e.changes.iter())
        .filter(|c| c.field == "files")
        .map(|c| (id(&c.old), id(&c.new)))
        .collect()
}

pub async fn files_are_stored_listed_and_scoped_to_their_workspace(store: Arc<dyn Store>) {
    let ws = create_workspace(&*store, "files").await;
    let other = create_workspace(&*store, "files-other").await;
    let r = file_request(&*store, &ws.owner_principal(), titled("with files")).await;
    let actor = actor_of(&ws.owner_principal());

    let mut stored = Vec::new();
    for i in 0..5 {
        let mut f = new_file(
            ws.id(),
            (i % 2 == 0).then_some(r.id),
            &format!("doc {i}.pdf"),
        );
        f.uploaded_by = Uploader::Member { id: ws.owner.id };
        f.visibility = if i == 0 {
            Visibility::Shared
        } else {
            Visibility::Internal
        };
        f.sha256 = (i != 4).then(|| format!("{i:02}").repeat(32));
        let (written, _) = store
            .insert_file(f.clone(), actor, now())
            .await
            .expect("insert a file");
        assert_eq!(written, f);
        stored.push(f);
    }
    let first = &stored[0];
    assert_eq!(
        store.get_file(ws.id(), first.id).await.unwrap().as_ref(),
        Some(first)
    );
    assert_eq!(
        store.file_by_id(first.id).await.unwrap().as_ref(),
        Some(first)
    );
    assert!(
        store
            .get_file(other.id(), first.id)
            .await
            .unwrap()
            .is_none(),
        "another workspace's file is not found"
    );
    assert!(store
        .get_file(ws.id(), FileId::new())
        .await
        .unwrap()
        .is_none());
    assert!(store.file_by_id(FileId::new()).await.unwrap().is_none());

    let all = store.list_files(ws.id(), None, None, 100).await.unwrap();
    assert_eq!(all, stored, "every file, oldest first, as written");
    let attached = store
        .list_files(ws.id(), Some(r.id), None, 100)
        .await
        .unwrap();
    let ids: Vec<FileId> = attached.iter().map(|f| f.id).collect();
    assert_eq!(ids, [stored[0].id, stored[2].id, stored[4].id]);
    let page = store.list_files(ws.id(), None, None, 2).await.unwrap();
    assert_eq!(page, stored[..2]);
    let rest = store
        .list_files(ws.id(), None, Some(page[1].id), 10)
        .await
        .unwrap();
    assert_eq!(rest, stored[2..]);
    assert!(store
        .list_files(other.id(), None, None, 100)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .list_files(other.id(), Some(r.id), None, 100)
        .await
        .unwrap()
        .is_empty());

    // A file can be attached only to a request of its own workspace.
    let foreign = file_request(&*store, &other.owner_principal(), titled("theirs")).await;
    let err = store
        .insert_file(new_file(ws.id(), Some(foreign.id), "x.pdf"), actor, now())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Domain(DomainError::NotFound(_))),
        "{err:?}"
    );
    assert_eq!(
        store
            .list_files(ws.id(), None, None, 100)
            .await
            .unwrap()
            .len(),
        5
    );
}

pub async fn attaching_and_detaching_files_is_recorded_on_the_request(store: Arc<dyn Store>) {
    let ws = create_workspace(&*store, "attach").await;
    let other = create_workspace(&*store, "attach-other").await;
    let p = ws.owner_principal();
    let actor = actor_of(&p);
    let r = file_request(&*store, &p, titled("attach here")).await;
    let second = file_request(&*store, &p, titled("not here")).await;

    // Uploaded straight onto the request: one write, one event, one new version.
    let onto = new_file(ws.id(), Some(r.id), "onto.pdf");
    let (file, event) = store.insert_file(onto.clone(), actor, now()).await.unwrap();
    assert_eq!(file.request_id, Some(r.id));
    let event = event.expect("attaching writes an event");
    assert_eq!(event.kind, EventKind::Updated);
    assert_eq!(event.actor, actor);
    assert_eq!(event.changes.len(), 1);
    assert_eq!(event.changes[0].field, "files");
    assert_eq!(event.changes[0].old, serde_json::Value::Null);
    assert_eq!(
        event.changes[0].new,
        serde_json::json!({"id": onto.id, "name": "onto.pdf", "size": 1234, "content_type": "application/pdf"})
    );
    let after = store.get_request(ws.id(), r.id).await.unwrap().unwrap();
    assert_eq!(after.version, r.version + 1);

    // An unattached file attached later.
    let loose = new_file(ws.id(), None, "loose.png");
    let (_, none) = store
        .insert_file(loose.clone(), actor, now())
        .await
        .unwrap();
    assert!(none.is_none(), "an unattached file changes no request");
    let (file, event) = store
        .attach_file(ws.id(), loose.id, r.id, actor, now())
        .await
        .unwrap();
    assert_eq!(file.request_id, Some(r.id));
    assert!(event.is_some());
    assert_eq!(
        store
            .get_file(ws.id(), loose.id)
            .await
            .unwrap()
            .unwrap()
            .request_id,
        Some(r.id)
    );
    assert_eq!(
        store
            .get_request(ws.id(), r.id)
            .await
            .unwrap()
            .unwrap()
            .version,
        r.version + 2
    );

    // Attaching again to the same request changes nothing; to another is a conflict.
    let (_, again) = store
        .attach_file(ws.id(), loose.id, r.id, actor, now())
        .await
        .unwrap();
    assert!(again.is_none());
    expect_conflict(
        store
            .attach_file(ws.id(), loose.id, second.id, actor, now())
            .await,
        "file_attached",
        "attaching a file attached elsewhere",
    );
    expect_not_found(
        store
            .attach_file(other.id(), loose.id, r.id, actor, now())
            .await,
        "attaching another workspace's file",
    );
    expect_not_found(
        store
            .attach_file(ws.id(), FileId::new(), r.id, actor, now())
            .await,
        "attaching a missing file",
    );
    expect_not_found(
        store
            .attach_file(ws.id(), loose.id, RequestId::new(), actor, now())
            .await,
        "attaching to a missing request",
    );

    // Detaching records the file leaving, and leaves the file.
    let (file, event) = store
        .detach_file(ws.id(), loose.id, actor, now())
        .await
        .unwrap();
    assert_eq!(file.request_id, None);
    let event = event.expect("detaching writes an event");
    assert_eq!(event.changes[0].new, serde_json::Value::Null);
    assert_eq!(event.changes[0].old["name"], "loose.png");
    let (_, none) = store
        .detach_file(ws.id(), loose.id, actor, now())
        .await
        .unwrap();
    assert!(
        none.is_none(),
        "detaching an unattached file changes nothing"
    );
    assert_eq!(
        store
            .get_request(ws.id(), r.id)
            .await
            .unwrap()
            .unwrap()
            .version,
        r.version + 3
    );
    expect_not_found(
        store.detach_file(other.id(), onto.id, actor, now()).await,
        "detaching another workspace's file",
    );
    assert_eq!(
        file_changes(&*store, ws.id(), r.id).await,
        [
            (String::new(), onto.id.to_string()),
            (String::new(), loose.id.to_string()),
            (loose.id.to_string(), String::new()),
        ]
    );

    // A deleted request takes no new files.
    let q = p.clone();
    store
        .change_request(
            ws.id(),
            second.id,
            Box::new(move |c, _| plan_delete(&q, c, None, now()).map(Some)),
        )
        .await
        .unwrap();
    let err = store
        .attach_file(ws.id(), loose.id, second.id, actor, now())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Domain(DomainError::Gone)),
        "{err:?}"
    );
    let err = store
        .insert_file(new_file(ws.id(), Some(second.id), "late.pdf"), actor, now())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Domain(DomainError::Gone)),
        "{err:?}"
    );
    assert_eq!(
        store
            .list_files(ws.id(), None, None, 100)
            .await
            .unwrap()
            .len(),
        2,
        "a refused upload stores no record"
    );
    assert!(store
        .get_file(ws.id(), loose.id)
        .await
        .unwrap()
        .unwrap()
        .request_id
        .is_none());
}

pub async fn deleting_a_file_records_it_on_its_request(store: Arc<dyn Store>) {
    let ws = create_workspace(&*store, "delete-file").await;
    let other = create_workspace(&*store, "delete-file-other").await;
    let p = ws.owner_principal();
    let actor = actor_of(&p);
    let r = file_request(&*store, &p, titled("files leave")).await;
    let attached = new_file(ws.id(), Some(r.id), "attached.pdf");
    store
        .insert_file(attached.clone(), actor, now())
        .await
        .unwrap();
    let loose = new_file(ws.id(), None, "loose.pdf");
    store
        .insert_file(loose.clone(), actor, now())
        .await
        .unwrap();

    expect_not_found(
        store
            .delete_file(other.id(), attached.id, actor, now())
            .await,
        "deleting another workspace's file",
    );
    let (gone, event) = store
        .delete_file(ws.id(), attached.id, actor, now())
        .await
        .unwrap();
    assert_eq!(gone, attached);
    let event = event.expect("deleting an attached file writes an event");
    assert_eq!(event.request_id, r.id);
    assert_eq!(event.changes[0].old["id"], serde_json::json!(attached.id));
    assert_eq!(event.changes[0].new, serde_json::Value::Null);
    assert!(store
        .get_file(ws.id(), attached.id)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store
            .get_request(ws.id(), r.id)
            .await
            .unwrap()
            .unwrap()
            .version,
        r.version + 2
    );

    let (_, none) = store
        .delete_file(ws.id(), loose.id, actor, now())
        .await
        .unwrap();
    assert!(none.is_none());
    expect_not_found(
        store.delete_file(ws.id(), loose.id, actor, now()).await,
        "deleting twice",
    );
    assert!(store
        .list_files(ws.id(), None, None, 100)
        .await
        .unwrap()
        .is_empty());

    // A deleted request keeps its timeline, and records its files leaving.
    let kept = new_file(ws.id(), Some(r.id), "kept.pdf");
    store.insert_file(kept.clone(), actor, now()).await.unwrap();
    let q = p.clone();
    store
        .change_request(
            ws.id(),
            r.id,
            Box::new(move |c, _| plan_delete(&q, c, None, now()).map(Some)),
        )
        .await
        .unwrap();
    let (_, event) = store
        .delete_file(ws.id(), kept.id, actor, now())
        .await
        .unwrap();
    assert!(event.is_some());
    assert_eq!(file_changes(&*store, ws.id(), r.id).await.len(), 4);
}

pub async fn file_policies_are_set_per_workspace(store: Arc<dyn Store>) {
    let ws = create_workspace(&*store, "policy").await;
    let other = create_workspace(&*store, "policy-other").await;
    assert_eq!(store.file_policy(ws.id()).await.unwrap(), None);
    let policy = FilePolicy::new(1024, vec!["image/*".into(), "application/pdf".into()]).unwrap();
    store
        .set_file_policy(ws.id(), policy.clone(), now())
        .await
        .unwrap();
    assert_eq!(store.file_policy(ws.id()).await.unwrap(), Some(policy));
    assert_eq!(store.file_policy(other.id()).await.unwrap(), None);
    let replaced = FilePolicy::new(7, vec![]).unwrap();
    store
        .set_file_policy(ws.id(), replaced.clone(), now())
        .await
        .unwrap();
    assert_eq!(store.file_policy(ws.id()).await.unwrap(), Some(replaced));
    expect_not_found(
        store
            .set_file_policy(WorkspaceId::new(), FilePolicy::default(), now())
            .await,
        "a policy for no workspace",
    );
}

pub async fn server_secrets_are_made_once_and_shared(store: Arc<dyn Store>) {
    let name = unique_slug("secret");
    let first = store
        .server_secret(&name, vec![1; 32], now())
        .await
        .unwrap();
    assert_eq!(first, vec![1; 32]);
    let again = store
        .server_secret(&name, vec![2; 32], now())
        .await
        .unwrap();
    assert_eq!(again, first, "the first value stays");
    let racing = unique_slug("secret");
    let mut tasks = Vec::new();
    for i in 0..8u8 {
        let store = store.clone();
        let name = racing.clone();
        tasks.push(tokio::spawn(async move {
            store.server_secret(&name, vec![i; 32], now()).await
        }));
    }
    let mut seen = HashSet::new();
    for t in tasks {
        seen.insert(t.await.expect("the task runs").expect("read the secret"));
    }
    assert_eq!(seen.len(), 1, "every caller gets the same secret");
}

pub async fn a_link_use_stores_its_files_in_the_same_write(store: Arc<dyn Store>) {
    let ws = create_workspace(&*store, "link-files").await;
    let (request, link) = gipper_request(
        &*store,
        &ws,
        NewLink {
            mode: LinkMode::OneTime,
            expires_at: None,
        },
    )
    .await;
    let media = |name: &str| {
        let mut f = new_file(ws.id(), Some(request.id), name);
        f.storage_key = format!("uploads/{name}");
        f.sha256 = None;
        f.uploaded_by = Uploader::Link { id: link.id };
        f.visibility = Visibility::Shared;
        f
    };
    let files = vec![media("a.png"), media("b.mp4")];
    let recorded = files.clone();
    let (_, after, event) = store
        .use_link_with_files(
            &link.token,
            files.clone(),
            Box::new(move |l, r, t| {
                let (mut planned, used) = plan_link_use(l, r, &t.workflow, completion(), now())?;
                planned
                    .event
                    .changes
                    .extend(recorded.iter().map(attached_change));
                Ok((planned, used))
            }),
        )
        .await
        .expect("a completion with files");
    assert_eq!(after.status.as_str(), "completed");
    assert_eq!(
        event.changes.iter().filter(|c| c.field == "files").count(),
        2
    );
    let listed = store
        .list_files(ws.id(), Some(request.id), None, 10)
        .await
        .unwrap();
    assert_eq!(listed, files);
    assert!(
        !listed[0].owns_object(),
        "an object put in the bucket by someone else"
    );

    // A refused use (the one-time link is used) stores none of its files.
    let refused = store
        .use_link_with_files(
            &link.token,
            vec![media("c.png")],
            Box::new(|l, r, t| plan_link_use(l, r, &t.workflow, completion(), now())),
        )
        .await;
    assert!(refused.is_err());
    assert_eq!(
        store
            .list_files(ws.id(), None, None, 10)
            .await
            .unwrap()
            .len(),
        2
    );
}
