-- Everything the SQLite migrations 0002-0007 added, for PostgreSQL, in one step.

-- Replayed responses keep the headers a client acts on (Location, ETag), as a JSON
-- array of [name, value] pairs.
alter table idempotency_keys add column headers json;

-- Webhook subscriptions and their deliveries. The events table is the outbox: each
-- webhook keeps `cursor_seq`, the last event turned into deliveries for it. Events
-- become visible in `seq` order (see `insert_event`), so a cursor never skips one.
create table webhooks (
    id uuid primary key,
    workspace_id uuid not null references workspaces (id),
    url text not null,
    event_types json not null,
    description text not null,
    state text not null check (state in ('active', 'paused')),
    paused_reason text,
    secret text not null,
    cursor_seq bigint not null,
    created_at bigint not null,
    updated_at bigint not null
);
create index webhooks_by_workspace on webhooks (workspace_id, created_at);

-- Attempts are a JSON array on the delivery: a delivery has at most a dozen.
create table webhook_deliveries (
    id uuid primary key,
    webhook_id uuid not null references webhooks (id) on delete cascade,
    workspace_id uuid not null,
    event_seq bigint not null,
    event_id uuid not null,
    event_type text not null,
    request_id uuid not null,
    state text not null check (state in ('pending', 'delivered', 'failed')),
    attempts json not null,
    next_attempt_at bigint,
    created_at bigint not null
);
create index deliveries_due on webhook_deliveries (state, next_attempt_at);
create index deliveries_in_order on webhook_deliveries (webhook_id, request_id, state, event_seq);
create index deliveries_by_webhook on webhook_deliveries (webhook_id, id);

-- Overdue and reminder notices already sent, once per request, due time and kind
-- ('overdue' or 'reminder:<minutes>'), whichever node gets there first.
create table request_notices (
    request_id uuid not null references requests (id),
    due_at bigint not null,
    kind text not null,
    created_at bigint not null,
    primary key (request_id, due_at, kind)
);
-- The scheduler's scan: unfinished, live requests by due time.
create index requests_due_open on requests (due_at, id)
    where deleted_at is null and due_at is not null and category in ('open', 'in_progress', 'waiting');

-- Cursors of outbox consumers that read the events table as a whole (the email planner).
create table outbox_cursors (
    name text primary key,
    seq bigint not null
);

-- Emails rendered from events, sent by the mail worker.
create table emails (
    id text primary key,
    workspace_id uuid not null references workspaces (id),
    request_id uuid not null references requests (id),
    event_id uuid not null,
    recipient text not null,
    subject text not null,
    body text not null,
    state text not null check (state in ('pending', 'sent', 'failed')),
    attempts integer not null,
    last_error text,
    next_attempt_at bigint,
    created_at bigint not null,
    sent_at bigint
);
create index emails_due on emails (state, next_attempt_at);
create index emails_by_request on emails (request_id, created_at);

-- A workspace's overrides of the shipped templates.
create table email_templates (
    workspace_id uuid not null references workspaces (id),
    name text not null,
    subject text not null,
    body text not null,
    updated_at bigint not null,
    primary key (workspace_id, name)
);

-- Public links: a token that lets an outside recipient act on one request. The token is
-- kept as is (not hashed) because the owner is shown the link again.
create table request_links (
    id uuid primary key,
    workspace_id uuid not null references workspaces (id),
    request_id uuid not null references requests (id),
    token text not null unique,
    mode text not null check (mode in ('one_time', 'multi_use')),
    expires_at bigint,
    revoked_at bigint,
    used_count bigint not null default 0,
    created_at bigint not null
);
create index request_links_by_request on request_links (workspace_id, request_id, created_at);

-- External keys: a name a client gave a request (Open Notes' `request_id`), unique per
-- workspace and key space, so "create unless it exists" is one atomic insert.
create table request_external_keys (
    workspace_id uuid not null references workspaces (id),
    key_space text not null,
    key text not null,
    request_id uuid not null references requests (id),
    primary key (workspace_id, key_space, key)
);
create index request_external_keys_by_request on request_external_keys (request_id);
