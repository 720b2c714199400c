//! While a server holds a data folder it says so there: `server.json`
//! (address, pid) and `server.token`, a random local administrator token
//! readable by the owner only (0600), both removed on shutdown. The CLI
//! reads them to point at the API, and `verify` calls the server with the
//! token instead of opening the store.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// `<data>/server.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// `host:port` the server listens on.
    pub address: String,
    pub pid: u32,
}

impl Holder {
    /// The API's base URL (a wildcard listen address is reached on loopback).
    pub fn base_url(&self) -> String {
        format!("http://{}/api/v1", self.connect_address())
    }

    /// Where a client on this machine connects.
    pub fn connect_address(&self) -> String {
        match self.address.parse::<std::net::SocketAddr>() {
            Ok(addr) if addr.ip().is_unspecified() => {
                let loopback: std::net::IpAddr =
                    if addr.is_ipv4() { [127, 0, 0, 1].into() } else { std::net::Ipv6Addr::LOCALHOST.into() };
                std::net::SocketAddr::new(loopback, addr.port()).to_string()
            }
            _ => self.address.clone(),
        }
    }
}

fn info_path(data: &Path) -> PathBuf {
    data.join("server.json")
}

fn token_path(data: &Path) -> PathBuf {
    data.join("server.token")
}

/// Marks the folder held: writes the token (0600) first, then the info.
pub fn hold(data: &Path, holder: &Holder, token: &str) -> std::io::Result<()> {
    let path = token_path(data);
    let _ = std::fs::remove_file(&path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(&path)?, token.as_bytes())?;
    std::fs::write(info_path(data), serde_json::to_vec_pretty(holder).unwrap_or_default())
}

/// Removes both files (on shutdown).
pub fn release(data: &Path) {
    let _ = std::fs::remove_file(info_path(data));
    let _ = std::fs::remove_file(token_path(data));
}

/// The server holding `data`, if one runs (a file left by a server that
/// died is ignored).
pub fn running(data: &Path) -> Option<Holder> {
    let holder: Holder = serde_json::from_slice(&std::fs::read(info_path(data)).ok()?).ok()?;
    let proc = Path::new("/proc");
    let alive = !proc.is_dir() || proc.join(holder.pid.to_string()).exists();
    alive.then_some(holder)
}

/// The local administrator token of the running server (readable by the
/// folder's owner only).
pub fn local_token(data: &Path) -> std::io::Result<String> {
    Ok(std::fs::read_to_string(token_path(data))?.trim().to_string())
}
