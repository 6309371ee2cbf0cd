-- External keys: a name a client gave a request (Open Notes' `request_id`), unique per
-- workspace and key space, so "create unless it exists" is one atomic insert.

create table request_external_keys (
    workspace_id text not null references workspaces (id),
    key_space text not null,
    key text not null,
    request_id text not null references requests (id),
    primary key (workspace_id, key_space, key)
);
create index request_external_keys_by_request on request_external_keys (request_id);
