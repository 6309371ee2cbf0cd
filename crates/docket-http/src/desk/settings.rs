//! Workspace settings pages: members (and their roles), API tokens, and request types with
//! their workflows. Each form goes through the native API's handler, so only what the
//! member's role allows works, and a refusal is shown as the API words it.

use super::directory::{Choice, Directory};
use super::page::{api_error_page, back, render, when, Flash, Nav};
use super::session::{DeskForm, DeskUser, NoFields};
use crate::error::ApiError;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use docket_domain::access::{Role, Scope};
use docket_domain::member::Email;
use docket_domain::request::TypeKey;
use docket_domain::workflow::From as FromStatus;
use docket_domain::DomainError;
use serde::Deserialize;

/// The workflow a form's text holds: the JSON the type's workflow editor shows.
fn workflow_of(text: &str) -> Result<docket_domain::workflow::WorkflowInput, ApiError> {
    serde_json::from_str(text)
        .map_err(|e| ApiError::invalid("workflow", "invalid_json", e.to_string()))
}

/// A form value that does not parse.
fn bad_form(field: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request("invalid_form", format!("{field}: {e}"))
}

pub struct MemberRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub roles: Vec<Choice>,
    pub joined: String,
}

pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub owner: String,
    pub scopes: String,
    pub expires: String,
    pub last_used: String,
    pub state: &'static str,
}

pub struct TypeView {
    pub key: String,
    pub name: String,
    pub statuses: Vec<(String, String, &'static str, bool)>,
    pub transitions: Vec<(String, String, String)>,
    pub workflow_json: String,
    /// The items template's editor rows.
    pub items: Vec<super::type_items::TemplateRow>,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    nav: Nav,
    flash: Flash,
    members: Vec<MemberRow>,
    roles: Vec<Choice>,
    tokens: Vec<TokenRow>,
    scopes: Vec<String>,
    types: Vec<TypeView>,
    new_secret: Option<String>,
    may_manage_members: bool,
    may_edit_workflows: bool,
    /// The items editor's choices.
    kinds: &'static [&'static str],
    answers: &'static [&'static str],
}

pub async fn page(
    State(state): State<AppState>,
    user: DeskUser,
    Query(flash): Query<Flash>,
) -> Response {
    match inner(&state, &user, flash, None).await {
        Ok(r) => r,
        Err(e) => api_error_page(e),
    }
}

fn role_choices(current: &str) -> Vec<Choice> {
    Role::ALL
        .iter()
        .map(|r| Choice::new(r.as_str(), r.as_str(), current))
        .collect()
}

async fn inner(
    state: &AppState,
    user: &DeskUser,
    flash: Flash,
    new_secret: Option<String>,
) -> Result<Response, ApiError> {
    let dir = Directory::load(state, user.principal.workspace_id).await?;
    let members = dir
        .members
        .iter()
        .map(|m| MemberRow {
            id: m.id.to_string(),
            name: m.name.clone(),
            email: m.email.as_str().to_owned(),
            roles: role_choices(m.role.as_str()),
            joined: when(m.created_at),
        })
        .collect();
    let now = docket_domain::now();
    // Someone without `tokens:write` has no token list to see; a failure to read it is an
    // error, not an empty list.
    let token_list = if user.principal.has(Scope::TokensWrite) {
        crate::ops::people::tokens(state, &user.principal).await?
    } else {
        Vec::new()
    };
    let tokens = token_list
        .iter()
        .map(|t| TokenRow {
            id: t.id.to_string(),
            name: t.name.clone(),
            owner: dir.member_name(t.member_id, "system"),
            scopes: if t.scopes.is_empty() {
                "everything the role allows".into()
            } else {
                t.scopes
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            expires: t.expires_at.map(when).unwrap_or_else(|| "never".into()),
            last_used: t.last_used_at.map(when).unwrap_or_else(|| "never".into()),
            state: if t.revoked_at.is_some() {
                "revoked"
            } else if t.is_active(now) {
                "active"
            } else {
                "expired"
            },
        })
        .collect();
    let types = dir
        .types
        .iter()
        .map(|t| TypeView {
            key: t.key.as_str().to_owned(),
            name: t.name.clone(),
            statuses: t
                .workflow
                .statuses()
                .iter()
                .map(|s| {
                    (
                        s.key.as_str().to_owned(),
                        s.label.clone(),
                        s.category.as_str(),
                        s.initial,
                    )
                })
                .collect(),
            transitions: t
                .workflow
                .transitions()
                .iter()
                .map(|tr| {
                    let from = match &tr.from {
                        FromStatus::Any => "any status".to_owned(),
                        FromStatus::Status(s) => s.as_str().to_owned(),
                    };
                    let by = tr
                        .by
                        .iter()
                        .map(|p| p.describe())
                        .collect::<Vec<_>>()
                        .join(", ");
                    (from, tr.to.as_str().to_owned(), by)
                })
                .collect(),
            workflow_json: serde_json::to_string_pretty(&t.workflow).unwrap_or_default(),
            items: super::type_items::rows(&t.items),
        })
        .collect();
    Ok(render(&SettingsPage {
        kinds: &super::type_items::KINDS,
        answers: &super::type_items::ANSWERS,
        nav: Nav::new(user, "settings"),
        flash,
        members,
        roles: role_choices("member"),
        tokens,
        scopes: user
            .principal
            .scopes()
            .to_vec()
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect(),
        types,
        new_secret,
        may_manage_members: user.principal.has(Scope::MembersWrite),
        may_edit_workflows: user.principal.has(Scope::WorkflowsWrite),
    }))
}

pub(super) const PAGE: &str = "/desk/settings";

#[derive(Deserialize)]
pub struct AddMemberForm {
    email: String,
    name: String,
    role: String,
    #[serde(default)]
    password: String,
}

pub async fn add_member(State(state): State<AppState>, f: DeskForm<AddMemberForm>) -> Response {
    let DeskForm { user, form } = f;
    let outcome = async {
        let email = Email::parse(&form.email).map_err(|e| DomainError::Validation(vec![e]))?;
        let role: Role = form.role.parse().map_err(|e| bad_form("role", e))?;
        let member =
            crate::ops::people::add_member(&state, &user.principal, email, &form.name, role)
                .await?;
        if !form.password.is_empty() {
            let password = form.password;
            let hash = tokio::task::spawn_blocking(move || {
                docket_domain::session::hash_password(&password)
            })
            .await
            .map_err(|e| ApiError::Internal(e.into()))?
            .map_err(|e| docket_domain::DomainError::Validation(vec![e]))?;
            state
                .store()
                .set_password(member.workspace_id, member.id, Some(hash))
                .await?;
        }
        Ok(format!("{} added as {}.", member.name, member.role))
    }
    .await;
    back(PAGE, outcome)
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

pub async fn set_role(
    State(state): State<AppState>,
    Path(id): Path<String>,
    f: DeskForm<RoleForm>,
) -> Response {
    let DeskForm { user, form } = f;
    let outcome = async {
        let id = id
            .parse()
            .map_err(|_| docket_domain::DomainError::NotFound("member"))?;
        let role: Role = form.role.parse().map_err(|e| bad_form("role", e))?;
        let m = crate::ops::people::change_member(&state, &user.principal, id, None, Some(role))
            .await?;
        Ok(format!("{} is now {}.", m.name, m.role))
    }
    .await;
    back(PAGE, outcome)
}

#[derive(Deserialize)]
pub struct TokenForm {
    name: String,
    #[serde(default)]
    expires: String,
    /// One `scope` field per ticked checkbox; none: everything the role allows.
    #[serde(default)]
    scope: Vec<String>,
}

pub async fn create_token(
    State(state): State<AppState>,
    DeskForm { user, form }: DeskForm<TokenForm>,
) -> Response {
    let made = async {
        let scopes = form
            .scope
            .iter()
            .map(|s| s.parse::<Scope>().map_err(|e| bad_form("scope", e)))
            .collect::<Result<Vec<_>, _>>()?;
        let expires_at = match form.expires.trim() {
            "" => None,
            e => Some(crate::time::parse_instant("expires_at", e)?),
        };
        let want = crate::ops::people::TokenRequest {
            name: form.name,
            scopes,
            expires_at,
            member_id: None,
        };
        let (secret, _) = crate::ops::people::issue_token(&state, &user.principal, want).await?;
        Ok::<_, ApiError>(secret.expose().to_owned())
    }
    .await;
    match made {
        // The secret is shown on this response only, never in a URL.
        Ok(secret) => match inner(
            &state,
            &user,
            Flash {
                notice: Some("Token created. Copy it now: it is not shown again.".into()),
                error: None,
            },
            Some(secret),
        )
        .await
        {
            Ok(r) => r,
            Err(e) => api_error_page(e),
        },
        Err(e) => back(PAGE, Err(e)),
    }
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    f: DeskForm<NoFields>,
) -> Response {
    let user = f.user;
    let outcome = async {
        let id = id
            .parse()
            .map_err(|_| docket_domain::DomainError::NotFound("token"))?;
        let t = crate::ops::people::revoke_token(&state, &user.principal, id).await?;
        Ok(format!("Token {} revoked.", t.name))
    }
    .await;
    back(PAGE, outcome)
}

#[derive(Deserialize)]
pub struct TypeForm {
    #[serde(default)]
    key: String,
    name: String,
    workflow: String,
}

pub async fn create_type(
    State(state): State<AppState>,
    DeskForm { user, form }: DeskForm<TypeForm>,
) -> Response {
    let outcome = async {
        let workflow = workflow_of(&form.workflow)?;
        let key = TypeKey::parse(&form.key).map_err(|e| ApiError::invalid("key", "invalid", e))?;
        let t = crate::ops::types::create(
            &state,
            &user.principal,
            key,
            &form.name,
            None,
            workflow,
            Vec::new(),
        )
        .await?;
        Ok(format!("Request type {} created.", t.name))
    }
    .await;
    back(PAGE, outcome)
}

pub async fn update_type(
    State(state): State<AppState>,
    Path(key): Path<String>,
    DeskForm { user, form }: DeskForm<TypeForm>,
) -> Response {
    let outcome = async {
        let workflow = workflow_of(&form.workflow)?;
        let key = TypeKey::parse(&key).map_err(|_| DomainError::NotFound("request type"))?;
        let t = crate::ops::types::update(
            &state,
            &user.principal,
            &key,
            Some(&form.name),
            None,
            Some(workflow),
            None,
        )
        .await?;
        Ok(format!("Workflow of {} saved.", t.name))
    }
    .await;
    back(PAGE, outcome)
}
