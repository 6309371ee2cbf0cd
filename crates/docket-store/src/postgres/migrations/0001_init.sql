-- Docket's PostgreSQL schema, version 1. It mirrors the SQLite schema so both backends
-- behave alike: timestamps are microseconds since the epoch (UTC) as bigint, which is
-- also the keyset cursor's sort key; ids are uuid (ordered like their text form); JSON
-- columns hold validated domain values as `json` (kept as written, key order included),
-- except `tags`, which is `jsonb` so the tag filter can use `?`.

create table workspaces (
    id uuid primary key,
    name text not null,
    slug text not null unique,
    -- The next request number; `update ... returning` inside the create transaction
    -- serialises creates per workspace, across every node.
    next_request_number bigint not null default 1,
    created_at bigint not null
);

create table members (
    id uuid primary key,
    workspace_id uuid not null references workspaces (id),
    email text not null,
    name text not null,
    role text not null check (role in ('owner', 'admin', 'moderator', 'member')),
    created_at bigint not null,
    unique (workspace_id, email),
    unique (workspace_id, id)
);

create table tokens (
    id uuid primary key,
    workspace_id uuid not null references workspaces (id),
    member_id uuid,
    name text not null,
    hash bytea not null unique,
    scopes json not null,
    expires_at bigint,
    last_used_at bigint,
    revoked_at bigint,
    created_at bigint not null,
    foreign key (workspace_id, member_id) references members (workspace_id, id)
);
create index tokens_by_member on tokens (workspace_id, member_id);

create table request_types (
    id uuid primary key,
    workspace_id uuid not null references workspaces (id),
    key text not null,
    name text not null,
    description text not null,
    workflow json not null,
    created_at bigint not null,
    updated_at bigint not null,
    unique (workspace_id, key),
    unique (workspace_id, id)
);

-- Folds text for search as FTS5's `unicode61 remove_diacritics 2` does: accented Latin
-- letters to their base letter (a fixed table, so it does not depend on the server's
-- locale or on the unaccent extension), then lower case. Applied to the indexed text and
-- to the query alike.
create function docket_fold(text) returns text
language sql immutable strict parallel safe
return lower(translate($1,
    'ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžƠơƯưǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǠǡǦǧǨǩǪǫǬǭǰǴǵǸǹǺǻȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳ',
    'AAAAAACEEEEIIIINOOOOOUUUUYaaaaaaceeeeiiiinooooouuuuyyAaAaAaCcCcCcCcDdEeEeEeEeEeGgGgGgGgHhIiIiIiIiIJjKkLlLlLlNnNnNnOoOoOoRrRrRrSsSsSsSsTtTtUuUuUuUuUuUuWwYyYZzZzZzOoUuAaIiOoUuUuUuUuUuAaAaGgKkOoOojGgNnAaAaAaEeEeIiIiOoOoRrRrUuUuSsTtHhAaEeOoOoOoOoYy'));

create table requests (
    id uuid primary key,
    workspace_id uuid not null references workspaces (id),
    number bigint not null,
    type_id uuid not null,
    type_key text not null,
    title text not null,
    description text not null,
    status text not null,
    category text not null,
    requester_id uuid,
    assignee_id uuid,
    due_at bigint,
    data json not null,
    tags jsonb not null,
    subject_kind text,
    subject_id text,
    version bigint not null,
    created_at bigint not null,
    updated_at bigint not null,
    deleted_at bigint,
    -- What text search matches: title, description and custom data (keys and values,
    -- as SQLite's FTS5 table indexes the JSON text), split on every non-alphanumeric
    -- character and folded by docket_fold, as FTS5's unicode61 tokenizer does, so both
    -- backends find the same requests.
    search tsvector generated always as (
        to_tsvector('simple', docket_fold(regexp_replace(
            title || ' ' || description || ' ' || data::text, '[^[:alnum:]]+', ' ', 'g')))
    ) stored,
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
create index requests_search on requests using gin (search);

create table events (
    seq bigint generated always as identity primary key,
    id uuid not null unique,
    workspace_id uuid not null references workspaces (id),
    request_id uuid not null references requests (id),
    kind text not null,
    actor_member_id uuid,
    actor_token_id uuid,
    at bigint not null,
    changes json not null,
    comment text
);
create index events_by_request on events (request_id, seq);
create index events_by_workspace on events (workspace_id, seq);

create table idempotency_keys (
    scope bytea not null,
    key text not null,
    fingerprint bytea not null,
    status integer,
    content_type text,
    body bytea,
    created_at bigint not null,
    primary key (scope, key)
);
