-- Events the email planner must look at, flagged when written (see
-- `docket_domain::email::worth_planning`), so a pass reads only those instead of every
-- event: most events (status changes no workflow emails about) send nothing. The default
-- is "may send": during a rolling upgrade, nodes still running the old version write
-- events without naming the column, and those must be planned. Events the planner has
-- already passed (or, with no cursor yet, will start after) are cleared, which keeps them
-- out of the index; the rest stay flagged and are planned as before.
alter table events add column mail boolean not null default true;
update events set mail = false
where seq <= coalesce((select seq from outbox_cursors where name = 'email'),
                      (select coalesce(max(seq), 0) from events));
create index events_for_mail on events (seq) where mail;
