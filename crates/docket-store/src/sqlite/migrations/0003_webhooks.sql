-- Webhook subscriptions and their deliveries. The events table is the outbox: each
-- webhook keeps `cursor_seq`, the last event turned into deliveries for it.
create table webhooks (
    id text primary key,
    workspace_id text not null references workspaces (id),
    url text not null,
    event_types text not null,
    description text not null,
    state text not null check (state in ('active', 'paused')),
    paused_reason text,
    secret text not null,
    cursor_seq integer not null,
    created_at integer not null,
    updated_at integer not null
);
create index webhooks_by_workspace on webhooks (workspace_id, created_at);

-- Attempts are a JSON array on the delivery: a delivery has at most a dozen.
create table webhook_deliveries (
    id text primary key,
    webhook_id text not null references webhooks (id) on delete cascade,
    workspace_id text not null,
    event_seq integer not null,
    event_id text not null,
    event_type text not null,
    request_id text not null,
    state text not null check (state in ('pending', 'delivered', 'failed')),
    attempts text not null,
    next_attempt_at integer,
    created_at integer not null
);
create index deliveries_due on webhook_deliveries (state, next_attempt_at);
create index deliveries_in_order on webhook_deliveries (webhook_id, request_id, state, event_seq);
create index deliveries_by_webhook on webhook_deliveries (webhook_id, id);
