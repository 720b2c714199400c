//! Issue 10: `integritas serve` as a person runs it — the real binary on
//! a temporary data folder: the first administrator's one-time password,
//! the folder held while it runs (the CLI points at the API, `verify` goes
//! through the server), SIGTERM letting it go; and a write in flight that
//! shutdown lets finish.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use flate2::Compression;
use flate2::write::GzEncoder;
use integritas_server::ServerConfig;
use integritas_server::client;
use integritas_tests::server::TestServer;
use integritas_tests::{Install, binary, repo_root};
use serde_json::{Value, json};

/// A running `integritas serve` and what it printed before listening.
struct Served {
    child: Child,
    address: String,
    printed: Vec<String>,
}

impl Served {
    fn start(install: &Install, admin_password: Option<&str>) -> Served {
        let mut command = Command::new(binary());
        command
            .arg("--data")
            .arg(install.data())
            .arg("--packs")
            .arg(&install.packs)
            .arg("--templates")
            .arg(repo_root().join("templates"))
            .args(["serve", "--listen", "127.0.0.1:0", "--insecure-cookies"])
            .env_remove(integritas_server::ADMIN_PASSWORD_ENV)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(password) = admin_password {
            command.env(integritas_server::ADMIN_PASSWORD_ENV, password);
        }
        let mut child = command.spawn().expect("integritas serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut printed = Vec::new();
        let mut address = None;
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("a line");
            if let Some(rest) = line.split("http://").nth(1) {
                address = rest.split('/').next().map(str::to_string);
                printed.push(line);
                break;
            }
            printed.push(line);
        }
        Served { child, address: address.expect("the server says where it listens"), printed }
    }

    fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> client::Response {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(auth) = &auth {
            headers.push(("Authorization", auth));
        }
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        client::request(&self.address, method, path, &headers, body.as_bytes()).expect("the server answers")
    }

    /// Signs in and returns a bearer token (made through the session).
    fn token(&self, user: &str, password: &str) -> String {
        let login = self.call("POST", "/api/v1/auth/login", None, Some(json!({"user": user, "password": password})));
        assert_eq!(login.status, 200, "{}", login.text());
        let cookie = login.header("set-cookie").and_then(|c| c.split(';').next()).expect("cookie").to_string();
        let csrf = login.json()["csrf_token"].as_str().expect("csrf").to_string();
        let made = client::request(
            &self.address,
            "POST",
            "/api/v1/auth/tokens",
            &[("Cookie", &cookie), ("X-CSRF-Token", &csrf), ("Content-Type", "application/json")],
            br#"{"name": "t"}"#,
        )
        .expect("answer");
        made.json()["secret"].as_str().map(str::to_string).unwrap_or_default()
    }

    fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
        assert!(killed.success());
        self.child.wait().expect("the server exits")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_first_start_prints_a_one_time_password_that_must_be_changed_first() {
    let install = Install::default();
    let served = Served::start(&install, None);
    let line = served.printed.iter().find(|l| l.contains("one-time password")).expect("the password is printed once");
    let password = line.rsplit(' ').next().expect("password").to_string();
    assert_eq!(password.len(), 20, "{line}");
    let login = served.call("POST", "/api/v1/auth/login", None, Some(json!({"user": "admin", "password": password})));
    assert_eq!(login.json()["must_change_password"], true, "{}", login.text());
    let cookie = login.header("set-cookie").and_then(|c| c.split(';').next()).expect("cookie").to_string();
    let csrf = login.json()["csrf_token"].as_str().expect("csrf").to_string();
    let with_session = |method: &str, path: &str, body: &str| {
        client::request(
            &served.address,
            method,
            path,
            &[("Cookie", &cookie), ("X-CSRF-Token", &csrf), ("Content-Type", "application/json")],
            body.as_bytes(),
        )
        .expect("answer")
    };
    assert_eq!(with_session("GET", "/api/v1/plans", "").status, 403, "nothing before the password is changed");
    let body = json!({"current": password, "new": "a passphrase of my own"}).to_string();
    assert_eq!(with_session("PUT", "/api/v1/auth/password", &body).status, 204);
    assert_eq!(with_session("GET", "/api/v1/plans", "").status, 200);
    assert!(served.stop().success());
}

#[test]
fn while_a_server_holds_the_folder_the_cli_points_at_its_api_and_verify_goes_through_it() {
    let install = Install::default();
    let served = Served::start(&install, Some("admin-password-1"));
    assert!(!served.printed.iter().any(|l| l.contains("password")), "a given password is never printed");
    let token = served.token("admin", "admin-password-1");
    let created = served.call(
        "POST",
        "/api/v1/institutions",
        Some(&token),
        Some(json!({"id": "grad-x", "name": "Grad X", "jurisdiction": "rs", "timezone": "Europe/Vienna"})),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let plan = served.call(
        "POST",
        "/api/v1/plans",
        Some(&token),
        Some(json!({"institution": "grad-x", "workflow": "rs/three_phase"})),
    );
    assert_eq!(plan.status, 201, "{}", plan.text());
    let data = install.data();
    let holder: Value =
        serde_json::from_slice(&std::fs::read(data.join("server.json")).expect("server.json")).expect("json");
    assert_eq!(holder["pid"], served.child.id());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("server.token")).expect("token file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the local token is the owner's alone");
    }
    let listed = install.run("2030-01-01", &["plan", "list"]);
    assert_eq!(listed.code, 1);
    let expected = format!("a server (pid {}) holds the data folder", served.child.id());
    assert!(listed.stderr.contains(&expected) && listed.stderr.contains(&served.address), "{}", listed.stderr);
    let verified = install.run("2030-01-01", &["verify"]);
    assert_eq!(verified.code, 0, "{}{}", verified.stdout, verified.stderr);
    assert!(
        verified.stdout.contains("1 events in intact chains") && verified.stdout.contains("checked by the server"),
        "{}",
        verified.stdout
    );
    // A backup through the running server restores into a new folder.
    let file = install.dir.path().join("backup.jsonl.gz");
    let out = file.to_string_lossy().to_string();
    let backed = install.run("2030-01-01", &["backup", "--out", &out]);
    assert_eq!(backed.code, 0, "{}{}", backed.stdout, backed.stderr);
    assert!(backed.stdout.contains("through the server"), "{}", backed.stdout);
    let restored = install.dir.path().join("restored");
    let run = Command::new(binary()).arg("--data").arg(&restored).args(["restore", &out]).output().expect("restore");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(served.stop().success(), "SIGTERM stops it cleanly");
    assert!(!data.join("server.json").exists() && !data.join("server.token").exists(), "the folder is let go");
    // The date of an act is the server's: a server takes no --today.
    let simulated = install.run("2030-01-01", &["serve"]);
    assert_eq!(simulated.code, 1);
    assert!(simulated.stderr.contains("--today"), "{}", simulated.stderr);
    let listed = install.ok("2030-01-01", &["plan", "list"]);
    assert_eq!(listed[0]["id"], "plan-1", "{listed}");
}

#[test]
fn shutdown_lets_a_write_in_flight_finish() {
    let server = TestServer::start_with(ServerConfig { secure_cookies: false, ..Default::default() });
    // Installing a pack compiles its plugin and runs its scenarios: a slow write.
    let work = tempfile::tempdir().expect("tempdir");
    let pack = integritas_tests::ut::write_pack(work.path(), "1.0.0", |_, text| text);
    let archive = work.path().join("ut.tar.gz");
    let mut builder =
        tar::Builder::new(GzEncoder::new(std::fs::File::create(&archive).expect("create"), Compression::fast()));
    builder.append_dir_all("ut", &pack).expect("append");
    builder.into_inner().expect("tar").finish().expect("gzip");
    let bytes = std::fs::read(&archive).expect("archive");
    let (address, admin) = (server.address.clone(), server.admin.clone());
    let upload = std::thread::spawn(move || {
        let auth = format!("Bearer {admin}");
        client::request(
            &address,
            "POST",
            "/api/v1/packs",
            &[("Authorization", &auth), ("Content-Type", "application/octet-stream")],
            &bytes,
        )
        .expect("the install is answered")
    });
    // Stop while the install runs (it takes well over this).
    std::thread::sleep(std::time::Duration::from_millis(300));
    let dir = server.stop();
    let response = upload.join().expect("upload thread");
    assert_eq!(response.status, 201, "{}", response.text());
    assert!(dir.path().join("data/packs/ut/1.0.0/pack.ron").is_file(), "the pack was installed whole");
}
