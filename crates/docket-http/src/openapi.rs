//! The OpenAPI 3.1 document, generated from the handlers' own `#[utoipa::path]` and types,
//! served at `/openapi.json` with an interactive reference at `/docs` (Swagger UI, served
//! from the binary: nothing is fetched from a CDN).

use crate::error::ErrorEnvelope;
use crate::state::AppState;
use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Docket",
        description = "Docket's native API: requests, workflows, members and tokens. Every error is `{\"error\": {code, message, details?, request_id}}`.",
        license(name = "Apache-2.0")
    ),
    modifiers(&BearerToken),
    components(schemas(ErrorEnvelope, docket_domain::query::SortKey, docket_domain::query::Direction, docket_domain::item::ProgressFilter)),
    security(("token" = []))
)]
struct ApiDoc;

struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("dk_…")
                    .build(),
            ),
        );
    }
}

/// Splits the documented routes into a plain router and the document describing them.
pub fn split(api: OpenApiRouter<AppState>) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(api)
        .split_for_parts();
    qualify_operation_ids(&mut doc);
    document_common_errors(&mut doc);
    (router, doc)
}

/// Handlers are named by action inside their feature module (`requests::list`,
/// `events::list`), so utoipa's default operation ids repeat; OpenAPI wants them unique
/// (client generators name methods after them). Prefix each with its tag:
/// `requests_list`, `events_list`.
fn qualify_operation_ids(doc: &mut utoipa::openapi::OpenApi) {
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in operations.into_iter().flatten() {
            let tag = op.tags.as_ref().and_then(|t| t.first()).cloned();
            if let (Some(tag), Some(id)) = (tag, op.operation_id.as_mut()) {
                if !id.starts_with(&format!("{tag}_")) {
                    *id = format!("{}_{id}", tag.replace([' ', '-'], "_"));
                }
            }
        }
    }
}

/// The errors any operation may answer, whatever its handler does, added to each operation
/// that does not document them itself: a missing or unknown credential (401), a missing
/// scope (403), the rate limit (429), a malformed query or header (400), and for operations
/// with a path parameter an unknown id (404), for those with a body a body over the
/// server's limit (413, `--body-limit-bytes`), of another type (415) or with invalid fields (422).
fn document_common_errors(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    use utoipa::openapi::{Ref, ResponseBuilder};
    let error = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                utoipa::openapi::ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorEnvelope")))
                    .build(),
            )
            .build()
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in operations.into_iter().flatten() {
            let has_path = op
                .parameters
                .iter()
                .flatten()
                .any(|p| p.parameter_in == ParameterIn::Path);
            let mut common = vec![
                ("400", "Malformed query, header or body (`bad_request`, `invalid_query`)"),
                ("401", "No credential, or one Docket does not know (`unauthorized`)"),
                ("403", "The credential lacks a scope or role this needs (`missing_scope`, `forbidden`)"),
                ("429", "Too many requests from this credential; retry after `Retry-After` seconds (`rate_limited`)"),
            ];
            if has_path {
                common.push(("404", "No such object in the workspace (`not_found`)"));
            }
            if path.starts_with("/api/v1/requests/{id}") {
                common.push(("410", "The request was deleted (`gone`)"));
            }
            // Header values are visible ASCII: the HTTP parser refuses a message with a
            // control character in a header (400, with no body) before Docket sees it.
            for p in op.parameters.iter_mut().flatten() {
                if p.parameter_in == ParameterIn::Header {
                    p.schema = Some(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .pattern(Some("^[\\x20-\\x7E]*$"))
                            .into(),
                    );
                }
            }
            if op.request_body.is_some() {
                common.push(("413", "The body is larger than the server accepts (`payload_too_large`; 1 MiB unless `--body-limit-bytes` says otherwise)"));
                common.push((
                    "415",
                    "The body is not of a type this operation reads (`unsupported_media_type`)",
                ));
                common.push(("422", "The body is not valid for this operation (`validation_failed`, with `details`)"));
            }
            for (status, description) in common {
                if !op.responses.responses.contains_key(status) {
                    op.responses
                        .responses
                        .insert(status.to_owned(), error(description).into());
                }
            }
        }
    }
}

/// The document alone, e.g. for the snapshot test.
pub fn document() -> utoipa::openapi::OpenApi {
    split(crate::api::router()).1
}

pub fn router(document: utoipa::openapi::OpenApi) -> Router<AppState> {
    Router::new().merge(SwaggerUi::new("/docs").url("/openapi.json", document))
}
