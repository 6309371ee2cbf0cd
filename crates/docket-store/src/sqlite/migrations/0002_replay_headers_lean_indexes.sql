-- Replayed responses keep the headers a client acts on (Location, ETag), as a JSON
-- array of [name, value] pairs.
alter table idempotency_keys add column headers text;

-- Every status change rewrote an entry in this index; the one query that used it (may a
-- workflow drop a status?) now asks (workspace_id, status), which requests_by_status
-- already serves.
drop index requests_by_type_status;
