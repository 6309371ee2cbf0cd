//! The OpenAPI 3.1 document, generated from the handlers' own `#[utoipa::path]` and types,
//! served at `/openapi.json` with an interactive reference at `/docs` (Swagger UI, served
//! from the binary: nothing is fetched from a CDN).

use crate::app::AppState;
use crate::error::ErrorEnvelope;
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
    components(schemas(ErrorEnvelope)),
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

/// The document alone, e.g. for the snapshot test.
pub fn document() -> utoipa::openapi::OpenApi {
    split(crate::api::router()).1
}

pub fn router(document: utoipa::openapi::OpenApi) -> Router<AppState> {
    Router::new().merge(SwaggerUi::new("/docs").url("/openapi.json", document))
}
