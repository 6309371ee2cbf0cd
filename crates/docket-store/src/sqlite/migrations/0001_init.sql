-- Docket's SQLite schema, version 1. Timestamps are microseconds since the epoch (UTC);
-- ids are UUID text; JSON columns hold validated domain values.

create table workspaces (
    id text primary key,
    name text not null,
    slug text not null unique,
    next_request_number integer not null default 1,
    created_at integer not null
);

create table members (
    id text primary key,
    workspace_id text not null references workspaces (id),
    email text not null,
    name text not null,
    role text not null check (role in ('owner', 'admin', 'moderator', 'member')),
    created_at integer not null,
    unique (workspace_id, email),
    unique (workspace_id, id)
);

create table tokens (
    id text primary key,
    workspace_id text not null references workspaces (id),
    member_id text,
    name text not null,
    hash blob not null unique,
    scopes text not null,
    expires_at integer,
    last_used_at integer,
    revoked_at integer,
    created_at integer not null,
    foreign key (workspace_id, member_id) references members (workspace_id, id)
);
create index tokens_by_member on tokens (workspace_id, member_id);

create table request_types (
    id text primary key,
    workspace_id text not null references workspaces (id),
    key text not null,
    name text not null,
    description text not null,
    workflow text not null,
    created_at integer not null,
    updated_at integer not null,
    unique (workspace_id, key),
    unique (workspace_id, id)
);

create table requests (
    id text primary key,
    workspace_id text not null references workspaces (id),
    number integer not null,
    type_id text not null,
    type_key text not null,
    title text not null,
    description text not null,
    status text not null,
    category text not null,
    requester_id text,
    assignee_id text,
    due_at integer,
    data text not null,
    tags text not null,
    subject_kind text,
    subject_id text,
    version integer not null,
    created_at integer not null,
    updated_at integer not null,
    deleted_at integer,
    unique (workspace_id, number),
    foreign key (workspace_id, type_id) references request_types (workspace_id, id),
    foreign key (workspace_id, requester_id) references members (workspace_id, id),
    foreign key (workspace_id, assignee_id) references members (workspace_id, id)
);
create index requests_by_created on requests (workspace_id, created_at, id);
create index requests_by_updated on requests (workspace_id, updated_at, id);
create index requests_by_due on requests (workspace_id, coalesce(due_at, 9223372036854775807), id);
create index requests_by_status on requests (workspace_id, status);
create index requests_by_assignee on requests (workspace_id, assignee_id);
create index requests_by_type_status on requests (type_id, status);

-- Full-text index over what people search: title, description and custom data.
create virtual table requests_fts using fts5 (
    title, description, data,
    content = 'requests', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);
create trigger requests_fts_insert after insert on requests begin
    insert into requests_fts (rowid, title, description, data)
    values (new.rowid, new.title, new.description, new.data);
end;
create trigger requests_fts_delete after delete on requests begin
    insert into requests_fts (requests_fts, rowid, title, description, data)
    values ('delete', old.rowid, old.title, old.description, old.data);
end;
-- Only when searchable text changed, so a status change does not rewrite the index.
create trigger requests_fts_update after update on requests
when old.title is not new.title or old.description is not new.description or old.data is not new.data
begin
    insert into requests_fts (requests_fts, rowid, title, description, data)
    values ('delete', old.rowid, old.title, old.description, old.data);
    insert into requests_fts (rowid, title, description, data)
    values (new.rowid, new.title, new.description, new.data);
end;

-- seq is the rowid: events are never deleted, so it only grows (no AUTOINCREMENT, which
-- would rewrite sqlite_sequence on every insert).
create table events (
    seq integer primary key,
    id text not null unique,
    workspace_id text not null references workspaces (id),
    request_id text not null references requests (id),
    kind text not null,
    actor_member_id text,
    actor_token_id text,
    at integer not null,
    changes text not null,
    comment text
);
create index events_by_request on events (request_id, seq);
create index events_by_workspace on events (workspace_id, seq);

create table idempotency_keys (
    scope blob not null,
    key text not null,
    fingerprint blob not null,
    status integer,
    content_type text,
    body blob,
    created_at integer not null,
    primary key (scope, key)
);
