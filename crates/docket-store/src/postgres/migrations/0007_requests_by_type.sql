-- The product APIs list one request type (Collect: its campaigns) by creation time or,
-- Storyden, by last change; with these indexes those lists read only that type's
-- requests, however many others the workspace holds (before them, a product list scanned
-- the workspace's requests).
create index requests_by_type_created on requests (workspace_id, type_key, created_at, id);
create index requests_by_type_updated on requests (workspace_id, type_key, updated_at, id);
