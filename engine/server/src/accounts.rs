//! Accounts: users, their grants and role assignments, bearer tokens and
//! sessions, kept as keyed records in the engine's store and held in
//! memory while the server runs (the server alone holds the data folder,
//! so memory is the store's copy). Every change is durable before it is
//! visible.
//!
//! Invariants: no password, token or session id is stored or logged —
//! passwords as argon2id hashes, tokens and session ids as their sha256;
//! every login, failed login and change of roles or grants goes into the
//! security log.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use integritas_core::store::{RecordWrite, Store, StoreError, hash_hex};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::ApiError;

/// Record kinds this module keeps.
const USERS: &str = "users";
const ASSIGNMENTS: &str = "assignments";
const TOKENS: &str = "tokens";
const SESSIONS: &str = "sessions";
const SERVER: &str = "server";
/// A user's own settings (the pages' language), by user id.
const SETTINGS: &str = "user_settings";

/// argon2id at OWASP's minimum for it: 19 MiB of memory, 2 passes, 1 lane.
const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
const ARGON2_PASSES: u32 = 2;
const ARGON2_LANES: u32 = 1;

/// Shortest password accepted (NIST SP 800-63B's minimum for chosen ones).
pub const MIN_PASSWORD_CHARS: usize = 8;

/// A person who signs in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub name: String,
    /// PHC string of the argon2id hash.
    password: String,
    /// Administrator of the install: accounts, institutions, packs.
    #[serde(default)]
    pub admin: bool,
    /// Pack ids of the jurisdictions this user supervises as an agency:
    /// reads every institution under them, writes none.
    #[serde(default)]
    pub agency: Vec<String>,
    /// A password set by someone else (the first administrator's printed
    /// one): it must be changed before anything else is done.
    #[serde(default)]
    pub must_change_password: bool,
    pub created: String,
}

impl User {
    /// The administrator the CLI acts as through the local token while a
    /// server holds the data folder (never stored, cannot sign in).
    pub fn local_admin() -> User {
        User {
            id: "local-admin".into(),
            name: "The integritas command line on this machine".into(),
            password: String::new(),
            admin: true,
            agency: Vec::new(),
            must_change_password: false,
            created: String::new(),
        }
    }
}

/// A role held in an institution: a role id of the institution's workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub user: String,
    pub institution: String,
    pub role: String,
}

/// A bearer token for scripts, stored by the sha256 of its secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Token {
    /// A short public id (the first 12 hex digits of the hash).
    pub id: String,
    pub user: String,
    pub name: String,
    pub created: String,
    /// Seconds since the epoch after which it is refused.
    pub expires: Option<u64>,
}

/// A cookie session, stored by the sha256 of its id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub user: String,
    /// The synchronizer token its cookie-authenticated writes must carry.
    pub csrf: String,
    /// Seconds since the epoch.
    pub created: u64,
    pub last_seen: u64,
}

#[derive(Default)]
struct Memory {
    users: HashMap<String, Arc<User>>,
    assignments: Vec<Assignment>,
    /// sha256 hex → token.
    tokens: HashMap<String, Token>,
    /// sha256 hex → session.
    sessions: HashMap<String, Session>,
    /// user id → setting name → value.
    settings: HashMap<String, std::collections::BTreeMap<String, String>>,
}

/// How long sessions live.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// Ended after this long without a request.
    pub idle: Duration,
    /// Ended this long after sign-in, however active.
    pub absolute: Duration,
}

/// The accounts of an install.
pub struct Accounts {
    store: Arc<dyn Store>,
    memory: RwLock<Memory>,
    argon2: Argon2<'static>,
    /// A hash to verify against when the user does not exist, so that a
    /// wrong name costs as long as a wrong password.
    dummy_hash: String,
    pub limits: SessionLimits,
}

/// Seconds since the epoch.
pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// `len` random bytes from the system, in hex.
pub fn random_hex(len: usize) -> Result<String, ApiError> {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(format!("no randomness from the system: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A password a person can type: 20 characters without look-alikes.
pub fn random_password() -> Result<String, ApiError> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(format!("no randomness from the system: {e}")))?;
    Ok(bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect())
}

fn decode<T: serde::de::DeserializeOwned>(kind: &str, key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Corrupt { key: format!("{kind}/{key}"), reason: e.to_string() })
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

fn assignment_key(a: &Assignment) -> String {
    format!("{}\u{0}{}\u{0}{}", a.user, a.institution, a.role)
}

/// Whether an id can name a user: letters, digits, `.`, `-`, `_`, `@`.
pub fn valid_user_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'))
}

impl Accounts {
    /// Reads every account record of the store into memory.
    pub fn load(store: Arc<dyn Store>, limits: SessionLimits) -> Result<Accounts, ApiError> {
        let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES, None)
            .map_err(|e| ApiError::Internal(format!("argon2 parameters: {e}")))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut memory = Memory::default();
        for (key, bytes) in store.records(USERS, "")? {
            let user: User = decode(USERS, &key, &bytes)?;
            memory.users.insert(user.id.clone(), Arc::new(user));
        }
        for (key, bytes) in store.records(ASSIGNMENTS, "")? {
            memory.assignments.push(decode(ASSIGNMENTS, &key, &bytes)?);
        }
        for (key, bytes) in store.records(TOKENS, "")? {
            memory.tokens.insert(key.clone(), decode(TOKENS, &key, &bytes)?);
        }
        for (key, bytes) in store.records(SETTINGS, "")? {
            memory.settings.insert(key.clone(), decode(SETTINGS, &key, &bytes)?);
        }
        let now = now_secs();
        let mut expired = Vec::new();
        for (key, bytes) in store.records(SESSIONS, "")? {
            let session: Session = decode(SESSIONS, &key, &bytes)?;
            if alive(&session, now, limits) {
                memory.sessions.insert(key, session);
            } else {
                expired.push(RecordWrite::Delete { kind: SESSIONS, key });
            }
        }
        if !expired.is_empty() {
            store.write_records(&expired)?;
        }
        let salt = SaltString::encode_b64(b"integritas-dummy").map_err(|e| ApiError::Internal(e.to_string()))?;
        let dummy_hash = argon2
            .hash_password(b"no such user", &salt)
            .map_err(|e| ApiError::Internal(format!("argon2: {e}")))?
            .to_string();
        Ok(Accounts { store, memory: RwLock::new(memory), argon2, dummy_hash, limits })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Memory> {
        self.memory.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Memory> {
        self.memory.write().unwrap_or_else(|p| p.into_inner())
    }

    /// A secret of the server kept in the store, made on first use
    /// (32 random bytes, hex).
    pub fn server_secret(&self, name: &str) -> Result<String, ApiError> {
        if let Some(bytes) = self.store.record(SERVER, name)? {
            return Ok(String::from_utf8_lossy(&bytes).into_owned());
        }
        let secret = random_hex(32)?;
        match self.store.write_records(&[RecordWrite::Create {
            kind: SERVER,
            key: name.into(),
            bytes: secret.clone().into_bytes(),
        }]) {
            Ok(()) => Ok(secret),
            Err(StoreError::Exists { .. }) => self.server_secret(name),
            Err(e) => Err(e.into()),
        }
    }

    pub fn hash_password(&self, password: &str) -> Result<String, ApiError> {
        let salt = random_hex(16)?;
        let salt = SaltString::encode_b64(salt.as_bytes()).map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(self
            .argon2
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| ApiError::Internal(format!("argon2: {e}")))?
            .to_string())
    }

    fn verify_password(&self, hash: &str, password: &str) -> bool {
        PasswordHash::new(hash).is_ok_and(|parsed| self.argon2.verify_password(password.as_bytes(), &parsed).is_ok())
    }

    pub fn user_count(&self) -> usize {
        self.read().users.len()
    }

    pub fn user(&self, id: &str) -> Option<Arc<User>> {
        self.read().users.get(id).cloned()
    }

    /// Every user, ordered by id.
    pub fn users(&self) -> Vec<Arc<User>> {
        let mut all: Vec<Arc<User>> = self.read().users.values().cloned().collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    /// Creates a user. Blocks (argon2, a durable write).
    pub fn create_user(
        &self,
        id: &str,
        name: &str,
        password: &str,
        admin: bool,
        agency: Vec<String>,
        must_change_password: bool,
    ) -> Result<Arc<User>, ApiError> {
        if !valid_user_id(id) {
            return Err(ApiError::invalid("id", "a user id is 1 to 64 letters, digits, `.`, `-`, `_` or `@`"));
        }
        if name.trim().is_empty() || name.chars().any(char::is_control) || name.len() > 200 {
            return Err(ApiError::invalid("name", "a user needs a name, on one line (at most 200 bytes)"));
        }
        check_password(password)?;
        let user = User {
            id: id.into(),
            name: name.into(),
            password: self.hash_password(password)?,
            admin,
            agency,
            must_change_password,
            created: integritas_core::date::now_rfc3339(),
        };
        match self.store.write_records(&[RecordWrite::Create { kind: USERS, key: id.into(), bytes: encode(&user) }]) {
            Err(StoreError::Exists { .. }) => {
                return Err(ApiError::Engine(integritas_core::error::EngineError::Conflict {
                    message: format!("user `{id}` already exists"),
                }));
            }
            other => other?,
        }
        let user = Arc::new(user);
        self.write().users.insert(id.into(), user.clone());
        Ok(user)
    }

    fn save_user(&self, user: User) -> Result<Arc<User>, ApiError> {
        self.store.write_records(&[RecordWrite::Put { kind: USERS, key: user.id.clone(), bytes: encode(&user) }])?;
        let user = Arc::new(user);
        self.write().users.insert(user.id.clone(), user.clone());
        Ok(user)
    }

    /// Changes install-wide grants (administrator, agency of jurisdictions).
    pub fn set_grants(&self, id: &str, admin: bool, agency: Vec<String>) -> Result<Arc<User>, ApiError> {
        let mut user = User::clone(&*self.user(id).ok_or(ApiError::NotFound { kind: "user", id: id.into() })?);
        user.admin = admin;
        user.agency = agency;
        self.save_user(user)
    }

    /// Sets a new password; ends the user's other sessions.
    pub fn set_password(&self, id: &str, password: &str, keep_session: Option<&str>) -> Result<(), ApiError> {
        check_password(password)?;
        let mut user = User::clone(&*self.user(id).ok_or(ApiError::NotFound { kind: "user", id: id.into() })?);
        user.password = self.hash_password(password)?;
        user.must_change_password = false;
        self.save_user(user)?;
        let others: Vec<String> = self
            .read()
            .sessions
            .iter()
            .filter(|(hash, s)| s.user == id && Some(hash.as_str()) != keep_session)
            .map(|(hash, _)| hash.clone())
            .collect();
        for hash in others {
            self.end_session_by_hash(&hash)?;
        }
        Ok(())
    }

    /// Checks a name and password. Blocks (argon2). `None` when either is
    /// wrong; a wrong name takes as long as a wrong password.
    pub fn check_login(&self, id: &str, password: &str) -> Option<Arc<User>> {
        match self.user(id) {
            Some(user) if self.verify_password(&user.password, password) => Some(user),
            Some(_) => None,
            None => {
                let _ = self.verify_password(&self.dummy_hash, password);
                None
            }
        }
    }

    /// Starts a session: a new random id every time (the cookie's value,
    /// returned once) and its CSRF token.
    pub fn start_session(&self, user: &str) -> Result<(String, Session), ApiError> {
        let id = random_hex(32)?;
        let now = now_secs();
        let session = Session { user: user.into(), csrf: random_hex(32)?, created: now, last_seen: now };
        let hash = hash_hex(id.as_bytes());
        self.store.write_records(&[RecordWrite::Create {
            kind: SESSIONS,
            key: hash.clone(),
            bytes: encode(&session),
        }])?;
        self.write().sessions.insert(hash, session.clone());
        Ok((id, session))
    }

    /// The live session of a cookie value, touched now. The stored copy of
    /// `last_seen` is refreshed at most once a minute (a durable write);
    /// the returned flag says whether that write is due.
    pub fn session(&self, id: &str) -> Option<(String, Session, bool)> {
        let hash = hash_hex(id.as_bytes());
        let now = now_secs();
        let mut memory = self.write();
        let session = memory.sessions.get_mut(&hash)?;
        if !alive(session, now, self.limits) {
            return None;
        }
        let persist = now.saturating_sub(session.last_seen) >= 60;
        session.last_seen = now;
        Some((hash, session.clone(), persist))
    }

    /// The CSRF token of a live session, by the hash of its id.
    pub fn csrf_of(&self, hash: &str) -> Option<String> {
        self.read().sessions.get(hash).map(|s| s.csrf.clone())
    }

    /// Writes a session's `last_seen` (blocks: a durable write).
    pub fn persist_session(&self, hash: &str, session: &Session) -> Result<(), ApiError> {
        self.store.write_records(&[RecordWrite::Put { kind: SESSIONS, key: hash.into(), bytes: encode(session) }])?;
        Ok(())
    }

    /// Ends a session on the server: its id is refused from now on.
    pub fn end_session_by_hash(&self, hash: &str) -> Result<(), ApiError> {
        self.store.write_records(&[RecordWrite::Delete { kind: SESSIONS, key: hash.into() }])?;
        self.write().sessions.remove(hash);
        Ok(())
    }

    /// Makes a bearer token for a user; the secret is returned once.
    pub fn create_token(&self, user: &str, name: &str, expires: Option<u64>) -> Result<(String, Token), ApiError> {
        if name.trim().is_empty() || name.chars().any(char::is_control) || name.len() > 200 {
            return Err(ApiError::invalid("name", "a token needs a name, on one line (at most 200 bytes)"));
        }
        let secret = format!("itg_{}", random_hex(32)?);
        let hash = hash_hex(secret.as_bytes());
        let token = Token {
            id: hash[..12].to_string(),
            user: user.into(),
            name: name.into(),
            created: integritas_core::date::now_rfc3339(),
            expires,
        };
        self.store.write_records(&[RecordWrite::Create { kind: TOKENS, key: hash.clone(), bytes: encode(&token) }])?;
        self.write().tokens.insert(hash, token.clone());
        Ok((secret, token))
    }

    /// The user a bearer token stands for, if it is valid now.
    pub fn token_user(&self, secret: &str) -> Option<Arc<User>> {
        let hash = hash_hex(secret.as_bytes());
        let memory = self.read();
        let token = memory.tokens.get(&hash)?;
        if token.expires.is_some_and(|e| e <= now_secs()) {
            return None;
        }
        memory.users.get(&token.user).cloned()
    }

    pub fn tokens_of(&self, user: &str) -> Vec<Token> {
        let mut tokens: Vec<Token> = self.read().tokens.values().filter(|t| t.user == user).cloned().collect();
        tokens.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        tokens
    }

    /// Revokes one of a user's tokens by its public id.
    pub fn revoke_token(&self, user: &str, id: &str) -> Result<(), ApiError> {
        let hash = self
            .read()
            .tokens
            .iter()
            .find(|(_, t)| t.user == user && t.id == id)
            .map(|(h, _)| h.clone())
            .ok_or(ApiError::NotFound { kind: "token", id: id.into() })?;
        self.store.write_records(&[RecordWrite::Delete { kind: TOKENS, key: hash.clone() }])?;
        self.write().tokens.remove(&hash);
        Ok(())
    }

    /// One of a user's own settings (e.g. `language`).
    pub fn setting(&self, user: &str, name: &str) -> Option<String> {
        self.read().settings.get(user).and_then(|s| s.get(name)).cloned()
    }

    /// Sets one of a user's own settings (blocks: a durable write).
    pub fn set_setting(&self, user: &str, name: &str, value: &str) -> Result<(), ApiError> {
        let mut settings = self.read().settings.get(user).cloned().unwrap_or_default();
        if settings.get(name).map(String::as_str) == Some(value) {
            return Ok(());
        }
        settings.insert(name.into(), value.into());
        self.store.write_records(&[RecordWrite::Put { kind: SETTINGS, key: user.into(), bytes: encode(&settings) }])?;
        self.write().settings.insert(user.into(), settings);
        Ok(())
    }

    /// The roles a user holds in an institution.
    pub fn roles_in(&self, user: &str, institution: &str) -> Vec<String> {
        self.read()
            .assignments
            .iter()
            .filter(|a| a.user == user && a.institution == institution)
            .map(|a| a.role.clone())
            .collect()
    }

    /// Institutions where a user holds any role.
    pub fn institutions_of(&self, user: &str) -> Vec<String> {
        let mut ids: Vec<String> =
            self.read().assignments.iter().filter(|a| a.user == user).map(|a| a.institution.clone()).collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// Every role held in an institution.
    pub fn members_of(&self, institution: &str) -> Vec<Assignment> {
        let mut all: Vec<Assignment> =
            self.read().assignments.iter().filter(|a| a.institution == institution).cloned().collect();
        all.sort_by(|a, b| (&a.user, &a.role).cmp(&(&b.user, &b.role)));
        all
    }

    pub fn assignments_of(&self, user: &str) -> Vec<Assignment> {
        self.read().assignments.iter().filter(|a| a.user == user).cloned().collect()
    }

    /// Gives a role; `false` when it was held already.
    pub fn grant_role(&self, assignment: Assignment) -> Result<bool, ApiError> {
        if self.read().assignments.contains(&assignment) {
            return Ok(false);
        }
        self.store.write_records(&[RecordWrite::Put {
            kind: ASSIGNMENTS,
            key: assignment_key(&assignment),
            bytes: encode(&assignment),
        }])?;
        self.write().assignments.push(assignment);
        Ok(true)
    }

    /// Takes a role back.
    pub fn revoke_role(&self, assignment: &Assignment) -> Result<(), ApiError> {
        if !self.read().assignments.contains(assignment) {
            return Err(ApiError::NotFound { kind: "role assignment", id: assignment.role.clone() });
        }
        self.store.write_records(&[RecordWrite::Delete { kind: ASSIGNMENTS, key: assignment_key(assignment) }])?;
        self.write().assignments.retain(|a| a != assignment);
        Ok(())
    }

    /// Appends to the security log (blocks: a durable write). `detail`
    /// never holds a secret: callers pass ids, names of roles, addresses.
    pub fn log(&self, kind: &str, user: Option<&str>, detail: serde_json::Value) -> Result<(), ApiError> {
        let entry = json!({"at": integritas_core::date::now_rfc3339(), "kind": kind, "user": user, "detail": detail});
        self.store.append_security_log(&encode(&entry))?;
        tracing::info!(kind, user = user.unwrap_or("-"), "security event");
        Ok(())
    }

    /// Security log entries from number `from`.
    pub fn security_log(&self, from: u64, limit: usize) -> Result<Vec<serde_json::Value>, ApiError> {
        Ok(self
            .store
            .security_log(from, limit)?
            .into_iter()
            .map(|(n, bytes)| {
                let mut entry: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
                if let Some(map) = entry.as_object_mut() {
                    map.insert("number".into(), json!(n));
                }
                entry
            })
            .collect())
    }
}

fn alive(session: &Session, now: u64, limits: SessionLimits) -> bool {
    now.saturating_sub(session.last_seen) < limits.idle.as_secs()
        && now.saturating_sub(session.created) < limits.absolute.as_secs()
}

fn check_password(password: &str) -> Result<(), ApiError> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=256).contains(&chars) {
        return Err(ApiError::invalid(
            "password",
            format!("a password has {MIN_PASSWORD_CHARS} to 256 characters (a passphrase is best)"),
        ));
    }
    Ok(())
}
