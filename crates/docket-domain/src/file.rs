//! Files: what a stored file is, how its name is made safe, what type it really has, which
//! types and sizes a workspace accepts, and how attaching one to a request is recorded.
//!
//! A file's bytes live in a blob store (a local directory or an S3 bucket, see
//! `docket_http::files`); this module holds the record that describes them and the rules
//! around it. Three things are never taken from the client as they come:
//!
//! - the **name** is only ever a label ([`FileName::sanitize`]): it never becomes a path,
//!   and the object is stored under `{workspace_id}/{file_id}` ([`storage_key`]);
//! - the **type** is sniffed from the first bytes ([`sniff_content_type`]), never read from
//!   the client's `Content-Type`;
//! - the **size** is counted while the bytes stream in, against the workspace's
//!   [`FilePolicy`].
//!
//! Attaching a file to a request (or detaching it) is a change of the request: it bumps
//! the request's version and writes a `request.updated` event with the change
//! `{field: "files", old, new}` in the same transaction ([`plan_attach`], [`plan_detach`]).

use crate::access::{Principal, Scope};
use crate::error::{DomainError, FieldError};
use crate::event::{Actor, Event, EventKind, FieldChange};
use crate::ids::{EventId, MemberId, RequestId, WorkspaceId};
use crate::link::LinkId;
use crate::request::{Planned, Request};
use crate::Timestamp;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

pub use crate::ids::FileId;

/// Who uploaded a file: a member, the holder of a public link, or Docket itself (a system
/// token, or a file another product's API reported).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Uploader {
    Member { id: MemberId },
    Link { id: LinkId },
    System,
}

impl Uploader {
    /// The uploader of a call made by `p`: its member, or the system for a system token.
    pub fn of(p: &Principal) -> Self {
        p.member_id()
            .map_or(Uploader::System, |id| Uploader::Member { id })
    }

    /// The stored form: a kind and, for members and links, an id.
    pub fn to_parts(self) -> (&'static str, Option<uuid::Uuid>) {
        match self {
            Uploader::Member { id } => ("member", Some(id.0)),
            Uploader::Link { id } => ("link", Some(id.0)),
            Uploader::System => ("system", None),
        }
    }

    /// Reads the stored form back; `None` when it does not describe an uploader.
    pub fn from_parts(kind: &str, id: Option<uuid::Uuid>) -> Option<Self> {
        match (kind, id) {
            ("member", Some(id)) => Some(Uploader::Member { id: MemberId(id) }),
            ("link", Some(id)) => Some(Uploader::Link { id: LinkId(id) }),
            ("system", None) => Some(Uploader::System),
            _ => None,
        }
    }
}

/// Who sees a file.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Members of the workspace only.
    #[default]
    Internal,
    /// Also shown to the recipient on the request's public-link page.
    Shared,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Internal => "internal",
            Visibility::Shared => "shared",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "internal" => Some(Visibility::Internal),
            "shared" => Some(Visibility::Shared),
            _ => None,
        }
    }
}

/// The longest name kept, in bytes of UTF-8 (the limit of common file systems, so a
/// downloaded file can be saved under its name).
pub const MAX_NAME_BYTES: usize = 255;

/// The name of a file whose client gave none that survives sanitising.
const FALLBACK_NAME: &str = "file";

/// A file's name, safe to show and to offer as a download name: one path component with
/// no directories, no control or bidirectional-override characters, no leading dots, at
/// most [`MAX_NAME_BYTES`] bytes, never empty. Unicode letters are kept.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "contract.pdf")]
pub struct FileName(String);

impl FileName {
    /// Makes any client-supplied name safe. `../../etc/passwd` becomes `passwd`,
    /// `..\..\boot.ini` becomes `boot.ini`, `a\u{0}b\nc.txt` becomes `abc.txt`, `.env`
    /// becomes `env`; a name with nothing left becomes `file`. Sanitising a sanitised name
    /// changes nothing.
    pub fn sanitize(raw: &str) -> Self {
        // Invisible characters first, so that none can hide a separator or a dot.
        let visible: String = raw.chars().filter(|c| !is_invisible(*c)).collect();
        // The last component, whichever separator the client's system uses.
        let base = visible
            .rsplit(['/', '\\'])
            .find(|part| !part.trim().is_empty())
            .unwrap_or("");
        let trimmed = trim_name(base);
        let capped = cap_length(trimmed);
        if capped.is_empty() {
            Self(FALLBACK_NAME.to_owned())
        } else {
            Self(capped)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The extension, lower-cased, without the dot (`pdf` for `Contract.PDF`).
    pub fn extension(&self) -> Option<String> {
        let (stem, ext) = self.0.rsplit_once('.')?;
        (!stem.is_empty() && !ext.is_empty()).then(|| ext.to_lowercase())
    }
}

impl fmt::Display for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Control characters, and the format characters that change how text around them is
/// shown (zero-width spaces and joiners, bidirectional overrides such as the one that
/// makes `evil\u{202e}fdp.exe` look like `evilexe.pdf`, the byte-order mark).
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}')
}

/// Leading whitespace and dots (no hidden files, no `..`), trailing whitespace and dots
/// (Windows drops them, so `a.pdf.` would save as something else).
fn trim_name(s: &str) -> &str {
    s.trim_start_matches(|c: char| c == '.' || c.is_whitespace())
        .trim_end_matches(|c: char| c == '.' || c.is_whitespace())
}

/// Cuts a name to [`MAX_NAME_BYTES`] at a character boundary, keeping a short extension.
fn cap_length(name: &str) -> String {
    if name.len() <= MAX_NAME_BYTES {
        return name.to_owned();
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.len() <= 16 => (stem, Some(ext)),
        _ => (name, None),
    };
    let room = MAX_NAME_BYTES - ext.map_or(0, |e| e.len() + 1);
    let mut cut = room.min(stem.len());
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    let stem = trim_name(&stem[..cut]);
    match ext {
        Some(ext) if !stem.is_empty() => format!("{stem}.{ext}"),
        Some(ext) => ext.to_owned(),
        None => stem.to_owned(),
    }
}

/// A stored file.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FileRecord {
    pub id: FileId,
    #[serde(skip)]
    pub workspace_id: WorkspaceId,
    /// The request the file is attached to, if any.
    pub request_id: Option<RequestId>,
    /// The client's name, sanitised.
    pub name: FileName,
    /// Sniffed from the bytes, never the client's claim.
    pub content_type: String,
    /// Bytes.
    pub size: u64,
    /// Hex SHA-256 of the bytes; unknown (`null`) for an object Docket did not receive
    /// itself, such as a media file Gipper's client put in the bucket directly.
    pub sha256: Option<String>,
    pub uploaded_by: Uploader,
    pub visibility: Visibility,
    /// Where the bytes are in the blob store: `{workspace_id}/{file_id}` for uploads.
    #[serde(skip)]
    pub storage_key: String,
    pub created_at: DateTime<Utc>,
}

/// The blob-store key of an uploaded file. The client's name never takes part in it.
pub fn storage_key(ws: WorkspaceId, id: FileId) -> String {
    format!("{ws}/{id}")
}

impl FileRecord {
    /// Whether Docket wrote the object itself (under [`storage_key`]), and so deletes it
    /// with the record. An object another product put in the bucket is left alone.
    pub fn owns_object(&self) -> bool {
        self.storage_key == storage_key(self.workspace_id, self.id)
    }

    /// How the file appears in a timeline change: `{id, name, size, content_type}`.
    pub fn summary(&self) -> Value {
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "size": self.size,
            "content_type": self.content_type,
        })
    }
}

/// The timeline change that records attaching `file`.
pub fn attached_change(file: &FileRecord) -> FieldChange {
    FieldChange::new("files", &Value::Null, &file.summary())
}

/// The timeline change that records detaching (or deleting) `file`.
pub fn detached_change(file: &FileRecord) -> FieldChange {
    FieldChange::new("files", &file.summary(), &Value::Null)
}

/// Plans attaching `file` to `current`: the request with a new version and the
/// `request.updated` event recording it. `Ok(None)` when the file is already attached to
/// this request. Refused when the request is deleted (`Gone`), or the file is attached to
/// another request (`Conflict { code: "file_attached" }`). The caller has checked that
/// `actor` may edit the request.
pub fn plan_attach(
    actor: Actor,
    current: &Request,
    file: &FileRecord,
    now: Timestamp,
) -> Result<Option<Planned>, DomainError> {
    if file.workspace_id != current.workspace_id {
        return Err(DomainError::NotFound("file"));
    }
    if current.deleted_at.is_some() {
        return Err(DomainError::Gone);
    }
    match file.request_id {
        Some(r) if r == current.id => return Ok(None),
        Some(_) => {
            return Err(DomainError::Conflict {
                code: "file_attached",
                message: "the file is attached to another request; detach it first".into(),
            })
        }
        None => {}
    }
    Ok(Some(request_change(
        actor,
        current,
        attached_change(file),
        now,
    )))
}

/// Plans detaching `file` from `current` (because it is detached or deleted): a new
/// version and the event recording it. Recorded on a deleted request too, whose timeline
/// is kept: the file is no longer part of it.
pub fn plan_detach(
    actor: Actor,
    current: &Request,
    file: &FileRecord,
    now: Timestamp,
) -> Result<Planned, DomainError> {
    if file.workspace_id != current.workspace_id || file.request_id != Some(current.id) {
        return Err(DomainError::NotFound("file"));
    }
    Ok(request_change(actor, current, detached_change(file), now))
}

fn request_change(actor: Actor, current: &Request, change: FieldChange, now: Timestamp) -> Planned {
    let mut next = current.clone();
    next.version += 1;
    next.updated_at = now;
    let event = Event {
        id: EventId::new(),
        seq: 0,
        workspace_id: next.workspace_id,
        request_id: next.id,
        kind: EventKind::Updated,
        actor,
        at: now,
        changes: vec![change],
        comment: None,
    };
    Planned {
        request: next,
        event,
        follow_ups: Vec::new(),
        items: Default::default(),
    }
}

/// Whether `p` may add files to `request` or take them off it: with `files:write`, what
/// editing the request takes (the rule of `PATCH`): its requester, its assignee, or
/// `requests:manage`.
pub fn check_may_attach(p: &Principal, request: &Request) -> Result<(), DomainError> {
    p.require(Scope::FilesWrite)?;
    let me = p.member_id();
    if me.is_some() && (request.requester_id == me || request.assignee_id == me) {
        return Ok(());
    }
    p.require(Scope::RequestsManage).map_err(|e| match e {
        DomainError::MissingScope(_) => e,
        _ => DomainError::Forbidden(
            "only the requester, the assignee or callers with requests:manage may change this request's files"
                .into(),
        ),
    })
}

/// Whether `p` may delete `file`: with `files:write`, its uploader, or anyone with
/// `requests:manage` (moderators, admins, owners).
pub fn check_may_delete(p: &Principal, file: &FileRecord) -> Result<(), DomainError> {
    p.require(Scope::FilesWrite)?;
    let mine = matches!((file.uploaded_by, p.member_id()), (Uploader::Member { id }, Some(me)) if id == me);
    if mine {
        return Ok(());
    }
    p.require(Scope::RequestsManage).map_err(|e| match e {
        DomainError::MissingScope(_) => e,
        _ => DomainError::Forbidden(
            "only the uploader or callers with requests:manage may delete this file".into(),
        ),
    })
}

/// The largest `max_bytes` a policy may set: 5 GiB, far beyond what a request desk needs.
pub const MAX_POLICY_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// What a workspace accepts: a size limit and the sniffed types allowed, as patterns
/// (`application/pdf`, `image/*`, `*/*`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FilePolicy {
    /// The largest file accepted, in bytes (413 `file_too_large` beyond).
    pub max_bytes: u64,
    /// Sniffed types accepted (415 `unsupported_type` otherwise). Empty: no uploads.
    pub allowed_types: Vec<String>,
}

/// At most this many patterns in a policy.
const MAX_PATTERNS: usize = 100;

impl Default for FilePolicy {
    /// 25 MiB of images, PDF, plain text and CSV, office documents (Microsoft and
    /// OpenDocument), ZIP archives and common video.
    fn default() -> Self {
        let types = [
            "image/*",
            "application/pdf",
            "text/plain",
            "text/csv",
            "application/rtf",
            "application/msword",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.ms-excel",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.ms-powerpoint",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "application/vnd.oasis.opendocument.text",
            "application/vnd.oasis.opendocument.spreadsheet",
            "application/vnd.oasis.opendocument.presentation",
            "application/zip",
            "video/mp4",
            "video/quicktime",
            "video/webm",
            "video/x-m4v",
            "video/x-msvideo",
            "video/x-matroska",
            "video/mpeg",
        ];
        Self {
            max_bytes: 25 * 1024 * 1024,
            allowed_types: types.iter().map(|t| (*t).to_owned()).collect(),
        }
    }
}

impl FilePolicy {
    /// A policy, checked: `max_bytes` from 1 to [`MAX_POLICY_BYTES`], at most 100 patterns,
    /// each `type/subtype`, `type/*` or `*/*`. Patterns are lower-cased and deduplicated.
    pub fn new(max_bytes: u64, allowed_types: Vec<String>) -> Result<Self, DomainError> {
        let mut errors = Vec::new();
        if max_bytes == 0 || max_bytes > MAX_POLICY_BYTES {
            errors.push(FieldError::new(
                "max_bytes",
                "out_of_range",
                format!("from 1 to {MAX_POLICY_BYTES} bytes"),
            ));
        }
        if allowed_types.len() > MAX_PATTERNS {
            errors.push(FieldError::new(
                "allowed_types",
                "too_many",
                format!("at most {MAX_PATTERNS} patterns"),
            ));
        }
        let mut patterns: Vec<String> = Vec::new();
        for (i, raw) in allowed_types.iter().enumerate() {
            let p = raw.trim().to_ascii_lowercase();
            if !is_valid_pattern(&p) {
                errors.push(FieldError::new(
                    format!("allowed_types[{i}]"),
                    "invalid",
                    "a media type pattern such as application/pdf, image/* or */*",
                ));
            } else if !patterns.contains(&p) {
                patterns.push(p);
            }
        }
        if !errors.is_empty() {
            return Err(DomainError::Validation(errors));
        }
        Ok(Self {
            max_bytes,
            allowed_types: patterns,
        })
    }

    /// Whether a (sniffed) content type is accepted. Parameters (`; charset=...`) and case
    /// are ignored.
    pub fn allows(&self, content_type: &str) -> bool {
        pattern_allows(&self.allowed_types, content_type)
    }
}

/// Whether a (sniffed) content type matches one of `patterns` (`type/subtype`, `type/*`,
/// `*/*`, lower case). Parameters and case of the type are ignored.
pub fn pattern_allows(patterns: &[String], content_type: &str) -> bool {
    {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let Some((kind, _)) = essence.split_once('/') else {
            return false;
        };
        patterns.iter().any(|p| match p.split_once('/') {
            Some(("*", "*")) => true,
            Some((k, "*")) => k == kind,
            _ => *p == essence,
        })
    }
}

pub(crate) fn is_valid_pattern(p: &str) -> bool {
    fn token(s: &str) -> bool {
        !s.is_empty()
            && s.len() <= 127
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$&^_.+-".contains(&b))
    }
    match p.split_once('/') {
        Some(("*", "*")) => true,
        Some((kind, "*")) => token(kind),
        Some((kind, sub)) => token(kind) && token(sub),
        None => false,
    }
}

/// How many leading bytes [`sniff_content_type`] wants: enough for `infer` to find the
/// inner entries of an Office Open XML archive.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// The type of a file, judged from its first bytes (`head`, at most [`SNIFF_BYTES`];
/// `complete` when it is the whole file) and never from what the client claimed.
///
/// A signature `infer` recognises wins (`image/png` for a PNG named `x.pdf`); otherwise
/// UTF-8 text without NUL is `text/plain`, anything else `application/octet-stream`. The
/// name's extension only picks a member of the family the bytes already proved: a text
/// file named `.csv` is `text/csv`; a ZIP named `.docx` (whose inner entries lie beyond
/// the head) is a Word document; a compound file (the container of legacy Office
/// documents, whose type is recorded deep inside it) named `.doc`, `.xls` or `.ppt` is
/// that document.
pub fn sniff_content_type(head: &[u8], name: &FileName, complete: bool) -> String {
    let ext = name.extension();
    let ext = ext.as_deref();
    if let Some(kind) = infer::get(head) {
        let sniffed = kind.mime_type();
        let refined = match (sniffed, ext) {
            ("application/zip", Some("docx")) => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            ("application/zip", Some("xlsx")) => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
            ("application/zip", Some("pptx")) => {
                "application/vnd.openxmlformats-officedocument.presentationml.presentation"
            }
            ("application/zip", Some("odt")) => "application/vnd.oasis.opendocument.text",
            ("application/zip", Some("ods")) => "application/vnd.oasis.opendocument.spreadsheet",
            ("application/zip", Some("odp")) => "application/vnd.oasis.opendocument.presentation",
            ("application/x-ole-storage", Some("doc")) => "application/msword",
            ("application/x-ole-storage", Some("xls")) => "application/vnd.ms-excel",
            ("application/x-ole-storage", Some("ppt")) => "application/vnd.ms-powerpoint",
            (other, _) => other,
        };
        return refined.to_owned();
    }
    if is_text(head, complete) {
        return if ext == Some("csv") {
            "text/csv".to_owned()
        } else {
            "text/plain".to_owned()
        };
    }
    "application/octet-stream".to_owned()
}

/// UTF-8 without NUL. A head cut mid-character is still text when the file goes on.
fn is_text(head: &[u8], complete: bool) -> bool {
    if head.contains(&0) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => !complete && e.error_len().is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(raw: &str) -> String {
        FileName::sanitize(raw).as_str().to_owned()
    }

    #[test]
    fn names_lose_directories_and_traversal() {
        assert_eq!(clean("../../etc/passwd"), "passwd");
        assert_eq!(clean("..\\..\\boot.ini"), "boot.ini");
        assert_eq!(clean("C:\\Users\\me\\Report.pdf"), "Report.pdf");
        assert_eq!(clean("/abs/path/to/x.png"), "x.png");
        assert_eq!(clean("dir/"), "dir");
        assert_eq!(clean("a/.."), "file");
        assert_eq!(clean(".."), "file");
        assert_eq!(clean("../"), "file");
    }

    #[test]
    fn names_lose_control_characters_and_leading_dots() {
        assert_eq!(clean("a\u{0}b\nc.txt"), "abc.txt");
        assert_eq!(clean("line\r\nbreak.txt"), "linebreak.txt");
        assert_eq!(clean(".env"), "env");
        assert_eq!(clean("...hidden"), "hidden");
        assert_eq!(clean("  spaced out  "), "spaced out");
        assert_eq!(clean("trailing.pdf. . "), "trailing.pdf");
        assert_eq!(clean("evil\u{202e}fdp.exe"), "evilfdp.exe");
        assert_eq!(clean("zero\u{200b}width.txt"), "zerowidth.txt");
        // A NUL cannot smuggle a separator past the split.
        assert_eq!(clean("ok.txt\u{0}/../../x"), "x");
    }

    #[test]
    fn names_keep_unicode_and_are_never_empty() {
        assert_eq!(clean("Café crème.pdf"), "Café crème.pdf");
        assert_eq!(clean("報告書.docx"), "報告書.docx");
        assert_eq!(clean("📎.png"), "📎.png");
        assert_eq!(clean(""), "file");
        assert_eq!(clean("\u{0}\n\t"), "file");
        assert_eq!(clean("///"), "file");
    }

    #[test]
    fn long_names_are_cut_at_a_character_boundary_keeping_the_extension() {
        let long = format!("{}.pdf", "é".repeat(300));
        let cut = clean(&long);
        assert!(cut.len() <= MAX_NAME_BYTES, "{}", cut.len());
        assert!(cut.ends_with(".pdf"));
        assert!(cut.starts_with('é'));
        let no_ext = "x".repeat(1000);
        assert_eq!(clean(&no_ext).len(), MAX_NAME_BYTES);
        let long_ext = format!("a.{}", "y".repeat(400));
        assert_eq!(clean(&long_ext).len(), MAX_NAME_BYTES);
    }

    #[test]
    fn sanitising_is_idempotent() {
        let samples = [
            "../../etc/passwd",
            "..\\..\\boot.ini",
            "a\u{0}b\nc.txt",
            ". .x. .",
            "Café crème.pdf",
            &format!("{}.pdf", "é".repeat(300)),
            &format!(". {}", "a".repeat(300)),
            &format!("{}. .pdf", "b".repeat(250)),
            "",
        ];
        for s in samples {
            let once = clean(s);
            assert_eq!(clean(&once), once, "{s:?}");
            assert!(!once.is_empty());
            assert!(!once.starts_with('.'));
            assert!(!once.contains(['/', '\\']));
            assert!(!once.chars().any(char::is_control));
        }
    }

    #[test]
    fn extensions_are_lower_cased() {
        assert_eq!(
            FileName::sanitize("Contract.PDF").extension().as_deref(),
            Some("pdf")
        );
        assert_eq!(FileName::sanitize("README").extension(), None);
        assert_eq!(FileName::sanitize(".bashrc").extension(), None);
    }

    #[test]
    fn the_default_policy_takes_documents_and_media_but_not_programs() {
        let p = FilePolicy::default();
        assert_eq!(p.max_bytes, 25 * 1024 * 1024);
        for ok in [
            "image/png",
            "image/jpeg",
            "application/pdf",
            "text/plain",
            "text/csv",
            "application/zip",
            "video/mp4",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ] {
            assert!(p.allows(ok), "{ok}");
        }
        for refused in [
            "application/x-executable",
            "application/vnd.microsoft.portable-executable",
            "text/html",
            "text/x-shellscript",
            "application/octet-stream",
            "garbage",
        ] {
            assert!(!p.allows(refused), "{refused}");
        }
    }

    #[test]
    fn patterns_match_exactly_by_type_or_everything() {
        let p = FilePolicy::new(10, vec!["image/*".into(), "Application/PDF".into()]).unwrap();
        assert_eq!(p.allowed_types, ["image/*", "application/pdf"]);
        assert!(p.allows("image/png"));
        assert!(p.allows("IMAGE/HEIF"));
        assert!(p.allows("application/pdf; charset=binary"));
        assert!(!p.allows("application/pdfx"));
        assert!(!p.allows("video/mp4"));
        assert!(!p.allows("image"));
        let all = FilePolicy::new(10, vec!["*/*".into()]).unwrap();
        assert!(all.allows("application/x-executable"));
        let none = FilePolicy::new(10, vec![]).unwrap();
        assert!(!none.allows("text/plain"));
    }

    #[test]
    fn policies_are_checked() {
        let err =
            FilePolicy::new(0, vec!["pdf".into(), "*/png".into(), "image/*".into()]).unwrap_err();
        let DomainError::Validation(fields) = err else {
            panic!("expected a validation error")
        };
        let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["max_bytes", "allowed_types[0]", "allowed_types[1]"]);
        assert!(FilePolicy::new(MAX_POLICY_BYTES + 1, vec![]).is_err());
        let dup = FilePolicy::new(1, vec!["text/plain".into(), "text/plain ".into()]).unwrap();
        assert_eq!(dup.allowed_types, ["text/plain"]);
    }

    const PNG: &[u8] = &[
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, b'I', b'H', b'D', b'R',
    ];

    #[test]
    fn sniffing_trusts_the_bytes_not_the_name() {
        let name = |n: &str| FileName::sanitize(n);
        assert_eq!(sniff_content_type(PNG, &name("x.pdf"), true), "image/png");
        assert_eq!(
            sniff_content_type(b"%PDF-1.7\n...", &name("x.png"), true),
            "application/pdf"
        );
        let mut elf = vec![
            0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0x3e, 0,
        ];
        elf.resize(64, 0);
        assert_eq!(
            sniff_content_type(&elf, &name("notes.txt"), true),
            "application/x-executable"
        );
        assert_eq!(
            sniff_content_type("plain words, ünïcödé".as_bytes(), &name("a.bin"), true),
            "text/plain"
        );
        assert_eq!(
            sniff_content_type(b"a,b\n1,2\n", &name("data.CSV"), true),
            "text/csv"
        );
        assert_eq!(
            sniff_content_type(b"a\0b", &name("a.txt"), true),
            "application/octet-stream"
        );
        assert_eq!(
            sniff_content_type(&[0xff, 0xfe, 0xfd], &name("a.txt"), true),
            "application/octet-stream"
        );
    }

    #[test]
    fn a_head_cut_inside_a_character_is_still_text_unless_the_file_ended_there() {
        let text = "ab€".as_bytes();
        let cut = &text[..text.len() - 1];
        assert_eq!(
            sniff_content_type(cut, &FileName::sanitize("a"), false),
            "text/plain"
        );
        assert_eq!(
            sniff_content_type(cut, &FileName::sanitize("a"), true),
            "application/octet-stream"
        );
    }

    #[test]
    fn attaching_is_a_versioned_change_recorded_on_the_timeline() {
        use crate::ids::RequestTypeId;
        use crate::request::TypeKey;
        use crate::workflow::{Category, StatusKey};
        let now = crate::now();
        let ws = WorkspaceId::new();
        let request = Request {
            id: RequestId::new(),
            workspace_id: ws,
            number: 1,
            type_key: TypeKey::general(),
            type_id: RequestTypeId::new(),
            title: "t".into(),
            description: String::new(),
            status: StatusKey::parse("open").unwrap(),
            category: Category::Open,
            requester_id: None,
            assignee_id: None,
            due_at: None,
            data: Default::default(),
            tags: vec![],
            subject: None,
            items: Default::default(),
            version: 3,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        let id = FileId::new();
        let mut file = FileRecord {
            id,
            workspace_id: ws,
            request_id: None,
            name: FileName::sanitize("a.pdf"),
            content_type: "application/pdf".into(),
            size: 10,
            sha256: None,
            uploaded_by: Uploader::System,
            visibility: Visibility::Internal,
            storage_key: storage_key(ws, id),
            created_at: now,
        };
        assert!(file.owns_object());
        let planned = plan_attach(Actor::default(), &request, &file, now)
            .unwrap()
            .expect("a change");
        assert_eq!(planned.request.version, 4);
        assert_eq!(planned.event.kind, EventKind::Updated);
        assert_eq!(planned.event.changes[0].field, "files");
        assert_eq!(planned.event.changes[0].old, Value::Null);
        assert_eq!(planned.event.changes[0].new["name"], "a.pdf");
        assert_eq!(planned.event.changes[0].new["size"], 10);

        file.request_id = Some(request.id);
        assert!(plan_attach(Actor::default(), &request, &file, now)
            .unwrap()
            .is_none());
        let detached = plan_detach(Actor::default(), &request, &file, now).unwrap();
        assert_eq!(detached.event.changes[0].new, Value::Null);
        assert_eq!(detached.event.changes[0].old["id"], serde_json::json!(id));

        file.request_id = Some(RequestId::new());
        assert!(matches!(
            plan_attach(Actor::default(), &request, &file, now),
            Err(DomainError::Conflict {
                code: "file_attached",
                ..
            })
        ));
        let mut deleted = request.clone();
        deleted.deleted_at = Some(now);
        file.request_id = None;
        assert_eq!(
            plan_attach(Actor::default(), &deleted, &file, now).unwrap_err(),
            DomainError::Gone
        );
    }

    #[test]
    fn uploaders_round_trip_through_their_stored_form() {
        for u in [
            Uploader::Member {
                id: MemberId::new(),
            },
            Uploader::Link { id: LinkId::new() },
            Uploader::System,
        ] {
            let (kind, id) = u.to_parts();
            assert_eq!(Uploader::from_parts(kind, id), Some(u));
        }
        assert_eq!(Uploader::from_parts("member", None), None);
        assert_eq!(
            serde_json::to_value(Uploader::System).unwrap(),
            serde_json::json!({"kind": "system"})
        );
    }
}
