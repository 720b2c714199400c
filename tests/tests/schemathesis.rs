//! Issue 10: a property-based run of the whole OpenAPI document with
//! schemathesis (PyPI; `.ci/run` installs it) against the real server as
//! an administrator: no response may be a server error, and every response
//! must fit the document (schema and content type).

use std::process::Command;

use integritas_server::ServerConfig;
use integritas_tests::server::TestServer;
use serde_json::json;

/// Examples per operation: enough to reach every status an operation
/// documents, few enough for CI's time budget (about a minute).
const EXAMPLES: &str = "25";

const CONFIG: &str = r#"
[[operations]]
include-path-regex = "^/api/v1/plans/[{]id[}]"
parameters = { "path.id" = "plan-1", "path.form" = "coordinator_decision", "path.document" = "coordinator_decision" }

[[operations]]
include-path-regex = "^/api/v1/institutions/[{]id[}]"
parameters = { "path.id" = "grad-x", "path.user" = "admin", "path.role" = "head" }

[[operations]]
include-path-regex = "^/api/v1/packs/[{]id[}]"
parameters = { "path.id" = "rs" }
"#;

#[test]
fn the_whole_api_holds_to_its_document_under_schemathesis() {
    let server = TestServer::start_with(ServerConfig { secure_cookies: false, ..Default::default() });
    let admin = server.admin.clone();
    // Something to find: an institution with a plan.
    server.expect(
        201,
        "POST",
        "/api/v1/institutions",
        Some(&admin),
        Some(json!({"id": "grad-x", "name": "Grad X", "jurisdiction": "rs"})),
    );
    server.expect(
        201,
        "POST",
        "/api/v1/plans",
        Some(&admin),
        Some(json!({"institution": "grad-x", "workflow": "rs/three_phase"})),
    );
    let report = server.dir.path().join("schemathesis");
    // Ids that exist, so that operations reach past their 404s.
    let config = server.dir.path().join("schemathesis.toml");
    std::fs::write(&config, CONFIG).expect("config");
    // `.ci/run` says where pip put it; otherwise it is looked up on PATH.
    let program = std::env::var("SCHEMATHESIS").unwrap_or_else(|_| "schemathesis".into());
    let output = Command::new(program)
        .arg("--config-file")
        .arg(&config)
        .args(["run", &format!("http://{}/api/v1/openapi.json", server.address)])
        .args(["--header", &format!("Authorization: Bearer {admin}")])
        .args(["--checks", "not_a_server_error,response_schema_conformance,content_type_conformance"])
        // Revoking tokens would take the run's own token away (they are listed by GET /auth/tokens).
        .args(["--exclude-path-regex", "^/api/v1/auth/tokens/"])
        .args(["--max-examples", EXAMPLES, "--seed", "10", "--no-shrink", "--phases", "examples,coverage,fuzzing"])
        .args(["--request-timeout", "60", "--workers", "2"])
        .arg("--report-dir")
        .arg(&report)
        .env("NO_COLOR", "1")
        .output()
        .expect("schemathesis runs (Python package `schemathesis`; .ci/run installs it with pip)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "schemathesis found problems:\n{stdout}\n{stderr}");
    assert!(stdout.contains("passed"), "{stdout}");
    println!("{stdout}");
}
