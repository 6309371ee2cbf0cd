-- Public links: a token that lets an outside recipient act on one request.
-- The token is kept as is (not hashed) because the owner is shown the link again.
create table request_links (
    id text primary key,
    workspace_id text not null references workspaces (id),
    request_id text not null references requests (id),
    token text not null unique,
    mode text not null check (mode in ('one_time', 'multi_use')),
    expires_at integer,
    revoked_at integer,
    used_count integer not null default 0,
    created_at integer not null
);
create index request_links_by_request on request_links (workspace_id, request_id, created_at);
