//! A real server for the end-to-end tests: the `integritas-server` app on
//! a 127.0.0.1:0 listener in its own thread and runtime, over a real sled
//! store in a temporary data folder with the bundled packs; requests go
//! through a real socket.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::thread::JoinHandle;

use integritas_server::client::{self, Response};
use integritas_server::{ServeOptions, ServerConfig};
use serde_json::Value;

use crate::{packs_dir, repo_root};

/// The first administrator's password in tests.
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

pub struct TestServer {
    pub address: String,
    pub dir: tempfile::TempDir,
    /// A bearer token of `admin`.
    pub admin: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// A server with the settings of `integritas serve` (plain-HTTP cookies).
    pub fn start() -> TestServer {
        TestServer::start_with(ServerConfig { secure_cookies: false, ..Default::default() })
    }

    pub fn start_with(config: ServerConfig) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        TestServer::start_in(dir, config)
    }

    /// A server on an existing data folder (kept in `dir`).
    pub fn start_in(dir: tempfile::TempDir, config: ServerConfig) -> TestServer {
        let options = ServeOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data: dir.path().join("data"),
            packs: Some(packs_dir()),
            templates: Some(repo_root().join("templates")),
            config: config.clone(),
            admin_password: Some(ADMIN_PASSWORD.into()),
        };
        let (state, _) = integritas_server::open_state(&options, None).expect("the server's state opens");
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        let listener =
            runtime.block_on(tokio::net::TcpListener::bind(options.listen)).expect("a listener on 127.0.0.1:0");
        let address = listener.local_addr().expect("address").to_string();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let app = integritas_server::app(state);
            runtime
                .block_on(integritas_server::serve_on(listener, app, &config, async {
                    let _ = stopped.await;
                }))
                .expect("the server runs");
        });
        let mut server = TestServer { address, dir, admin: String::new(), stop: Some(stop), thread: Some(thread) };
        server.admin = server.token_for("admin", ADMIN_PASSWORD);
        server
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Stops the server (requests in flight finish) and returns its folder.
    pub fn stop(mut self) -> tempfile::TempDir {
        self.shutdown();
        let dir = tempfile::tempdir().expect("tempdir");
        std::mem::replace(&mut self.dir, dir)
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// One request; `token` as a bearer token; `body` as JSON.
    pub fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> Response {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(auth) = &auth {
            headers.push(("Authorization", auth));
        }
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        if body.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        self.raw(method, path, &headers, &bytes)
    }

    /// One request with the headers given.
    pub fn raw(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
        client::request(&self.address, method, path, headers, body).expect("the server answers")
    }

    /// A request that must answer `status`; returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Value {
        let response = self.call(method, path, token, body.as_ref());
        assert_eq!(response.status, status, "{method} {path}: {}", response.text());
        response.json()
    }

    /// Signs in and makes a bearer token.
    pub fn token_for(&self, user: &str, password: &str) -> String {
        let login = self.call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(&serde_json::json!({"user": user, "password": password})),
        );
        assert_eq!(login.status, 200, "login of {user}: {}", login.text());
        let cookie =
            login.header("set-cookie").and_then(|c| c.split(';').next()).expect("a session cookie").to_string();
        let csrf = login.json()["csrf_token"].as_str().expect("csrf").to_string();
        let made = self.raw(
            "POST",
            "/api/v1/auth/tokens",
            &[("Cookie", &cookie), ("X-CSRF-Token", &csrf), ("Content-Type", "application/json")],
            br#"{"name": "tests"}"#,
        );
        assert_eq!(made.status, 201, "token of {user}: {}", made.text());
        made.json()["secret"].as_str().expect("secret").to_string()
    }

    /// Creates a user with roles (`(institution, role)`) and returns a token of theirs.
    pub fn user(&self, id: &str, roles: &[(&str, &str)], grants: Option<Value>) -> String {
        let password = format!("{id}-password");
        let mut body = serde_json::json!({"id": id, "name": id, "password": password});
        if let Some(Value::Object(extra)) = grants {
            body.as_object_mut().expect("object").extend(extra);
        }
        self.expect(201, "POST", "/api/v1/users", Some(&self.admin), Some(body));
        for (institution, role) in roles {
            self.expect(
                201,
                "POST",
                &format!("/api/v1/institutions/{institution}/members"),
                Some(&self.admin),
                Some(serde_json::json!({"user": id, "role": role})),
            );
        }
        self.token_for(id, &password)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
