//! Email templates (`/api/v1/email-templates`): the messages Docket sends, each the
//! shipped text unless the workspace overrides it. Scope `workflows:write`.

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use docket_domain::access::Scope;
use docket_domain::email::{default_template, Template, DEFAULT_TEMPLATES};
use docket_domain::DomainError;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(put, reset))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EffectiveTemplate {
    #[serde(flatten)]
    pub template: Template,
    /// Whether this workspace replaced the shipped text.
    pub overridden: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TemplateList {
    pub items: Vec<EffectiveTemplate>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateText {
    /// Plain text; `{{name}}`, `{{number}}`, `{{title}}`, `{{status}}`, `{{due_at}}`,
    /// `{{link}}` (for the contact: the portal link) and `{{items}}` (the rejected items
    /// with their reasons, in `rejection`) are replaced.
    pub subject: String,
    pub body: String,
}

#[utoipa::path(get, path = "/api/v1/email-templates", tag = "email", responses((status = 200, body = TemplateList)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(p): Auth,
) -> Result<Json<TemplateList>, ApiError> {
    p.require(Scope::WorkflowsWrite)?;
    let overrides = state.store().email_templates(p.workspace_id).await?;
    let items = DEFAULT_TEMPLATES
        .iter()
        .filter_map(|(name, ..)| {
            let own = overrides.iter().find(|t| t.name == *name).cloned();
            let overridden = own.is_some();
            own.or_else(|| default_template(name))
                .map(|template| EffectiveTemplate {
                    template,
                    overridden,
                })
        })
        .collect();
    Ok(Json(TemplateList { items }))
}

#[utoipa::path(put, path = "/api/v1/email-templates/{name}", tag = "email", params(("name" = String, Path)), request_body = TemplateText,
    responses((status = 200, body = EffectiveTemplate), (status = 404, description = "No template of that name", body = crate::error::ErrorEnvelope),
        (status = 422, body = crate::error::ErrorEnvelope)))]
pub async fn put(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<TemplateText>,
) -> Result<Json<EffectiveTemplate>, ApiError> {
    p.require(Scope::WorkflowsWrite)?;
    default_template(&name).ok_or(DomainError::NotFound("email template"))?;
    let subject = body.subject.trim();
    if subject.is_empty() || subject.chars().count() > 200 || subject.contains(['\r', '\n']) {
        return Err(ApiError::invalid(
            "subject",
            "invalid",
            "a subject is one line of 1-200 characters",
        ));
    }
    if body.body.len() > 20_000 {
        return Err(ApiError::invalid(
            "body",
            "too_long",
            "a body has at most 20 000 bytes",
        ));
    }
    let template = Template {
        name,
        subject: subject.to_owned(),
        body: body.body,
    };
    state
        .store()
        .set_email_template(p.workspace_id, template.clone(), docket_domain::now())
        .await?;
    Ok(Json(EffectiveTemplate {
        template,
        overridden: true,
    }))
}

#[utoipa::path(delete, path = "/api/v1/email-templates/{name}", tag = "email", params(("name" = String, Path)),
    responses((status = 204, description = "The shipped text applies again"), (status = 404, body = crate::error::ErrorEnvelope)))]
pub async fn reset(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    p.require(Scope::WorkflowsWrite)?;
    default_template(&name).ok_or(DomainError::NotFound("email template"))?;
    state
        .store()
        .delete_email_template(p.workspace_id, &name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
