-- Cursors of outbox consumers that read the events table as a whole (the email planner).
create table outbox_cursors (
    name text primary key,
    seq integer not null
);

-- Emails rendered from events, sent by the mail worker.
create table emails (
    id text primary key,
    workspace_id text not null references workspaces (id),
    request_id text not null references requests (id),
    event_id text not null,
    recipient text not null,
    subject text not null,
    body text not null,
    state text not null check (state in ('pending', 'sent', 'failed')),
    attempts integer not null,
    last_error text,
    next_attempt_at integer,
    created_at integer not null,
    sent_at integer
);
create index emails_due on emails (state, next_attempt_at);
create index emails_by_request on emails (request_id, created_at);

-- A workspace's overrides of the shipped templates.
create table email_templates (
    workspace_id text not null references workspaces (id),
    name text not null,
    subject text not null,
    body text not null,
    updated_at integer not null,
    primary key (workspace_id, name)
);
