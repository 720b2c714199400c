//! The seam between the engine and scoring plugins.
//!
//! The executor only knows [`PluginRunner`]: "call entry `E` of plugin `P`
//! with this JSON and give me JSON back, plus who produced it". The
//! WebAssembly host in [`host`] is the real implementation; tests of the
//! executor alone may use [`NoPlugins`] or a double at this seam.

pub mod host;
pub mod shape;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Which plugin produced a result: enough to recompute and check it years
/// later (the same id, version and module bytes give the same output).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The plugin's id as the pack names it (e.g. `risk-matrix`).
    pub id: String,
    /// The plugin's own semver version.
    pub version: String,
    /// Lower-case hex sha256 of the module bytes.
    pub sha256: String,
}

/// A plugin call's JSON result and its provenance.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginOutput {
    pub value: Value,
    pub provenance: Provenance,
}

/// Why a plugin call produced no result. Every variant is a clear, typed
/// error for the caller; none of them takes the process down.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PluginError {
    /// The pack names a plugin that is not loaded.
    #[error("no plugin named `{0}` is loaded")]
    UnknownPlugin(String),
    /// The module does not export the requested entry point.
    #[error("plugin `{plugin}` has no entry point `{entry}`")]
    MissingEntry { plugin: String, entry: String },
    /// The module could not be loaded (bad bytes, wrong ABI, forbidden imports, too big...).
    #[error("plugin `{plugin}` cannot be loaded: {reason}")]
    Load { plugin: String, reason: String },
    /// The call ran out of its fuel budget (an endless or too-long computation).
    #[error("plugin `{plugin}` ran out of its time budget ({fuel} fuel units)")]
    OutOfFuel { plugin: String, fuel: u64 },
    /// The call tried to grow memory (or tables) past its cap.
    #[error("plugin `{plugin}` tried to use more than its memory cap of {limit_bytes} bytes")]
    OutOfMemory { plugin: String, limit_bytes: u64 },
    /// The call trapped (unreachable, stack overflow, out-of-bounds access...).
    #[error("plugin `{plugin}` crashed: {reason}")]
    Trap { plugin: String, reason: String },
    /// The call returned something that is not acceptable output.
    #[error("plugin `{plugin}` returned bad output: {reason}")]
    BadOutput { plugin: String, reason: String },
    /// The plugin itself rejected the input, with its own message
    /// (e.g. "probability 11 is outside the scale 1..=10").
    #[error("plugin `{plugin}` rejected the input: {message}")]
    Rejected { plugin: String, message: String },
    /// The module's bytes do not have the sha256 the pack declares.
    #[error("plugin `{plugin}` does not match its declared sha256 {expected} (it is {actual})")]
    ChecksumMismatch { plugin: String, expected: String, actual: String },
    /// The module imports something the host does not offer (WASI, a clock,
    /// an unknown function...); only `integritas.log` exists.
    #[error("plugin `{plugin}` imports `{import}`, but the host offers only `integritas.log`")]
    ForbiddenImport { plugin: String, import: String },
    /// The module's ABI marker is missing or names a version this host does
    /// not speak.
    #[error("plugin `{plugin}` is built for ABI {}, but this host supports {supported}", found.as_deref().unwrap_or("(none: no ABI marker export)"))]
    AbiMismatch { plugin: String, found: Option<String>, supported: String },
    /// The module breaks a structural limit (functions, code bytes, locals,
    /// imports, exports, segments...; see [`shape::ModuleLimits`]). Found
    /// from its bytes, before anything compiles it.
    #[error("plugin `{plugin}` is refused before compiling: it has {found} {what}; the limit is {limit}")]
    ModuleLimit { plugin: String, what: &'static str, found: u64, limit: u64 },
}

impl PluginError {
    /// A stable machine-readable name of the kind of failure.
    pub fn kind(&self) -> &'static str {
        match self {
            PluginError::UnknownPlugin(_) => "unknown_plugin",
            PluginError::MissingEntry { .. } => "missing_entry",
            PluginError::Load { .. } => "load",
            PluginError::OutOfFuel { .. } => "out_of_fuel",
            PluginError::OutOfMemory { .. } => "out_of_memory",
            PluginError::Trap { .. } => "trap",
            PluginError::BadOutput { .. } => "bad_output",
            PluginError::Rejected { .. } => "rejected",
            PluginError::ChecksumMismatch { .. } => "checksum_mismatch",
            PluginError::ForbiddenImport { .. } => "forbidden_import",
            PluginError::AbiMismatch { .. } => "abi_mismatch",
            PluginError::ModuleLimit { .. } => "module_limit",
        }
    }
}

/// Runs plugin entry points. Implemented by the WebAssembly host; the
/// executor calls it for `Score` actions and plugin guards.
pub trait PluginRunner: Send + Sync {
    /// Calls `entry` of `plugin` with `input`; returns its JSON output.
    fn call(&self, plugin: &str, entry: &str, input: &Value) -> Result<PluginOutput, PluginError>;
}

/// A runner with no plugins loaded: every call fails with `UnknownPlugin`.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoPlugins;

impl PluginRunner for NoPlugins {
    fn call(&self, plugin: &str, _entry: &str, _input: &Value) -> Result<PluginOutput, PluginError> {
        Err(PluginError::UnknownPlugin(plugin.to_string()))
    }
}
