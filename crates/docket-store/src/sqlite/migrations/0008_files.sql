-- Files: the records of stored files. The bytes live in the blob store (a directory or an
-- S3 bucket) under `storage_key`; the name is a sanitised label and never a path.
create table files (
    id text primary key,
    workspace_id text not null references workspaces (id),
    request_id text references requests (id),
    name text not null,
    content_type text not null,
    size integer not null,
    -- Hex SHA-256; null for an object Docket did not receive itself (Gipper's media).
    sha256 text,
    uploaded_by_kind text not null check (uploaded_by_kind in ('member', 'link', 'system')),
    uploaded_by_id text,
    visibility text not null check (visibility in ('internal', 'shared')),
    storage_key text not null,
    created_at integer not null
);
create index files_by_workspace on files (workspace_id, id);
create index files_by_request on files (workspace_id, request_id, id) where request_id is not null;

-- A workspace's file policy; a workspace without a row has the default.
create table file_policies (
    workspace_id text primary key references workspaces (id),
    max_bytes integer not null,
    allowed_types text not null,
    updated_at integer not null
);

-- Secrets of the deployment, made once and shared by every node (the key download URLs
-- are signed with).
create table server_secrets (
    name text primary key,
    value blob not null,
    created_at integer not null
);
