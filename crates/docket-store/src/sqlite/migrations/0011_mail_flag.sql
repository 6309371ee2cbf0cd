-- Events the email planner must look at, flagged when written (see
-- `docket_domain::email::worth_planning`), so a pass reads only those instead of every
-- event: most events (status changes no workflow emails about) send nothing. The default
-- is "may send", so a writer that does not name the column errs towards planning. Events
-- the planner has already passed (or, with no cursor yet, will start after) are cleared,
-- which keeps them out of the index; the rest stay flagged and are planned as before.
alter table events add column mail integer not null default 1;
update events set mail = 0
where seq <= coalesce((select seq from outbox_cursors where name = 'email'),
                      (select coalesce(max(seq), 0) from events));
create index events_for_mail on events (seq) where mail = 1;
