//! The published API reference: the OpenAPI document and the interactive docs.

mod common;

use common::*;
use reqwest::Method;

#[tokio::test]
async fn the_openapi_document_describes_the_api() {
    let app = spawn_app().await;
    // The document is public: no token needed.
    let r = app
        .send(app.request(Method::GET, "/openapi.json", None))
        .await
        .expect(200, "");
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let doc = r.body;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/api/v1/requests", &["get", "post"][..]),
        ("/api/v1/requests/{id}", &["get", "patch", "delete"]),
        ("/api/v1/requests/{id}/comments", &["get", "post"]),
        ("/api/v1/requests/{id}/timeline", &["get"]),
        ("/api/v1/requests/{id}/transitions", &["get"]),
        ("/api/v1/request-types", &["get", "post"]),
        ("/api/v1/request-types/{key}", &["get", "patch"]),
        ("/api/v1/members", &["get", "post"]),
        ("/api/v1/members/{id}", &["get", "patch"]),
        ("/api/v1/tokens", &["get", "post"]),
        ("/api/v1/tokens/{id}", &["delete"]),
        ("/api/v1/me", &["get"]),
        ("/api/v1/events", &["get"]),
        ("/api/v1/events/stream", &["get"]),
        ("/api/v1/webhooks", &["get", "post"]),
        ("/api/v1/webhooks/{id}", &["get", "patch", "delete"]),
        ("/api/v1/webhooks/{id}/deliveries", &["get", "post"]),
        ("/api/v1/files", &["get", "post"]),
        ("/api/v1/files/{id}", &["get", "delete"]),
        ("/api/v1/files/{id}/content", &["get"]),
        ("/api/v1/files/{id}/signed-url", &["post"]),
        ("/api/v1/files/policy", &["get", "put"]),
        ("/api/v1/requests/{id}/files", &["get", "post"]),
        ("/api/v1/requests/{id}/files/{file_id}", &["put", "delete"]),
    ] {
        let item = paths
            .get(path)
            .unwrap_or_else(|| panic!("{path} is not documented"));
        for m in methods {
            assert!(item.get(*m).is_some(), "{m} {path} is not documented");
        }
    }
    let mut ids: Vec<&str> = paths
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count, "operation ids are unique: {ids:?}");
    assert_eq!(
        doc["components"]["securitySchemes"]["token"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["ErrorEnvelope"].is_object());

    // Every reference resolves.
    let text = doc.to_string();
    for name in text.split("\"#/components/schemas/").skip(1) {
        let name = &name[..name.find('"').unwrap()];
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{name} is referenced but not defined"
        );
    }
    // Every operation documents the errors any call can meet, and every `limit` its range.
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            for status in ["400", "401", "403", "429"] {
                assert!(
                    op["responses"][status].is_object(),
                    "{method} {path} does not document {status}"
                );
            }
            if op["requestBody"].is_object() {
                for status in ["413", "415", "422"] {
                    assert!(
                        op["responses"][status].is_object(),
                        "{method} {path}: {status}"
                    );
                }
            }
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["name"] == "limit" {
                    assert_eq!(p["schema"]["minimum"], 1, "{method} {path}");
                    assert_eq!(p["schema"]["maximum"], 100, "{method} {path}");
                }
            }
        }
    }
    // Validation errors send `details` as an array of field errors, others an object.
    let details = &doc["components"]["schemas"]["ErrorBody"]["properties"]["details"];
    assert_eq!(details["oneOf"][0]["type"], "array", "{details}");
    assert_eq!(
        details["oneOf"][0]["items"]["required"],
        serde_json::json!(["field", "code", "message"])
    );

    // What is served is what the code generates.
    let generated = serde_json::to_value(docket_http::openapi::document()).unwrap();
    assert_eq!(doc, generated);

    // Any change to the API shows up here, to be reviewed (`cargo insta review`).
    insta::assert_json_snapshot!("openapi", doc);
}

#[tokio::test]
async fn the_interactive_reference_is_served() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = r.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    let config = app
        .client
        .get(app.url("/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(config.status(), 200);
    assert!(config.text().await.unwrap().contains("/openapi.json"));
}
