//! Request types: defining one and changing its name, workflow or items template.

use crate::error::ApiError;
use crate::state::AppState;
use docket_domain::access::{Principal, Scope};
use docket_domain::ids::RequestTypeId;
use docket_domain::item::{parse_template, ItemInput, ItemSpec};
use docket_domain::request::{RequestType, RequestTypeChange, TypeKey};
use docket_domain::workflow::{Workflow, WorkflowInput};
use docket_domain::{DomainError, FieldError};

fn validate_name(name: &str) -> Result<String, FieldError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 100 {
        Err(FieldError::new(
            "name",
            "invalid",
            "a name has 1-100 characters",
        ))
    } else {
        Ok(n.to_owned())
    }
}

fn validate_workflow(input: WorkflowInput) -> Result<Workflow, DomainError> {
    Workflow::new(input).map_err(DomainError::Validation)
}

fn validate_items(input: Vec<ItemInput>) -> Result<Vec<ItemSpec>, DomainError> {
    parse_template(input).map_err(DomainError::Validation)
}

/// Defines a request type (409 `type_exists` when the key is taken).
pub async fn create(
    state: &AppState,
    p: &Principal,
    key: TypeKey,
    name: &str,
    description: Option<String>,
    workflow: WorkflowInput,
    items: Vec<ItemInput>,
) -> Result<RequestType, ApiError> {
    p.require(Scope::WorkflowsWrite)?;
    let name = validate_name(name).map_err(|e| DomainError::Validation(vec![e]))?;
    let now = docket_domain::now();
    let rtype = RequestType {
        id: RequestTypeId::new(),
        workspace_id: p.workspace_id,
        key,
        name,
        description: description.unwrap_or_default(),
        workflow: validate_workflow(workflow)?,
        items: validate_items(items)?,
        created_at: now,
        updated_at: now,
    };
    Ok(state.store().insert_request_type(rtype).await?)
}

/// Changes type `key`'s name, description, workflow or items template (409
/// `status_in_use` when requests are in a status the new workflow drops; requests already
/// filed keep their items).
pub async fn update(
    state: &AppState,
    p: &Principal,
    key: &TypeKey,
    name: Option<&str>,
    description: Option<String>,
    workflow: Option<WorkflowInput>,
    items: Option<Vec<ItemInput>>,
) -> Result<RequestType, ApiError> {
    p.require(Scope::WorkflowsWrite)?;
    let change = RequestTypeChange {
        name: name
            .map(validate_name)
            .transpose()
            .map_err(|e| DomainError::Validation(vec![e]))?,
        description,
        workflow: workflow.map(validate_workflow).transpose()?,
        items: items.map(validate_items).transpose()?,
    };
    Ok(state
        .store()
        .update_request_type(p.workspace_id, key, change, docket_domain::now())
        .await?)
}
