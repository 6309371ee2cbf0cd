//! `POST /v1/request`: send a campaign's request to a contact; `POST /v1/requests`: to
//! up to 50 contacts at once.

use super::{
    check_client_data, check_member, ensure_builtin_campaign, is_campaign, parse_assignee,
    parse_body, parse_due, CollectAuth, CollectError, CollectRequest, RequestEnvelope, CONTACT_KEY,
    FLAGS_KEY,
};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use docket_domain::link::LinkMode;
use docket_domain::member::Email;
use docket_domain::request::{plan_create, NewRequest, Patch, TypeKey};
use docket_store::{NewLink, PlanCreate};
use serde::{Deserialize, Serialize};
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

/// What one request and a send to many share: the campaign and everything but the
/// contact.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Common {
    pub campaign_id: String,
    pub due_date: Option<String>,
    pub data: Option<Map<String, Value>>,
    pub assigned_to: Option<String>,
    /// The campaign's elements to send (their `itemId`s); all of them when absent.
    pub items: Option<Vec<String>>,
    pub send_completion_message: Option<bool>,
    pub send_rejection_message: Option<bool>,
    pub send_reopen_message: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateBody {
    pub contact: ContactInput,
    #[serde(flatten)]
    pub common: Common,
}

/// `POST /v1/requests`: one campaign to up to 50 contacts at once.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateManyBody {
    pub contacts: Vec<ContactInput>,
    #[serde(flatten)]
    pub common: Common,
}

/// The most contacts one `POST /v1/requests` sends to.
pub const MAX_CONTACTS: usize = 50;

#[derive(Serialize)]
pub struct RequestsEnvelope {
    pub errors: Vec<Value>,
    pub requests: Vec<CollectRequest>,
}

pub async fn create(
    State(state): State<AppState>,
    CollectAuth(p): CollectAuth,
    crate::compat::body::RawBody(body): crate::compat::body::RawBody,
) -> Result<Json<RequestEnvelope>, CollectError> {
    let body: CreateBody = parse_body(&body.map_err(CollectError::from_body)?)?;
    let mut made = send(&state, &p, body.common, vec![body.contact]).await?;
    Ok(Json(RequestEnvelope {
        errors: vec![],
        request: made.remove(0),
    }))
}

pub async fn create_many(
    State(state): State<AppState>,
    CollectAuth(p): CollectAuth,
    crate::compat::body::RawBody(body): crate::compat::body::RawBody,
) -> Result<Json<RequestsEnvelope>, CollectError> {
    let body: CreateManyBody = parse_body(&body.map_err(CollectError::from_body)?)?;
    if body.contacts.is_empty() || body.contacts.len() > MAX_CONTACTS {
        return Err(CollectError::BadRequest(format!(
            "contacts: from 1 to {MAX_CONTACTS} contacts"
        )));
    }
    let requests = send(&state, &p, body.common, body.contacts).await?;
    Ok(Json(RequestsEnvelope {
        errors: vec![],
        requests,
    }))
}

/// Files one request of the campaign per contact, each with its portal link, all in one
/// transaction: a bad contact (or any refusal) creates none of them.
async fn send(
    state: &AppState,
    p: &docket_domain::access::Principal,
    common: Common,
    contacts: Vec<ContactInput>,
) -> Result<Vec<CollectRequest>, CollectError> {
    let campaign = TypeKey::parse(&common.campaign_id)
        .ok()
        .filter(is_campaign)
        .ok_or_else(|| CollectError::NotFound(format!("no campaign {:?}", common.campaign_id)))?;
    if campaign.as_str() == super::BUILTIN_CAMPAIGN {
        ensure_builtin_campaign(state, p.workspace_id).await?;
    }
    let now = docket_domain::now();
    let mut base = common.data.unwrap_or_default();
    check_client_data(&base)?;
    let mut flags = Map::new();
    for (name, value) in [
        ("sendCompletionMessage", common.send_completion_message),
        ("sendRejectionMessage", common.send_rejection_message),
        ("sendReopenMessage", common.send_reopen_message),
    ] {
        if let Some(v) = value {
            flags.insert(name.into(), Value::Bool(v));
        }
    }
    if !flags.is_empty() {
        base.insert(FLAGS_KEY.into(), Value::Object(flags));
    }
    let assignee_id = match common
        .assigned_to
        .as_deref()
        .map(parse_assignee)
        .transpose()?
    {
        Some(Patch::Set(id)) => {
            check_member(state, p.workspace_id, id).await?;
            Some(id)
        }
        _ => None,
    };
    let due_at = common.due_date.as_deref().map(parse_due).transpose()?;
    let many = contacts.len() > 1;
    let mut plans: Vec<PlanCreate> = Vec::with_capacity(contacts.len());
    for (i, contact) in contacts.into_iter().enumerate() {
        let contact = contact_value(contact, now).map_err(|e| match e {
            CollectError::BadRequest(m) if many => {
                CollectError::BadRequest(format!("contacts[{i}]: {m}"))
            }
            other => other,
        })?;
        let mut data = base.clone();
        let title = contact_title(&contact);
        data.insert(CONTACT_KEY.into(), contact);
        let input = NewRequest {
            title,
            description: None,
            assignee_id,
            due_at,
            data: Some(data),
            tags: None,
            subject: None,
            items: common.items.clone(),
        };
        let p = p.clone();
        plans.push(Box::new(move |rtype, number| {
            plan_create(&p, rtype, input, number, now)
        }));
    }
    let created = state
        .store()
        .create_requests_with_links(
            p.workspace_id,
            &campaign,
            plans,
            // The portal link: the contact answers through it as many times as needed.
            NewLink {
                mode: LinkMode::MultiUse,
                expires_at: None,
            },
        )
        .await?;
    Ok(created
        .iter()
        .map(|(request, _, link)| CollectRequest::new(state, request, Some(link)))
        .collect())
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
