//! Requested items: reading them, and each change to them (add, edit, remove, answer,
//! review, send back) as one use case, the domain's plan
//! (`docket_domain::item::plan_items`) run inside the store's transaction.

use crate::error::ApiError;
use crate::state::AppState;
use docket_domain::access::{Principal, Scope};
use docket_domain::file::FileRecord;
use docket_domain::ids::{FileId, ItemId, RequestId};
use docket_domain::item::{plan_items, Item, ItemAction, ItemActor, Submission};
use docket_domain::link::PublicLink;
use docket_domain::request::Request;
use docket_domain::DomainError;

/// What an item change left: the request (with its progress and, where the workflow
/// follows the items, its status) and all its items in order.
pub struct Changed {
    pub request: Request,
    pub items: Vec<Item>,
}

impl Changed {
    /// The item `id` after the change.
    pub fn item(&self, id: ItemId) -> Result<&Item, ApiError> {
        self.items
            .iter()
            .find(|i| i.id == id)
            .ok_or(ApiError::Domain(DomainError::NotFound("item")))
    }
}

/// The items of request `id`, in order, if `p` may see the request.
pub async fn list(state: &AppState, p: &Principal, id: RequestId) -> Result<Vec<Item>, ApiError> {
    p.require(Scope::RequestsRead)?;
    crate::ops::reads::get_request(state, p, id)
        .await?
        .ok_or(DomainError::NotFound("request"))?;
    Ok(state.store().list_items(p.workspace_id, id).await?)
}

/// One item of request `id` and every submission it has had, oldest first.
pub async fn history(
    state: &AppState,
    p: &Principal,
    id: RequestId,
    item: ItemId,
) -> Result<(Item, Vec<Submission>), ApiError> {
    let found = list(state, p, id)
        .await?
        .into_iter()
        .find(|i| i.id == item)
        .ok_or(DomainError::NotFound("item"))?;
    let submissions = state
        .store()
        .item_submissions(p.workspace_id, id, Some(item))
        .await?;
    Ok((found, submissions))
}

/// The files `ids` of the workspace, for a submission (an unknown id is a field error).
pub async fn files(
    state: &AppState,
    p: &Principal,
    ids: &[FileId],
) -> Result<Vec<FileRecord>, ApiError> {
    let mut out = Vec::with_capacity(ids.len());
    let mut errors = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        match state.store().get_file(p.workspace_id, *id).await? {
            Some(f) => out.push(f),
            None => errors.push(docket_domain::FieldError::new(
                format!("files[{i}]"),
                "unknown_file",
                "no file of this request has this id",
            )),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(DomainError::Validation(errors).into())
    }
}

/// Applies `action` to request `id`'s items as staff `p`; `expected` is the version of
/// the item acted on that the caller saw (`If-Match`). `files` are new records of the
/// request (an upload onto an item, its bytes already in the blob store), stored in the
/// same transaction.
pub async fn change(
    state: &AppState,
    p: &Principal,
    id: RequestId,
    action: ItemAction,
    expected: Option<i64>,
    files: Vec<FileRecord>,
) -> Result<Changed, ApiError> {
    let principal = p.clone();
    let now = docket_domain::now();
    let (applied, items) = state
        .store()
        .change_items(
            p.workspace_id,
            id,
            files,
            Box::new(move |current, rtype, items| {
                plan_items(
                    ItemActor::Staff(&principal),
                    current,
                    rtype,
                    items,
                    action,
                    expected,
                    now,
                )
            }),
        )
        .await?;
    Ok(Changed {
        request: applied.into_request(),
        items,
    })
}

/// Applies `action` (an answer) to the items of `link`'s request as its recipient (files
/// come through [`upload`]).
pub async fn answer_as_recipient(
    state: &AppState,
    link: &PublicLink,
    action: ItemAction,
) -> Result<Changed, ApiError> {
    let holder = link.clone();
    let now = docket_domain::now();
    let (applied, items) = state
        .store()
        .change_items(
            link.workspace_id,
            link.request_id,
            Vec::new(),
            Box::new(move |current, rtype, items| {
                plan_items(
                    ItemActor::Recipient(&holder),
                    current,
                    rtype,
                    items,
                    action,
                    None,
                    now,
                )
            }),
        )
        .await?;
    Ok(Changed {
        request: applied.into_request(),
        items,
    })
}

/// Who uploads onto an item: staff, or the recipient through their link.
#[derive(Clone)]
pub enum Uploader {
    Staff(Principal),
    Recipient(PublicLink),
}

/// Streams one file (`body`, named `name`) onto document item `item` of request `id`:
/// the bytes go to the blob store as they arrive (the workspace's file policy applies,
/// 413/415), then the file's record and the item's submission are stored in one
/// transaction; when the item refuses the file (its types, its count), nothing remains.
pub async fn upload<E: std::fmt::Display>(
    state: &AppState,
    who: Uploader,
    id: RequestId,
    item: ItemId,
    name: String,
    declared_size: Option<u64>,
    body: impl futures::Stream<Item = Result<bytes::Bytes, E>> + Send,
) -> Result<Changed, ApiError> {
    let (workspace_id, uploaded_by, visibility, actor) = match &who {
        Uploader::Staff(p) => {
            p.require(Scope::FilesWrite)?;
            let r = crate::ops::reads::live_request(state, p, id).await?;
            docket_domain::file::check_may_attach(p, &r)?;
            (
                p.workspace_id,
                docket_domain::file::Uploader::of(p),
                docket_domain::file::Visibility::Internal,
                docket_domain::event::Actor {
                    member_id: p.member_id(),
                    token_id: p.token_id,
                },
            )
        }
        Uploader::Recipient(link) => (
            link.workspace_id,
            docket_domain::file::Uploader::Link { id: link.id },
            docket_domain::file::Visibility::Shared,
            docket_domain::event::Actor::default(),
        ),
    };
    let upload = crate::files::Upload {
        workspace_id,
        name,
        uploaded_by,
        visibility,
        attach: Some(crate::files::Attach {
            request_id: id,
            actor,
        }),
        declared_size,
    };
    let store = state.store().clone();
    crate::files::receive_then(state, upload, body, move |record| async move {
        let now = docket_domain::now();
        let action = ItemAction::Submit {
            item,
            answer: None,
            files: vec![record.clone()],
        };
        let (applied, items) = store
            .change_items(
                workspace_id,
                id,
                vec![record],
                Box::new(move |current, rtype, items| {
                    let actor = match &who {
                        Uploader::Staff(p) => ItemActor::Staff(p),
                        Uploader::Recipient(l) => ItemActor::Recipient(l),
                    };
                    plan_items(actor, current, rtype, items, action, None, now)
                }),
            )
            .await?;
        Ok(Changed {
            request: applied.into_request(),
            items,
        })
    })
    .await
}
