-- Web desk sign-in: member passwords (argon2id hashes) and browser sessions.
alter table members add column password_hash text;
create index members_by_email on members (email);

create table sessions (
    hash blob primary key,
    workspace_id text not null references workspaces (id),
    member_id text not null,
    csrf text not null,
    created_at integer not null,
    expires_at integer not null,
    foreign key (workspace_id, member_id) references members (workspace_id, id)
);
create index sessions_by_member on sessions (member_id);
