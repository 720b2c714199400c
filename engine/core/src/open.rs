//! Opening an install: the data folder (the store, the plugin cache, the
//! installed pack versions) and the bundled packs, as the CLI and the server
//! both do it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::Diagnostic;
use crate::engine::{Engine, PackInstaller};
use crate::error::EngineError;
use crate::pack::{Loader, load_installed};
use crate::plugin::host::{HostConfig, PluginHost};
use crate::store::SledStore;

/// Where an install lives and what opening it may do.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// The data folder (`./data` by default in the CLI).
    pub data: PathBuf,
    /// The folder of bundled packs (`./jurisdictions`), if any.
    pub packs: Option<PathBuf>,
    /// The shared `templates/` folder packs' documents are wrapped in.
    pub templates: Option<PathBuf>,
    /// Create the data folder when it does not exist. Commands that only
    /// read leave this off, so a mistyped `--data` is an error rather than
    /// a new, empty install.
    pub create: bool,
}

/// An opened install.
pub struct Opened {
    pub engine: Engine,
    /// Problems of packs that were not loaded (each pack is all or nothing).
    pub diagnostics: Vec<Diagnostic>,
}

/// Where installed pack versions live in a data folder.
pub fn installed_packs(data: &Path) -> PathBuf {
    data.join("packs")
}

/// Checks the data folder is usable before anything touches it.
fn check_data_folder(options: &OpenOptions) -> Result<(), EngineError> {
    let data = &options.data;
    if data.is_file() {
        return Err(EngineError::invalid(
            "data",
            format!("{} is a file, not a data folder; pass --data with a folder", data.display()),
        ));
    }
    if !data.exists() && !options.create {
        return Err(EngineError::not_found("data folder", data.display().to_string(), Vec::new()));
    }
    if data.exists() && !data.join("db").exists() && !data.join("conf").exists() && !is_empty_dir(data) {
        let looks_like_store = data.join("plugin-cache").exists() || data.join("packs").exists();
        if !looks_like_store {
            return Err(EngineError::invalid(
                "data",
                format!(
                    "{} holds other files and no integritas store; pass --data with an empty or existing data folder",
                    data.display()
                ),
            ));
        }
    }
    Ok(())
}

fn is_empty_dir(dir: &Path) -> bool {
    std::fs::read_dir(dir).map(|mut entries| entries.next().is_none()).unwrap_or(false)
}

/// Opens the store, the plugin host (its compile cache in the data folder)
/// and the packs: the bundled ones, then the versions installed into the
/// data folder. A pack with errors is left out and its problems returned.
pub fn open(options: &OpenOptions) -> Result<Opened, EngineError> {
    check_data_folder(options)?;
    let store = SledStore::open(&options.data)?;
    let config = HostConfig { cache_dir: Some(options.data.join("plugin-cache")), ..HostConfig::default() };
    let host = Arc::new(PluginHost::new(config).map_err(|e| EngineError::Internal { message: e.to_string() })?);
    let loader = Loader { host: Some(&host), templates: options.templates.as_deref() };
    let (mut catalog, mut diagnostics) = match &options.packs {
        Some(dir) => loader.load_dir(dir),
        None => Default::default(),
    };
    let installed = installed_packs(&options.data);
    diagnostics.extend(load_installed(&installed, &loader, &mut catalog));
    diagnostics.retain(Diagnostic::is_error);
    let installer = PackInstaller {
        host: host.clone(),
        installed,
        templates: options.templates.clone(),
        scenarios: Arc::new(crate::scenario::run_all),
    };
    let engine = Engine::new(Arc::new(store), catalog, host).with_installer(installer);
    Ok(Opened { engine, diagnostics })
}
