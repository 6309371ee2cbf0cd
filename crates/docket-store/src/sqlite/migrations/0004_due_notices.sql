-- Overdue and reminder notices already sent, once per request, due time and kind
-- ('overdue' or 'reminder:<minutes>'), whichever node gets there first.
create table request_notices (
    request_id text not null references requests (id),
    due_at integer not null,
    kind text not null,
    created_at integer not null,
    primary key (request_id, due_at, kind)
);
-- The scheduler's scan: unfinished, live requests by due time.
create index requests_due_open on requests (due_at)
    where deleted_at is null and due_at is not null and category in ('open', 'in_progress', 'waiting');
