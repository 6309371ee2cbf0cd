-- Files: the records of stored files. The bytes live in the blob store (a directory or an
-- S3 bucket) under `storage_key`; the name is a sanitised label and never a path.
create table files (
    id uuid primary key,
    workspace_id uuid not null references workspaces (id),
    request_id uuid references requests (id),
    name text not null,
    content_type text not null,
    size bigint not null,
    -- Hex SHA-256; null for an object Docket did not receive itself (Gipper's media).
    sha256 text,
    uploaded_by_kind text not null check (uploaded_by_kind in ('member', 'link', 'system')),
    uploaded_by_id uuid,
    visibility text not null check (visibility in ('internal', 'shared')),
    storage_key text not null,
    created_at bigint not null
);
create index files_by_workspace on files (workspace_id, id);
create index files_by_request on files (workspace_id, request_id, id) where request_id is not null;

-- A workspace's file policy; a workspace without a row has the default.
create table file_policies (
    workspace_id uuid primary key references workspaces (id),
    max_bytes bigint not null,
    allowed_types json not null,
    updated_at bigint not null
);

-- Secrets of the deployment, made once and shared by every node (the key download URLs
-- are signed with).
create table server_secrets (
    name text primary key,
    value bytea not null,
    created_at bigint not null
);
