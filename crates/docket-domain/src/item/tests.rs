//! Unit tests of `item`.

use super::*;
use crate::access::{Acting, Principal, Role, Scope, ScopeSet};
use crate::event::EventKind;
use crate::file::{FileName, FileRecord, Uploader, Visibility};
use crate::ids::{RequestTypeId, TokenId};
use crate::link::PublicLink;
use crate::request::TypeKey;
use crate::workflow::Workflow;
use crate::workflow::{Category, WorkflowInput};

fn staff(role: Role, ws: WorkspaceId) -> Principal {
    Principal::for_token(
        ws,
        Some(Acting {
            id: MemberId::new(),
            role,
        }),
        Some(TokenId::new()),
        ScopeSet::empty(),
    )
}

/// The general workflow, following the items: answered → in_progress, approved → done,
/// sent back → waiting.
fn following() -> Workflow {
    let mut w = serde_json::to_value(Workflow::general()).unwrap();
    w["on_items"] = json!({"submitted": "in_progress", "approved": "done", "sent_back": "waiting"});
    Workflow::new(serde_json::from_value::<WorkflowInput>(w).unwrap()).unwrap()
}

fn template() -> Vec<ItemSpec> {
    parse_template(
        serde_json::from_value(json!([
            {"kind": "note", "label": "Before you start", "instructions": "Have your papers ready."},
            {"kind": "document", "label": "Passport", "required": true, "allowed_types": ["application/pdf", "image/*"], "max_files": 2},
            {"kind": "question", "key": "income", "label": "Annual income", "required": true, "answer_type": {"type": "number", "min": 0}},
            {"kind": "question", "label": "Colour", "answer_type": {"type": "choice", "options": ["red", "green", "blue"], "multiple": true}},
        ]))
        .unwrap(),
    )
    .unwrap()
}

struct Case {
    rtype: RequestType,
    request: Request,
    items: Vec<Item>,
    manager: Principal,
}

fn case(workflow: Workflow) -> Case {
    let ws = WorkspaceId::new();
    let now = crate::now();
    let rtype = RequestType {
        id: RequestTypeId::new(),
        workspace_id: ws,
        key: TypeKey::parse("kyc").unwrap(),
        name: "KYC".into(),
        description: String::new(),
        workflow,
        items: template(),
        created_at: now,
        updated_at: now,
    };
    let mut request = crate::request::sample("kyc", "open", Category::Open);
    request.workspace_id = ws;
    request.data.insert(
        "contact".into(),
        json!({"email": "ann@example.com", "name": "Ann"}),
    );
    let items = from_template(&rtype, &request, None, now).unwrap();
    request.items = ItemProgress::of(&items);
    Case {
        manager: staff(Role::Moderator, ws),
        rtype,
        request,
        items,
    }
}

impl Case {
    fn id(&self, key: &str) -> ItemId {
        self.items.iter().find(|i| i.spec.key == key).unwrap().id
    }

    fn item(&self, key: &str) -> &Item {
        self.items.iter().find(|i| i.spec.key == key).unwrap()
    }

    fn plan(&self, who: ItemActor<'_>, action: ItemAction) -> Result<Option<Planned>, DomainError> {
        plan_items(
            who,
            &self.request,
            &self.rtype,
            &self.items,
            action,
            None,
            crate::now(),
        )
    }

    /// Plans as the manager and applies the plan to the case.
    fn apply(&mut self, action: ItemAction) -> Planned {
        let planned = self
            .plan(ItemActor::Staff(&self.manager.clone()), action)
            .unwrap()
            .expect("a change");
        self.take(&planned);
        planned
    }

    fn take(&mut self, planned: &Planned) {
        self.request = planned.request.clone();
        self.items = planned.items.apply_to(std::mem::take(&mut self.items));
    }

    fn file(&self, name: &str, content_type: &str) -> FileRecord {
        FileRecord {
            id: FileId::new(),
            workspace_id: self.request.workspace_id,
            request_id: Some(self.request.id),
            name: FileName::sanitize(name),
            content_type: content_type.into(),
            size: 10,
            sha256: None,
            storage_key: String::new(),
            uploaded_by: Uploader::System,
            visibility: Visibility::Internal,
            created_at: crate::now(),
        }
    }
}

fn submit(item: ItemId, answer: Value) -> ItemAction {
    ItemAction::Submit {
        item,
        answer: Some(answer),
        files: Vec::new(),
    }
}

fn review(item: ItemId, verdict: Verdict) -> ItemAction {
    ItemAction::Review { item, verdict }
}

fn code(e: DomainError) -> String {
    match e {
        DomainError::Validation(errors) => errors
            .iter()
            .map(|e| format!("{}:{}", e.field, e.code))
            .collect::<Vec<_>>()
            .join(","),
        DomainError::Conflict { code, .. } => code.to_owned(),
        DomainError::PreconditionFailed { current } => format!("precondition:{current}"),
        other => format!("{other:?}"),
    }
}

#[test]
fn a_template_derives_keys_and_reports_every_problem() {
    let t = template();
    let keys: Vec<&str> = t.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys, ["before-you-start", "passport", "income", "colour"]);
    assert_eq!(t[1].max_files, Some(2));
    let refused = parse_template(
        serde_json::from_value(json!([
            {"kind": "note", "label": "A", "required": true},
            {"kind": "question", "label": "B"},
            {"kind": "document", "label": "", "max_files": 0, "answer_type": {"type": "text"}},
            {"kind": "question", "key": "x", "label": "C", "answer_type": {"type": "choice", "options": ["a", "a"]}},
            {"kind": "question", "key": "x", "label": "D", "answer_type": {"type": "number", "min": 5, "max": 1}},
            {"kind": "document", "key": "Bad Key", "label": "E", "allowed_types": ["pdf"], "position": 1},
        ]))
        .unwrap(),
    )
    .unwrap_err();
    let codes: Vec<String> = refused
        .iter()
        .map(|e| format!("{}:{}", e.field, e.code))
        .collect();
    for expected in [
        "items[0].required:not_allowed",
        "items[1].answer_type:required",
        "items[2].answer_type:not_allowed",
        "items[2].label:required",
        "items[2].max_files:out_of_range",
        "items[3].answer_type.options[1]:invalid",
        "items[4].answer_type.min:out_of_range",
        "items[4].key:duplicate",
        "items[5].position:not_allowed",
        "items[5].key:invalid",
        "items[5].allowed_types[0]:invalid",
    ] {
        assert!(
            codes.contains(&expected.to_owned()),
            "{expected} in {codes:?}"
        );
    }
}

#[test]
fn answers_are_checked_against_their_type_and_normalised() {
    let ok = |t: AnswerType, v: Value| check_answer(&t, v).unwrap();
    let no = |t: AnswerType, v: Value| check_answer(&t, v).unwrap_err().code;
    assert_eq!(ok(AnswerType::Text, json!("  hi ")), json!("hi"));
    assert_eq!(no(AnswerType::Text, json!("a\nb")), "invalid_answer");
    assert_eq!(no(AnswerType::Text, json!("  ")), "required");
    assert_eq!(
        no(AnswerType::LongText, json!("x".repeat(20_001))),
        "too_long"
    );
    let n = || AnswerType::Number {
        min: Some(0.0),
        max: Some(10.0),
    };
    assert_eq!(ok(n(), json!(2.5)), json!(2.5));
    assert_eq!(no(n(), json!(11)), "out_of_range");
    assert_eq!(no(n(), json!("3")), "invalid_answer");
    assert_eq!(
        ok(AnswerType::Date, json!("2026-12-03")),
        json!("2026-12-03")
    );
    assert_eq!(no(AnswerType::Date, json!("2026-13-03")), "invalid_answer");
    assert_eq!(
        ok(AnswerType::Email, json!("Ann@Example.com")),
        json!("ann@example.com")
    );
    assert_eq!(no(AnswerType::Email, json!("ann")), "invalid_answer");
    assert_eq!(ok(AnswerType::Checkbox, json!(true)), json!(true));
    assert_eq!(no(AnswerType::Checkbox, json!("yes")), "invalid_answer");
    let one = || AnswerType::Choice {
        options: vec!["a".into(), "b".into(), "c".into()],
        multiple: false,
    };
    let many = || AnswerType::Choice {
        options: vec!["a".into(), "b".into(), "c".into()],
        multiple: true,
    };
    assert_eq!(ok(one(), json!("b")), json!("b"));
    assert_eq!(no(one(), json!("d")), "invalid_answer");
    assert_eq!(no(one(), json!(["a"])), "invalid_answer");
    assert_eq!(ok(many(), json!(["c", "a"])), json!(["a", "c"]));
    assert_eq!(no(many(), json!([])), "required");
}

#[test]
fn a_new_request_copies_its_template_or_the_named_subset() {
    let c = case(following());
    assert_eq!(c.items.len(), 4);
    assert_eq!(c.item("before-you-start").state, None);
    assert_eq!(c.item("passport").state, Some(ItemState::Missing));
    let p = c.request.items;
    assert_eq!(
        (p.total, p.required, p.submitted, p.approved, p.rejected),
        (3, 2, 0, 0, 0)
    );
    assert!(p.is_incomplete() && !p.is_complete());
    let subset =
        from_template(&c.rtype, &c.request, Some(&["income".into()]), crate::now()).unwrap();
    assert_eq!(subset.len(), 1);
    assert_eq!(subset[0].position, 0);
    let unknown = from_template(&c.rtype, &c.request, Some(&["nope".into()]), crate::now());
    assert_eq!(code(unknown.unwrap_err()), "items[0]:unknown_item");
}

#[test]
fn the_workflow_follows_submission_approval_and_sending_back() {
    let mut c = case(following());
    let passport = c.id("passport");
    let income = c.id("income");
    // The first required answer moves nothing.
    let first = c.apply(submit(income, json!(52000)));
    assert_eq!(first.event.kind, EventKind::ItemSubmitted);
    assert!(first.follow_ups.is_empty());
    assert_eq!(c.request.status.as_str(), "open");
    assert_eq!(c.item("income").answer, Some(json!(52000)));
    // The last one moves the request to review, as a request.updated with its cause.
    let pdf = c.file("passport.pdf", "application/pdf");
    let planned = c.apply(ItemAction::Submit {
        item: passport,
        answer: None,
        files: vec![pdf.clone()],
    });
    assert_eq!(c.request.status.as_str(), "in_progress");
    let moved = &planned.follow_ups[0];
    assert_eq!(moved.kind, EventKind::Updated);
    let cause = moved.changes.iter().find(|ch| ch.field == "cause").unwrap();
    assert_eq!(cause.new, json!("item.submitted"));
    assert_eq!(planned.items.submissions.len(), 1);
    assert_eq!(planned.items.submissions[0].files, vec![pdf.id]);
    assert_eq!(c.request.items.submitted, 2);
    // Reject the passport: the reason is kept, nothing moves yet.
    c.apply(review(
        passport,
        Verdict::Reject("The scan is blurred".into()),
    ));
    assert_eq!(c.item("passport").state, Some(ItemState::Rejected));
    assert_eq!(
        c.item("passport").reason.as_deref(),
        Some("The scan is blurred")
    );
    assert_eq!(c.request.status.as_str(), "in_progress");
    // Sending back moves to waiting and emails the contact the rejected items.
    let back = c.apply(ItemAction::SendBack);
    assert_eq!(back.event.kind, EventKind::SentBack);
    assert_eq!(c.request.status.as_str(), "waiting");
    let message = back
        .follow_ups
        .iter()
        .find(|e| e.kind == EventKind::MessageQueued)
        .unwrap();
    let m = &message.changes[0].new;
    assert_eq!(m["template"], "rejection");
    assert_eq!(m["recipient"], "ann@example.com");
    assert_eq!(m["items"][0]["reason"], "The scan is blurred");
    // The recipient uploads again: the new file replaces the rejected one.
    let again = c.file("passport-2.pdf", "application/pdf");
    let link = PublicLink::new(
        &c.request,
        crate::link::LinkMode::MultiUse,
        None,
        crate::now(),
    );
    let resubmitted = c
        .plan(
            ItemActor::Recipient(&link),
            ItemAction::Submit {
                item: passport,
                answer: None,
                files: vec![again.clone()],
            },
        )
        .unwrap()
        .unwrap();
    c.take(&resubmitted);
    assert_eq!(resubmitted.items.submissions[0].number, 2);
    assert_eq!(resubmitted.items.submissions[0].link_id, Some(link.id));
    assert_eq!(c.item("passport").files, vec![again.id]);
    assert_eq!(c.request.status.as_str(), "in_progress");
    // Approving the last required item finishes the request.
    c.apply(review(income, Verdict::Approve));
    assert_eq!(c.request.status.as_str(), "in_progress");
    let last = c.apply(review(passport, Verdict::Approve));
    assert_eq!(c.request.status.as_str(), "done");
    assert_eq!(c.request.category, Category::Done);
    assert!(c.request.items.is_complete());
    assert_eq!(
        last.follow_ups[0].changes.last().unwrap().new,
        json!("item.approved")
    );
}

#[test]
fn reviews_act_on_what_was_submitted() {
    let mut c = case(Workflow::general());
    let income = c.id("income");
    let m = c.manager.clone();
    let refused = c.plan(ItemActor::Staff(&m), review(income, Verdict::Approve));
    assert_eq!(code(refused.unwrap_err()), "item_not_submitted");
    c.apply(submit(income, json!(10)));
    let version = c.item("income").version;
    let stale = plan_items(
        ItemActor::Staff(&m),
        &c.request,
        &c.rtype,
        &c.items,
        review(income, Verdict::Approve),
        Some(version - 1),
        crate::now(),
    );
    assert_eq!(code(stale.unwrap_err()), format!("precondition:{version}"));
    let no_reason = c.plan(
        ItemActor::Staff(&m),
        review(income, Verdict::Reject(" ".into())),
    );
    assert_eq!(code(no_reason.unwrap_err()), "reason:required");
    c.apply(review(income, Verdict::Approve));
    // An approved answer is kept until a reviewer reopens it.
    let locked = c.plan(ItemActor::Staff(&m), submit(income, json!(11)));
    assert_eq!(code(locked.unwrap_err()), "item_approved");
    assert!(c
        .plan(ItemActor::Staff(&m), review(income, Verdict::Approve))
        .unwrap()
        .is_none());
    let reopened = c.apply(review(income, Verdict::Reopen));
    assert_eq!(reopened.event.kind, EventKind::ItemReopened);
    assert_eq!(c.item("income").state, Some(ItemState::Submitted));
    c.apply(submit(income, json!(11)));
    assert_eq!(c.item("income").submissions, 2);
    // Without hooks the status never moves.
    assert_eq!(c.request.status.as_str(), "open");
}

#[test]
fn submissions_are_checked_against_the_item() {
    let c = case(Workflow::general());
    let m = c.manager.clone();
    let staff = ItemActor::Staff(&m);
    let passport = c.id("passport");
    let files = |f: Vec<FileRecord>| ItemAction::Submit {
        item: passport,
        answer: None,
        files: f,
    };
    let zip = c.file("a.zip", "application/zip");
    assert_eq!(
        code(c.plan(staff, files(vec![zip])).unwrap_err()),
        "files[0]:type_not_allowed"
    );
    let three = vec![
        c.file("1.pdf", "application/pdf"),
        c.file("2.png", "image/png"),
        c.file("3.pdf", "application/pdf"),
    ];
    assert_eq!(
        code(c.plan(staff, files(three)).unwrap_err()),
        "files:too_many_files"
    );
    let mut foreign = c.file("x.pdf", "application/pdf");
    foreign.request_id = Some(RequestId::new());
    assert_eq!(
        code(c.plan(staff, files(vec![foreign])).unwrap_err()),
        "files[0]:unknown_file"
    );
    assert_eq!(
        code(c.plan(staff, files(vec![])).unwrap_err()),
        "files:required"
    );
    let answer_to_doc = submit(passport, json!("x"));
    assert_eq!(
        code(c.plan(staff, answer_to_doc).unwrap_err()),
        "answer:not_allowed"
    );
    let note = submit(c.id("before-you-start"), json!("x"));
    assert_eq!(code(c.plan(staff, note).unwrap_err()), "not_answerable");
    let wrong = submit(c.id("income"), json!(-1));
    assert_eq!(
        code(c.plan(staff, wrong).unwrap_err()),
        "answer:out_of_range"
    );
    let unknown = submit(ItemId::new(), json!(1));
    assert_eq!(
        c.plan(staff, unknown).unwrap_err(),
        DomainError::NotFound("item")
    );
}

#[test]
fn documents_gather_files_up_to_their_limit_and_may_approve_themselves() {
    let mut c = case(following());
    let passport = c.id("passport");
    for name in ["front.png", "back.png"] {
        let f = c.file(name, "image/png");
        c.apply(ItemAction::Submit {
            item: passport,
            answer: None,
            files: vec![f],
        });
    }
    assert_eq!(c.item("passport").files.len(), 2);
    assert_eq!(c.item("passport").submissions, 2);
    let m = c.manager.clone();
    let third = ItemAction::Submit {
        item: passport,
        answer: None,
        files: vec![c.file("more.png", "image/png")],
    };
    assert_eq!(
        code(c.plan(ItemActor::Staff(&m), third).unwrap_err()),
        "files:too_many_files"
    );
    // auto_approve: the submission is approved at once, and completing moves to done.
    let mut c = case(following());
    for item in c.rtype.items.iter_mut() {
        item.auto_approve = item.kind != ItemKind::Note;
    }
    let items =
        from_template(&c.rtype, &c.request, Some(&["income".into()]), crate::now()).unwrap();
    c.items = items;
    c.request.items = ItemProgress::of(&c.items);
    let income = c.id("income");
    c.apply(submit(income, json!(1)));
    assert_eq!(c.item("income").state, Some(ItemState::Approved));
    assert_eq!(c.request.status.as_str(), "done");
}

#[test]
fn the_recipient_only_answers_and_only_while_the_link_is_usable() {
    let mut c = case(Workflow::general());
    let mut link = PublicLink::new(
        &c.request,
        crate::link::LinkMode::OneTime,
        None,
        crate::now(),
    );
    let add = ItemAction::Add {
        id: ItemId::new(),
        input: ItemInput {
            kind: Some(ItemKind::Note),
            label: Some("x".into()),
            ..Default::default()
        },
    };
    assert!(matches!(
        c.plan(ItemActor::Recipient(&link), add).unwrap_err(),
        DomainError::Forbidden(_)
    ));
    let income = c.id("income");
    let planned = c
        .plan(ItemActor::Recipient(&link), submit(income, json!(3)))
        .unwrap()
        .unwrap();
    assert_eq!(planned.event.actor, Actor::default());
    c.take(&planned);
    link.revoked_at = Some(crate::now());
    let refused = c.plan(ItemActor::Recipient(&link), submit(income, json!(4)));
    assert_eq!(code(refused.unwrap_err()), "link_revoked");
}

#[test]
fn staff_add_edit_reorder_and_remove_items() {
    let mut c = case(Workflow::general());
    let added = c.apply(ItemAction::Add {
        id: ItemId::new(),
        input: ItemInput {
            kind: Some(ItemKind::Question),
            label: Some("Passport".into()),
            answer_type: Some(AnswerType::Date),
            required: Some(true),
            position: Some(0),
            ..Default::default()
        },
    });
    assert_eq!(added.event.kind, EventKind::ItemAdded);
    assert_eq!(
        c.items[0].spec.key, "passport-2",
        "a key unique among the request's"
    );
    assert_eq!(
        c.items.iter().map(|i| i.position).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    assert_eq!(c.request.items.required, 3);
    let id = c.items[0].id;
    let edited = c.apply(ItemAction::Edit {
        item: id,
        input: ItemInput {
            label: Some("Passport expiry".into()),
            position: Some(9),
            ..Default::default()
        },
    });
    assert_eq!(edited.event.kind, EventKind::ItemUpdated);
    assert_eq!(c.items.last().unwrap().id, id);
    assert_eq!(c.items.last().unwrap().spec.label, "Passport expiry");
    let m = c.manager.clone();
    let kind = ItemAction::Edit {
        item: id,
        input: ItemInput {
            kind: Some(ItemKind::Note),
            ..Default::default()
        },
    };
    assert_eq!(
        code(c.plan(ItemActor::Staff(&m), kind).unwrap_err()),
        "kind:kind_fixed"
    );
    let same = ItemAction::Edit {
        item: id,
        input: ItemInput {
            label: Some("Passport expiry".into()),
            ..Default::default()
        },
    };
    assert!(c.plan(ItemActor::Staff(&m), same).unwrap().is_none());
    let removed = c.apply(ItemAction::Remove { item: id });
    assert_eq!(removed.items.remove, vec![id]);
    assert_eq!(c.items.len(), 4);
    assert_eq!(c.request.items.required, 2);
    let nothing = c.plan(ItemActor::Staff(&m), ItemAction::SendBack);
    assert_eq!(code(nothing.unwrap_err()), "nothing_rejected");
}

#[test]
fn only_editors_change_items_and_reviewers_take_the_review_move() {
    let c = case(following());
    let member = staff(Role::Member, c.request.workspace_id);
    let income = c.id("income");
    let refused = c.plan(ItemActor::Staff(&member), submit(income, json!(1)));
    assert!(matches!(refused.unwrap_err(), DomainError::Forbidden(_)));
    // The assignee may edit, but the general workflow lets the assignee take in_progress →
    // done, so reviewing is theirs too; a read-only token is refused.
    let mut mine = c.request.clone();
    mine.assignee_id = member.member_id();
    let plan = |p: &Principal, r: &Request, a| {
        plan_items(
            ItemActor::Staff(p),
            r,
            &c.rtype,
            &c.items,
            a,
            None,
            crate::now(),
        )
    };
    assert!(plan(&member, &mine, submit(income, json!(1))).is_ok());
    let read_only = Principal::for_token(
        c.request.workspace_id,
        member.member,
        None,
        ScopeSet::of(&[Scope::RequestsRead]),
    );
    let refused = plan(&read_only, &mine, submit(income, json!(1)));
    assert_eq!(
        refused.unwrap_err(),
        DomainError::MissingScope(Scope::RequestsWrite)
    );
}

#[test]
fn reviewing_takes_what_the_workflow_review_move_takes() {
    // Only managers may close; the assignee may answer but not approve.
    let workflow = Workflow::new(
        serde_json::from_value::<WorkflowInput>(json!({
            "statuses": [
                {"key": "open", "label": "Open", "category": "open", "initial": true},
                {"key": "done", "label": "Done", "category": "done"},
            ],
            "transitions": [{"from": "open", "to": "done", "by": ["requests:manage"]}],
            "on_items": {"approved": "done"},
        }))
        .unwrap(),
    )
    .unwrap();
    let mut c = case(workflow);
    let member = staff(Role::Member, c.request.workspace_id);
    c.request.assignee_id = member.member_id();
    let income = c.id("income");
    let submitted = c
        .plan(ItemActor::Staff(&member), submit(income, json!(5)))
        .unwrap()
        .unwrap();
    c.take(&submitted);
    let refused = c.plan(ItemActor::Staff(&member), review(income, Verdict::Approve));
    assert!(
        matches!(
            refused.unwrap_err(),
            DomainError::TransitionForbidden { .. }
        ),
        "the assignee may not take open -> done"
    );
    let m = c.manager.clone();
    assert!(c
        .plan(ItemActor::Staff(&m), review(income, Verdict::Approve))
        .unwrap()
        .is_some());
}

#[test]
fn a_delivery_of_files_fills_the_document_items_that_take_them() {
    let c = case(Workflow::general());
    let link = PublicLink::new(
        &c.request,
        crate::link::LinkMode::OneTime,
        None,
        crate::now(),
    );
    let files = vec![
        c.file("clip.mp4", "video/mp4"),
        c.file("front.jpg", "image/jpeg"),
        c.file("back.jpg", "image/jpeg"),
        c.file("extra.pdf", "application/pdf"),
    ];
    let filled =
        fill_documents(&link, &c.request, &c.rtype, &c.items, &files, crate::now()).unwrap();
    // The passport takes images and PDFs, two at most: the first two that fit.
    let passport = filled
        .items
        .upsert
        .iter()
        .find(|i| i.spec.key == "passport")
        .unwrap();
    assert_eq!(passport.state, Some(ItemState::Submitted));
    assert_eq!(passport.files, vec![files[1].id, files[2].id]);
    assert_eq!(filled.items.submissions.len(), 1);
    assert_eq!(filled.items.submissions[0].link_id, Some(link.id));
    assert_eq!(filled.events[0].kind, EventKind::ItemSubmitted);
    assert_eq!(filled.request.items.submitted, 1);
    // Nothing that takes files: nothing changes.
    let none = fill_documents(
        &link,
        &c.request,
        &c.rtype,
        &c.items,
        &files[..1],
        crate::now(),
    )
    .unwrap();
    assert!(none.items.is_empty() && none.events.is_empty());
    assert_eq!(none.request, c.request);
}
