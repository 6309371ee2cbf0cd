//! `POST /v1/request`: send a campaign's request to a contact.

use super::{
    check_client_data, check_member, ensure_builtin_campaign, is_campaign, parse_assignee,
    parse_body, parse_due, render, CollectAuth, CollectError, RequestEnvelope, CONTACT_KEY,
    FLAGS_KEY,
};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use docket_domain::link::LinkMode;
use docket_domain::member::Email;
use docket_domain::request::{plan_create, NewRequest, Patch, TypeKey};
use docket_store::NewLink;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// A contact: the id of one Collect knows, or the contact itself.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum ContactInput {
    Id(String),
    Contact(Contact),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    #[serde(rename = "_id")]
    pub id: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub tag: Option<Vec<String>>,
    pub custom: Option<Vec<Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateBody {
    pub campaign_id: String,
    pub contact: ContactInput,
    pub due_date: Option<String>,
    pub data: Option<Map<String, Value>>,
    pub assigned_to: Option<String>,
    pub send_completion_message: Option<bool>,
    pub send_rejection_message: Option<bool>,
    pub send_reopen_message: Option<bool>,
}

pub async fn create(
    State(state): State<AppState>,
    CollectAuth(p): CollectAuth,
    crate::compat::body::RawBody(body): crate::compat::body::RawBody,
) -> Result<Json<RequestEnvelope>, CollectError> {
    let body: CreateBody = parse_body(&body.map_err(CollectError::from_body)?)?;
    let campaign = TypeKey::parse(&body.campaign_id)
        .ok()
        .filter(is_campaign)
        .ok_or_else(|| CollectError::NotFound(format!("no campaign {:?}", body.campaign_id)))?;
    if campaign.as_str() == super::BUILTIN_CAMPAIGN {
        ensure_builtin_campaign(&state, p.workspace_id).await?;
    }
    let now = docket_domain::now();
    let contact = contact_value(body.contact, now)?;
    let title = contact_title(&contact);
    let mut data = body.data.unwrap_or_default();
    check_client_data(&data)?;
    data.insert(CONTACT_KEY.into(), contact);
    let mut flags = Map::new();
    for (name, value) in [
        ("sendCompletionMessage", body.send_completion_message),
        ("sendRejectionMessage", body.send_rejection_message),
        ("sendReopenMessage", body.send_reopen_message),
    ] {
        if let Some(v) = value {
            flags.insert(name.into(), Value::Bool(v));
        }
    }
    if !flags.is_empty() {
        data.insert(FLAGS_KEY.into(), Value::Object(flags));
    }
    let assignee_id = match body
        .assigned_to
        .as_deref()
        .map(parse_assignee)
        .transpose()?
    {
        Some(Patch::Set(id)) => {
            check_member(&state, p.workspace_id, id).await?;
            Some(id)
        }
        _ => None,
    };
    let input = NewRequest {
        title,
        description: None,
        assignee_id,
        due_at: body.due_date.as_deref().map(parse_due).transpose()?,
        data: Some(data),
        tags: None,
        subject: None,
        items: None,
    };
    let ws = p.workspace_id;
    let (request, _, _) = state
        .store()
        .create_request_with_link(
            ws,
            &campaign,
            Box::new(move |rtype, number| plan_create(&p, rtype, input, number, now)),
            // The portal link: the contact answers through it as many times as needed.
            NewLink {
                mode: LinkMode::MultiUse,
                expires_at: None,
            },
        )
        .await?;
    Ok(Json(RequestEnvelope {
        errors: vec![],
        request: render(&state, &request).await?,
    }))
}

/// The contact as stored in the request's data, in Collect's shape.
fn contact_value(
    input: ContactInput,
    now: docket_domain::Timestamp,
) -> Result<Value, CollectError> {
    let fresh_id = || uuid::Uuid::now_v7().simple().to_string();
    let c = match input {
        ContactInput::Id(id) if !id.trim().is_empty() => return Ok(json!({ "_id": id })),
        ContactInput::Id(_) => {
            return Err(CollectError::BadRequest(
                "contact: an id or a contact object is required".into(),
            ))
        }
        ContactInput::Contact(c) => c,
    };
    if let Some(email) = &c.email {
        Email::parse(email)
            .map_err(|e| CollectError::BadRequest(format!("contact.email: {}", e.message)))?;
    }
    if c.email.is_none() && c.id.is_none() && c.first_name.is_none() && c.last_name.is_none() {
        return Err(CollectError::BadRequest(
            "contact: give at least an _id, an email or a name".into(),
        ));
    }
    Ok(json!({
        "_id": c.id.unwrap_or_else(fresh_id),
        "email": c.email,
        "firstName": c.first_name,
        "lastName": c.last_name,
        "company": c.company,
        "tag": c.tag.unwrap_or_default(),
        "custom": c.custom.unwrap_or_default(),
        "createdAt": super::date(now),
        "lastActivity": super::date(now),
    }))
}

/// The Docket title of a Collect request: who it was sent to.
fn contact_title(contact: &Value) -> String {
    let name: Vec<&str> = ["firstName", "lastName"]
        .iter()
        .filter_map(|k| contact[*k].as_str())
        .filter(|s| !s.trim().is_empty())
        .collect();
    let who = if !name.is_empty() {
        name.join(" ")
    } else if let Some(email) = contact["email"].as_str() {
        email.to_owned()
    } else {
        format!("contact {}", contact["_id"].as_str().unwrap_or("?"))
    };
    format!("Request to {}", who.chars().take(250).collect::<String>())
}
