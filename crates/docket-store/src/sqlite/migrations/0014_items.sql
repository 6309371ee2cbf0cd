-- Requested items (docket_domain::item): a request type's template, each request's own
-- items, every submission to them, and the request's progress in numbers (written with
-- every item change, so lists show and filter by it without reading the items).
alter table request_types add column items text not null default '[]';
alter table requests add column items_total integer not null default 0;
alter table requests add column items_required integer not null default 0;
alter table requests add column items_submitted integer not null default 0;
alter table requests add column items_approved integer not null default 0;
alter table requests add column items_rejected integer not null default 0;
alter table requests add column items_required_answered integer not null default 0;
alter table requests add column items_required_approved integer not null default 0;

-- One item of one request: the columns a read orders or finds by, the rest (definition,
-- state, current answer) as the item's JSON.
create table request_items (
    id text primary key,
    workspace_id text not null references workspaces (id),
    request_id text not null references requests (id),
    position integer not null,
    body text not null
);
create index request_items_by_request on request_items (request_id, position);

-- Every submission, kept after its item is removed (the history of the request).
create table item_submissions (
    id text primary key,
    workspace_id text not null references workspaces (id),
    request_id text not null references requests (id),
    item_id text not null,
    number integer not null,
    body text not null
);
create index item_submissions_by_item on item_submissions (item_id, number);
