-- The product APIs list one request type (Collect: its campaigns) in creation order; with
-- this index those lists read only that type's requests, however many others the
-- workspace holds (before it, a product list scanned the workspace's requests).
create index requests_by_type_created on requests (workspace_id, type_key, created_at, id);
