//! Workspaces in PostgreSQL: creating one with its built-in request type, its owner and
//! the owner's token in one transaction, and finding them.

use super::errors::unique_or;
use super::members::{insert_member_row, insert_token_row};
use super::rows::{micros, workspace_from_row, WORKSPACE_COLUMNS};
use super::types::insert_request_type_row;
use crate::Result;
use docket_domain::ids::WorkspaceId;
use docket_domain::member::Member;
use docket_domain::request::RequestType;
use docket_domain::token::Token;
use docket_domain::workspace::Workspace;
use sqlx::{PgConnection, PgPool};

/// See [`crate::Store::create_workspace`]. Runs in the caller's transaction.
pub(super) async fn create_workspace(
    tx: &mut PgConnection,
    workspace: Workspace,
    owner: Member,
    token: Token,
) -> Result<()> {
    sqlx::query("insert into workspaces (id, name, slug, created_at) values ($1, $2, $3, $4)")
        .bind(workspace.id.0)
        .bind(&workspace.name)
        .bind(&workspace.slug)
        .bind(micros(workspace.created_at))
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            unique_or(e, "slug_taken", || {
                format!("a workspace with slug {} exists", workspace.slug)
            })
        })?;
    let general = RequestType::general(workspace.id, workspace.created_at);
    insert_request_type_row(tx, &general).await?;
    insert_member_row(tx, &owner).await?;
    insert_token_row(tx, &token).await?;
    Ok(())
}

pub(super) async fn list_workspaces(pool: &PgPool) -> Result<Vec<Workspace>> {
    sqlx::query(&format!(
        "select {WORKSPACE_COLUMNS} from workspaces order by created_at, id"
    ))
    .fetch_all(pool)
    .await?
    .iter()
    .map(workspace_from_row)
    .collect()
}

pub(super) async fn workspace_by_slug(pool: &PgPool, slug: &str) -> Result<Option<Workspace>> {
    sqlx::query(&format!(
        "select {WORKSPACE_COLUMNS} from workspaces where slug = $1"
    ))
    .bind(slug)
    .fetch_optional(pool)
    .await?
    .map(|r| workspace_from_row(&r))
    .transpose()
}

pub(super) async fn get_workspace(pool: &PgPool, ws: WorkspaceId) -> Result<Option<Workspace>> {
    sqlx::query(&format!(
        "select {WORKSPACE_COLUMNS} from workspaces where id = $1"
    ))
    .bind(ws.0)
    .fetch_optional(pool)
    .await?
    .map(|r| workspace_from_row(&r))
    .transpose()
}
