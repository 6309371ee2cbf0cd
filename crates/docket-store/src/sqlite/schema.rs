//! The SQLite schema: the migrations in order, and bringing a database up to date on open.

use rusqlite::Connection;

/// Migrations in order; `PRAGMA user_version` records how many have been applied.
/// Never edit one that has landed: add the next.
pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_replay_headers_lean_indexes.sql"),
    include_str!("migrations/0003_webhooks.sql"),
    include_str!("migrations/0004_due_notices.sql"),
    include_str!("migrations/0005_email.sql"),
    include_str!("migrations/0006_request_links.sql"),
    include_str!("migrations/0007_external_keys.sql"),
    include_str!("migrations/0008_files.sql"),
    include_str!("migrations/0009_desk.sql"),
    include_str!("migrations/0010_fts_update_columns.sql"),
    include_str!("migrations/0011_mail_flag.sql"),
    include_str!("migrations/0012_storyden_visibility.sql"),
    include_str!("migrations/0013_requests_by_type.sql"),
    include_str!("migrations/0014_items.sql"),
];

pub(super) fn migrate(conn: &Connection) -> anyhow::Result<()> {
    let applied: usize = conn.query_row("pragma user_version", [], |r| r.get(0))?;
    if applied > MIGRATIONS.len() {
        anyhow::bail!("the database schema (version {applied}) is newer than this docket ({}); upgrade docket", MIGRATIONS.len());
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let version = i + 1;
        conn.execute_batch(&format!(
            "begin immediate; {sql}\n; pragma user_version = {version}; commit;"
        ))?;
        tracing::info!(version, "applied sqlite migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{migrate, MIGRATIONS};
    use rusqlite::{params, Connection};

    /// A database at the schema before the email flag, holding events 1-3 (with foreign
    /// keys off, so no parent rows are needed), with the email cursor at `cursor` if any;
    /// then the flag's migration. Returns the flagged seqs.
    fn flagged_after_upgrade(cursor: Option<i64>) -> Vec<i64> {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch("pragma foreign_keys = off")
            .expect("foreign keys off");
        let before_flag = MIGRATIONS
            .iter()
            .position(|m| m.contains("add column mail"))
            .expect("the flag's migration");
        for sql in &MIGRATIONS[..before_flag] {
            conn.execute_batch(sql).expect("an earlier migration");
        }
        conn.execute_batch(&format!("pragma user_version = {before_flag}"))
            .expect("version");
        for seq in 1..=3 {
            conn.execute(
                "insert into events (seq, id, workspace_id, request_id, kind, at, changes)
                 values (?1, ?2, 'w', 'r', 'request.updated', 0, '[]')",
                params![seq, format!("e{seq}")],
            )
            .expect("an event");
        }
        if let Some(seq) = cursor {
            conn.execute(
                "insert into outbox_cursors (name, seq) values ('email', ?1)",
                [seq],
            )
            .expect("the cursor");
        }
        migrate(&conn).expect("upgrade");
        let mut stmt = conn
            .prepare("select seq from events where mail = 1 order by seq")
            .expect("query");
        let seqs = stmt.query_map([], |r| r.get(0)).expect("rows");
        seqs.collect::<rusqlite::Result<_>>().expect("seqs")
    }

    #[test]
    fn upgrading_flags_the_events_the_email_planner_has_not_reached() {
        assert_eq!(flagged_after_upgrade(Some(1)), [2, 3]);
        assert_eq!(
            flagged_after_upgrade(None),
            Vec::<i64>::new(),
            "a planner without a cursor starts after the newest event"
        );
    }
}
