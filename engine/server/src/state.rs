//! What every request shares: the engine, the accounts, the settings and
//! the login limiter; and [`blocking`], which runs engine calls off the
//! async runtime.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use integritas_core::engine::Engine;
use integritas_core::store::Institution;

use crate::accounts::{Accounts, SessionLimits};
use crate::error::{ApiError, ApiResult};

/// How the server behaves; `Default` is what `integritas serve` uses.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest request body on every route but a pack upload.
    pub body_limit: usize,
    /// Largest pack archive upload.
    pub pack_limit: usize,
    /// A request that takes longer is answered 408.
    pub request_timeout: Duration,
    /// Installing a pack compiles its plugins: it gets longer.
    pub install_timeout: Duration,
    /// A client must send a request's headers within this.
    pub header_read_timeout: Duration,
    /// Sign-in attempts allowed per client address per minute.
    pub logins_per_minute: u32,
    /// Take the client's address from the last `X-Forwarded-For` entry
    /// (only behind a proxy that sets it); otherwise the socket's peer.
    pub trust_forwarded_for: bool,
    /// Mark the session cookie `Secure` (off only for plain HTTP).
    pub secure_cookies: bool,
    pub sessions: SessionLimits,
    /// How long shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            body_limit: 1024 * 1024,
            pack_limit: 64 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            install_timeout: Duration::from_secs(300),
            header_read_timeout: Duration::from_secs(10),
            logins_per_minute: 10,
            trust_forwarded_for: false,
            secure_cookies: true,
            sessions: SessionLimits { idle: Duration::from_secs(30 * 60), absolute: Duration::from_secs(12 * 3600) },
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// The state handlers share (cheap to clone).
#[derive(Clone)]
pub struct AppState(pub Arc<Shared>);

pub struct Shared {
    pub engine: Arc<Engine>,
    pub accounts: Arc<Accounts>,
    pub config: ServerConfig,
    pub limiter: LoginLimiter,
    /// Key of the one-way ballots of anonymous answers (HMAC-SHA256).
    pub ballot_key: Vec<u8>,
    /// sha256 of the local administrator token the CLI uses while this
    /// server holds the data folder.
    pub local_token: Option<String>,
    /// The data folder (its `packs/` go into backups).
    pub data: std::path::PathBuf,
    /// Institutions read so far (only this server adds them while it
    /// holds the folder, and it adds them here too).
    pub institutions: RwLock<HashMap<String, Institution>>,
    /// Serialized read views by (plan, view): valid while the plan's last
    /// event and today's date are those they were made at.
    pub views: Mutex<HashMap<(String, String), CachedView>>,
}

/// A view's bytes and what they were made from.
#[derive(Clone)]
pub struct CachedView {
    pub seq: u64,
    pub today: integritas_core::date::Date,
    pub bytes: axum::body::Bytes,
}

/// Most views kept; past it the cache starts again (one replay of work).
const VIEW_CACHE: usize = 8192;

impl Shared {
    /// A cached view of a plan made at `seq` on `today`, if there is one.
    pub fn view(
        &self,
        plan: &str,
        view: &str,
        seq: u64,
        today: integritas_core::date::Date,
    ) -> Option<axum::body::Bytes> {
        let views = self.views.lock().unwrap_or_else(|p| p.into_inner());
        views
            .get(&(plan.to_string(), view.to_string()))
            .filter(|v| v.seq == seq && v.today == today)
            .map(|v| v.bytes.clone())
    }

    pub fn keep_view(&self, plan: &str, view: &str, cached: CachedView) {
        let mut views = self.views.lock().unwrap_or_else(|p| p.into_inner());
        if views.len() >= VIEW_CACHE {
            views.clear();
        }
        views.insert((plan.to_string(), view.to_string()), cached);
    }

    pub fn cached_institution(&self, id: &str) -> Option<Institution> {
        self.institutions.read().unwrap_or_else(|p| p.into_inner()).get(id).cloned()
    }

    pub fn keep_institution(&self, institution: Institution) {
        self.institutions.write().unwrap_or_else(|p| p.into_inner()).insert(institution.id.clone(), institution);
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// Runs a call that may block (the engine's writes, plan locks, replays,
/// plugins, argon2) on tokio's blocking pool, never on the async runtime.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> ApiResult<T> + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(f).await?
}

/// Sign-in attempts per client address in fixed one-minute windows.
#[derive(Default)]
pub struct LoginLimiter {
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl LoginLimiter {
    /// Counts an attempt; refuses it past `per_minute` in the window.
    pub fn attempt(&self, ip: IpAddr, per_minute: u32) -> Result<(), ApiError> {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() > 100_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
        }
        let (start, count) = windows.entry(ip).or_insert((now, 0));
        if now.duration_since(*start) >= Duration::from_secs(60) {
            *start = now;
            *count = 0;
        }
        *count += 1;
        if *count > per_minute {
            let retry_after = 60u64.saturating_sub(now.duration_since(*start).as_secs()).max(1);
            return Err(ApiError::RateLimited { retry_after });
        }
        Ok(())
    }
}
