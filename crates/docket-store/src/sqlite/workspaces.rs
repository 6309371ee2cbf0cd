//! Workspaces in SQLite: creating one with its built-in request type, its owner and the
//! owner's token, and finding them.

use super::errors::{conflict, is_unique_violation};
use super::members::{insert_member_row, insert_token_row};
use super::rows::{micros, workspace_from_row};
use super::types::insert_request_type_row;
use crate::Result;
use docket_domain::ids::WorkspaceId;
use docket_domain::member::Member;
use docket_domain::request::RequestType;
use docket_domain::token::Token;
use docket_domain::workspace::Workspace;
use rusqlite::{params, Connection, OptionalExtension};

/// See [`crate::Store::create_workspace`]. Runs on the writer.
pub(super) fn create_workspace(
    c: &Connection,
    workspace: Workspace,
    owner: Member,
    token: Token,
) -> Result<()> {
    c.prepare_cached(
        "insert into workspaces (id, name, slug, created_at) values (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        workspace.id.to_string(),
        workspace.name,
        workspace.slug,
        micros(workspace.created_at)
    ])
    .map_err(|e| {
        if is_unique_violation(&e) {
            conflict(
                "slug_taken",
                format!("a workspace with slug {} exists", workspace.slug),
            )
        } else {
            e.into()
        }
    })?;
    let general = RequestType::general(workspace.id, workspace.created_at);
    insert_request_type_row(c, &general)?;
    insert_member_row(c, &owner)?;
    insert_token_row(c, &token)
}

pub(super) fn list_workspaces(c: &Connection) -> Result<Vec<Workspace>> {
    let mut stmt = c.prepare_cached(
        "select id, name, slug, created_at from workspaces order by created_at, id",
    )?;
    let rows = stmt.query_map([], workspace_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn workspace_by_slug(c: &Connection, slug: &str) -> Result<Option<Workspace>> {
    Ok(
        c.prepare_cached("select id, name, slug, created_at from workspaces where slug = ?1")?
            .query_row([slug], workspace_from_row)
            .optional()?,
    )
}

pub(super) fn get_workspace(c: &Connection, ws: WorkspaceId) -> Result<Option<Workspace>> {
    Ok(
        c.prepare_cached("select id, name, slug, created_at from workspaces where id = ?1")?
            .query_row([ws.to_string()], workspace_from_row)
            .optional()?,
    )
}
