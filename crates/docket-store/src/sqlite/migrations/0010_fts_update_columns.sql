-- The search index's update trigger fires only when a searched column is named in the
-- update. Before, it fired on every update (its WHEN clause then skipped the work), and
-- a trigger on the statement alone makes SQLite keep a statement journal and open
-- savepoints on the search index for every status change.
drop trigger requests_fts_update;
create trigger requests_fts_update after update of title, description, data on requests
when old.title is not new.title or old.description is not new.description or old.data is not new.data
begin
    insert into requests_fts (requests_fts, rowid, title, description, data)
    values ('delete', old.rowid, old.title, old.description, old.data);
    insert into requests_fts (rowid, title, description, data)
    values (new.rowid, new.title, new.description, new.data);
end;
