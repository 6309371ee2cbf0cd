-- Events the email planner must look at, flagged when written (see
-- `docket_domain::email::worth_planning`), so a pass reads only those instead of every
-- event: most events (status changes no workflow emails about) send nothing. Events
-- written before this migration and not yet planned are all flagged: the planner still
-- decides for each, as it did before.
alter table events add column mail integer not null default 0;
update events set mail = 1 where seq > (select seq from outbox_cursors where name = 'email');
create index events_for_mail on events (seq) where mail = 1;
