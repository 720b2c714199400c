//! The WebAssembly plugin host: loads modules that speak `plugins/ABI.md`
//! and runs their entry points in wasmtime, each call in a fresh, limited,
//! deterministic sandbox.
//!
//! Architecture invariants:
//! - A plugin gets nothing from the host but the optional `integritas.log`
//!   import: no WASI, clock, files or network. Any other import is refused at
//!   load time.
//! - Every call runs in a new instance (from an [`InstancePre`], backed by the
//!   pooling allocator) with its own fuel budget, memory cap and bounded wasm
//!   stack, so nothing leaks from one call to the next and no call can stall
//!   or exhaust the server.
//! - Execution is deterministic: fuel, not epochs (wall-clock) for the time
//!   bound; NaN canonicalisation; no relaxed SIMD; no threads.
//! - A module's shape (ABI marker, imports, exports) and size (functions,
//!   code bytes, locals, segments) are checked from its bytes by
//!   [`super::shape`] before anything compiles it.
//! - A module is compiled once per load. The optional compilation cache only
//!   ever deserializes artifacts this host wrote itself, keyed by the
//!   module's sha256 and the engine's compatibility hash. A [staging
//!   host](PluginHost::staging) writes nothing there until its pack is
//!   installed, so a refused pack leaves no artifact behind.
//! - wasmtime types never leave this module: callers see [`PluginInfo`],
//!   [`SelfTestReport`], [`PluginOutput`] and [`PluginError`].

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock, mpsc};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use wasmtime::{
    Caller, Config, Engine, InstanceAllocationStrategy, InstancePre, Linker, Module, OptLevel, PoolingAllocationConfig,
    ResourceLimiter, Store, Strategy, Trap,
};

use super::shape::{self, Caps, ModuleLimits};
use super::{PluginError, PluginOutput, PluginRunner, Provenance};

/// The ABI major version this host speaks. A module built for another major
/// version is refused: majors may change the calling convention.
pub const ABI_MAJOR: u64 = 1;
/// The highest ABI minor version this host understands. A module declaring
/// a newer minor may rely on host behaviour this host lacks, so it is refused.
pub const ABI_MINOR: u64 = 0;
/// Prefix of the ABI marker export (`integritas_abi_version_1_0_0`): the
/// version is read from the name, statically, before any plugin code runs.
pub const ABI_MARKER_PREFIX: &str = "integritas_abi_version_";
/// Prefix of every entry point export (`integritas_entry_score` is entry `score`).
pub const ENTRY_PREFIX: &str = "integritas_entry_";

/// Largest module accepted. Real scoring plugins are 100–200 KiB; 4 MiB
/// leaves ample room while bounding compile time and memory, which wasmtime
/// leaves to the embedder.
pub const MAX_MODULE_BYTES: usize = 4 * 1024 * 1024;
/// Longest a compilation may take before the load is refused. Cranelift
/// compiles a real plugin in well under a second; this only stops a module
/// crafted to make the compiler work for minutes.
pub const COMPILE_TIMEOUT: Duration = Duration::from_secs(30);
/// Fuel per call (≈ one unit per wasm instruction). Scoring a 1,000-risk
/// register takes a few million; 300 million bounds an endless loop to well
/// under a second of CPU without ever cutting off a real register.
pub const FUEL_PER_CALL: u64 = 300_000_000;
/// Linear memory cap per call. A Rust plugin starts with ~1.1 MiB (its
/// stack plus data); 64 MiB holds a register of tens of thousands of risks
/// as JSON, and keeps 64 concurrent calls within a few GiB.
pub const MEMORY_LIMIT_BYTES: usize = 64 * 1024 * 1024;
/// Native stack a call may use for wasm frames. Scoring is shallow; 512 KiB
/// turns runaway recursion into a prompt, typed trap.
pub const MAX_WASM_STACK_BYTES: usize = 512 * 1024;
/// Table elements per instance. Rust plugins need a few hundred (for
/// indirect calls); the cap stops tables from being a second memory.
pub const MAX_TABLE_ELEMENTS: usize = 10_000;
/// Largest JSON input handed to a plugin; it must fit in the memory cap
/// with room to parse it.
pub const MAX_INPUT_BYTES: usize = 8 * 1024 * 1024;
/// Largest JSON output accepted from a plugin; anything bigger is refused
/// before the host copies it.
pub const MAX_OUTPUT_BYTES: usize = 8 * 1024 * 1024;
/// Calls that may run at once; more wait for a free slot. It sizes the
/// pooling allocator (one instance, memory and table each per slot), whose
/// slots are reserved up front.
pub const MAX_CONCURRENT_CALLS: u32 = 64;
/// Longest plugin log message forwarded (longer ones are cut).
pub const MAX_LOG_MESSAGE_BYTES: usize = 1024;
/// Log messages forwarded per call; the rest are dropped, so a chatty plugin
/// cannot flood the server's log.
pub const MAX_LOG_MESSAGES_PER_CALL: u32 = 32;
/// Memory (and table) bytes per pooled slot that are reset in place rather
/// than unmapped after a call: covers what a scoring call touches (a Rust
/// plugin's stack top, data and a small heap) so the next call takes no
/// page faults. See `PoolingAllocationConfig::linear_memory_keep_resident`.
const KEEP_RESIDENT_BYTES: usize = 2 * 1024 * 1024;
/// Largest cache artifact read back: compiled code is a few times the size
/// of the module, so anything far bigger is not ours.
const MAX_CACHE_ARTIFACT_BYTES: u64 = 64 * 1024 * 1024;
/// Header of a cache artifact this host wrote, followed by the sha256 of the
/// serialized module and the module itself.
const CACHE_MAGIC: &[u8; 16] = b"integritas-cwasm";

/// The host's limits and options. `Default` gives the named constants.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Fuel per call; see [`FUEL_PER_CALL`].
    pub fuel_per_call: u64,
    /// Linear memory cap per call; see [`MEMORY_LIMIT_BYTES`].
    pub memory_limit_bytes: usize,
    /// See [`MAX_WASM_STACK_BYTES`].
    pub max_wasm_stack_bytes: usize,
    /// See [`MAX_TABLE_ELEMENTS`].
    pub max_table_elements: usize,
    /// See [`MAX_MODULE_BYTES`].
    pub max_module_bytes: usize,
    /// See [`COMPILE_TIMEOUT`].
    pub compile_timeout: Duration,
    /// See [`MAX_INPUT_BYTES`].
    pub max_input_bytes: usize,
    /// See [`MAX_OUTPUT_BYTES`].
    pub max_output_bytes: usize,
    /// See [`MAX_CONCURRENT_CALLS`].
    pub max_concurrent_calls: u32,
    /// Functions, code bytes, locals, imports, exports and segments a module
    /// may have; checked from its bytes before it is compiled.
    pub module_limits: ModuleLimits,
    /// Where compiled modules are cached between restarts (created with
    /// owner-only permissions). `None`: compile on every load.
    pub cache_dir: Option<PathBuf>,
    /// Forward plugins' `integritas.log` messages to `tracing` (target
    /// `integritas::plugin`); when false the import still exists but is silent.
    pub forward_plugin_logs: bool,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            fuel_per_call: FUEL_PER_CALL,
            memory_limit_bytes: MEMORY_LIMIT_BYTES,
            max_wasm_stack_bytes: MAX_WASM_STACK_BYTES,
            max_table_elements: MAX_TABLE_ELEMENTS,
            max_module_bytes: MAX_MODULE_BYTES,
            compile_timeout: COMPILE_TIMEOUT,
            max_input_bytes: MAX_INPUT_BYTES,
            max_output_bytes: MAX_OUTPUT_BYTES,
            max_concurrent_calls: MAX_CONCURRENT_CALLS,
            module_limits: ModuleLimits::default(),
            cache_dir: None,
            forward_plugin_logs: true,
        }
    }
}

/// What the host learnt about a loaded plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginInfo {
    /// The id the pack gave it; calls use this id.
    pub id: String,
    /// The name the module gives itself (from `integritas_info`).
    pub name: String,
    /// The module's own semver version.
    pub version: String,
    /// Lower-case hex sha256 of the module bytes.
    pub sha256: String,
    /// The ABI version of its marker export.
    pub abi_version: String,
    /// Entry points, sorted (export names without `integritas_entry_`).
    pub entries: Vec<String>,
    /// Imports as `module.name` (at most `integritas.log`).
    pub imports: Vec<String>,
    /// Every export name, sorted.
    pub exports: Vec<String>,
    /// Number of cases in its self-test fixture.
    pub self_test_cases: usize,
    pub module_bytes: usize,
    /// Whether the compiled code came from the compilation cache.
    pub from_cache: bool,
}

impl PluginInfo {
    /// The provenance stored with every result of this plugin.
    pub fn provenance(&self) -> Provenance {
        Provenance { id: self.id.clone(), version: self.version.clone(), sha256: self.sha256.clone() }
    }
}

/// Outcome of one self-test case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SelfTestCase {
    pub name: String,
    pub entry: String,
    pub passed: bool,
    /// Why it failed (expected vs actual, or the call's error).
    pub detail: Option<String>,
}

/// Outcome of a plugin's self-test fixture.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SelfTestReport {
    pub plugin: String,
    pub cases: Vec<SelfTestCase>,
}

impl SelfTestReport {
    /// True when every case passed (vacuously true with no fixture).
    pub fn passed(&self) -> bool {
        self.cases.iter().all(|c| c.passed)
    }
}

/// A loaded plugin: its facts, its ready-to-instantiate module and fixture.
struct Loaded {
    info: PluginInfo,
    pre: InstancePre<CallState>,
    self_test: Vec<Value>,
}

/// Per-call store data: who is running (for logs) and the limiter.
struct CallState {
    plugin: Arc<str>,
    limiter: Limiter,
    logs_left: u32,
    forward_logs: bool,
}

/// Caps memory and tables per call and remembers whether a cap was hit, so
/// the failure is reported as [`PluginError::OutOfMemory`], not a bare trap.
struct Limiter {
    memory_limit: usize,
    table_limit: usize,
    hit: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.memory_limit {
            self.hit = true;
            // An error (not `Ok(false)`) makes `memory.grow` trap, so the
            // call stops here instead of limping on after a failed allocation.
            return Err(wasmtime::Error::msg("memory cap reached"));
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.table_limit {
            self.hit = true;
            return Err(wasmtime::Error::msg("table cap reached"));
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        1
    }

    fn memories(&self) -> usize {
        1
    }
}

/// A counting semaphore over the pool's slots: a call waits for a slot
/// rather than failing when every pooled instance is busy.
struct Slots {
    free: Mutex<u32>,
    freed: Condvar,
}

struct SlotGuard<'a>(&'a Slots);

impl Slots {
    fn acquire(&self) -> SlotGuard<'_> {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(PoisonError::into_inner);
        }
        *free -= 1;
        SlotGuard(self)
    }
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.0.freed.notify_one();
    }
}

/// The wasmtime plugin host. Cheap to share: wrap it in an `Arc` and call it
/// from any number of threads.
pub struct PluginHost {
    engine: Engine,
    linker: Linker<CallState>,
    config: HostConfig,
    plugins: RwLock<HashMap<String, Arc<Loaded>>>,
    /// Shared with the host's [staging](PluginHost::staging) hosts: they run
    /// in the same engine, whose pool has one set of slots.
    slots: Arc<Slots>,
    /// Hex of the engine's precompile-compatibility hash: part of every
    /// cache key, so a wasmtime upgrade or a config change never reads old code.
    engine_key: String,
    /// `None`: compiled modules are written to the cache at once. `Some`
    /// (a staging host): they wait here for [`PluginHost::commit_cache`].
    deferred_cache: Option<Mutex<Vec<(PathBuf, Module)>>>,
}

// The engine shares one host across request threads.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PluginHost>();
};

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost").field("config", &self.config).field("plugins", &self.plugin_ids()).finish()
    }
}

/// Why the host could not be created (bad configuration, or the OS refused
/// the pooling allocator's reservations).
#[derive(Debug, thiserror::Error)]
#[error("cannot start the plugin host: {0}")]
pub struct HostError(String);

impl PluginHost {
    /// Creates a host with the given limits. Fails only on an unusable
    /// configuration or when the OS refuses the pool's address space.
    pub fn new(config: HostConfig) -> Result<PluginHost, HostError> {
        let mut pool = PoolingAllocationConfig::new();
        pool.total_core_instances(config.max_concurrent_calls)
            .total_memories(config.max_concurrent_calls)
            .total_tables(config.max_concurrent_calls)
            .total_component_instances(0)
            .max_memories_per_module(1)
            .max_tables_per_module(1)
            .max_memory_size(config.memory_limit_bytes)
            .table_elements(config.max_table_elements)
            // Per-call overhead: instead of unmapping a finished call's
            // memory (page faults and TLB flushes on the next call), reset
            // the pages it dirtied in place. With the kernel's PAGEMAP_SCAN
            // (Linux 6.7+) only dirty pages are copied back.
            .pagemap_scan(wasmtime::Enabled::Auto)
            .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
            .table_keep_resident(KEEP_RESIDENT_BYTES);

        let mut wasm = Config::new();
        wasm.strategy(Strategy::Cranelift)
            .cranelift_opt_level(OptLevel::Speed)
            .parallel_compilation(true)
            // Time bound: fuel is deterministic (the same call always stops
            // at the same instruction), unlike epochs.
            .consume_fuel(true)
            .epoch_interruption(false)
            .max_wasm_stack(config.max_wasm_stack_bytes)
            // Determinism: identical NaN bits everywhere, no
            // implementation-defined SIMD. Threads (shared memory, atomics
            // waits) are off because wasmtime's `threads` feature is not
            // compiled in; a module using them fails validation.
            .cranelift_nan_canonicalization(true)
            .wasm_relaxed_simd(false)
            .relaxed_simd_deterministic(true)
            // One memory of 32-bit addresses: what the limits above assume.
            .wasm_multi_memory(false)
            .wasm_memory64(false)
            // Pooled memories no bigger than the cap: out-of-bounds checks
            // are explicit instead of relying on a 4 GiB reservation per slot.
            .memory_reservation(config.memory_limit_bytes as u64)
            .memory_reservation_for_growth(0)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&wasm).map_err(|e| HostError(format!("{e}")))?;

        let mut linker = Linker::new(&engine);
        linker
            .func_wrap("integritas", "log", host_log)
            .map_err(|e| HostError(format!("cannot define integritas.log: {e}")))?;

        let mut hasher = std::hash::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = format!("{:016x}", hasher.finish());

        if let Some(dir) = &config.cache_dir {
            prepare_cache_dir(dir).map_err(HostError)?;
        }
        let slots = Arc::new(Slots { free: Mutex::new(config.max_concurrent_calls.max(1)), freed: Condvar::new() });
        Ok(PluginHost {
            engine,
            linker,
            config,
            plugins: RwLock::new(HashMap::new()),
            slots,
            engine_key,
            deferred_cache: None,
        })
    }

    /// A host for trying a pack out before it is installed: the same engine,
    /// limits and call slots, its own (empty) set of plugins, and a
    /// compilation cache it reads but does not write until
    /// [`PluginHost::commit_cache`] — so a pack that is refused leaves no
    /// compiled code behind, and its plugins never replace this host's.
    pub fn staging(&self) -> PluginHost {
        PluginHost {
            engine: self.engine.clone(),
            linker: self.linker.clone(),
            config: self.config.clone(),
            plugins: RwLock::new(HashMap::new()),
            slots: Arc::clone(&self.slots),
            engine_key: self.engine_key.clone(),
            deferred_cache: Some(Mutex::new(Vec::new())),
        }
    }

    /// Writes the compilation-cache artifacts a staging host held back (its
    /// pack was installed); returns how many were written. A host that is
    /// not staging has none. A failed write only costs a compilation later.
    pub fn commit_cache(&self) -> usize {
        let Some(pending) = &self.deferred_cache else { return 0 };
        let pending = std::mem::take(&mut *pending.lock().unwrap_or_else(PoisonError::into_inner));
        let mut written = 0;
        for (path, module) in pending {
            match write_cached(&path, &module) {
                Ok(()) => written += 1,
                Err(e) => tracing::warn!(path = %path.display(), "cannot write the compilation cache: {e}"),
            }
        }
        written
    }

    /// The limits this host enforces.
    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    /// Ids of the loaded plugins, sorted.
    pub fn plugin_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> =
            self.plugins.read().unwrap_or_else(PoisonError::into_inner).keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Facts about a loaded plugin.
    pub fn info(&self, id: &str) -> Option<PluginInfo> {
        self.get(id).ok().map(|p| p.info.clone())
    }

    /// Unloads a plugin; calls already running finish normally.
    pub fn unload(&self, id: &str) -> bool {
        self.plugins.write().unwrap_or_else(PoisonError::into_inner).remove(id).is_some()
    }

    /// Reads a module file and loads it (see [`PluginHost::load`]).
    pub fn load_file(&self, id: &str, path: &Path, expected_sha256: Option<&str>) -> Result<PluginInfo, PluginError> {
        let load_err = |reason: String| PluginError::Load { plugin: id.to_string(), reason };
        let size = std::fs::metadata(path).map_err(|e| load_err(format!("cannot read {}: {e}", path.display())))?.len();
        if size > self.config.max_module_bytes as u64 {
            return Err(load_err(too_big(size, self.config.max_module_bytes)));
        }
        let bytes = std::fs::read(path).map_err(|e| load_err(format!("cannot read {}: {e}", path.display())))?;
        self.load(id, &bytes, expected_sha256)
    }

    /// Checks, compiles (or fetches from the cache) and registers a module
    /// under `id`, replacing any plugin of that id. With `expected_sha256`
    /// (from the pack manifest) the bytes must match it exactly.
    ///
    /// Refuses, in this order: oversized modules, checksum mismatches; then,
    /// read from the bytes before compiling, modules over a structural limit
    /// ([`ModuleLimits`]), imports other than `integritas.log`, a missing or
    /// incompatible ABI marker, missing or mistyped required exports, no
    /// entry points; then invalid wasm or disabled features, compilations
    /// over the time cap, and an `integritas_info` that is not valid.
    pub fn load(&self, id: &str, bytes: &[u8], expected_sha256: Option<&str>) -> Result<PluginInfo, PluginError> {
        let load_err = |reason: String| PluginError::Load { plugin: id.to_string(), reason };
        if bytes.len() > self.config.max_module_bytes {
            return Err(load_err(too_big(bytes.len() as u64, self.config.max_module_bytes)));
        }
        let sha256 = hex(&Sha256::digest(bytes));
        if let Some(expected) = expected_sha256
            && !expected.trim().eq_ignore_ascii_case(&sha256)
        {
            return Err(PluginError::ChecksumMismatch {
                plugin: id.to_string(),
                expected: expected.trim().to_ascii_lowercase(),
                actual: sha256,
            });
        }
        let caps = Caps {
            limits: &self.config.module_limits,
            memory_bytes: self.config.memory_limit_bytes,
            table_elements: self.config.max_table_elements,
        };
        let shape = shape::inspect(id, bytes, &caps)?;
        let (module, from_cache) = self.compile_cached(id, bytes, &sha256)?;
        let pre = self.linker.instantiate_pre(&module).map_err(|e| load_err(format!("cannot link: {e}")))?;

        let mut loaded = Loaded {
            info: PluginInfo {
                id: id.to_string(),
                name: String::new(),
                version: String::new(),
                sha256,
                abi_version: shape.abi_version,
                entries: shape.entries,
                imports: shape.imports,
                exports: shape.exports,
                self_test_cases: 0,
                module_bytes: bytes.len(),
                from_cache,
            },
            pre,
            self_test: Vec::new(),
        };
        let raw = self.invoke(&loaded, "integritas_info", None)?;
        let info: Value =
            serde_json::from_slice(&raw).map_err(|e| load_err(format!("integritas_info is not JSON: {e}")))?;
        let name = info.get("name").and_then(Value::as_str).unwrap_or_default();
        let version = info.get("version").and_then(Value::as_str).unwrap_or_default();
        if name.is_empty() {
            return Err(load_err("integritas_info has no `name`".into()));
        }
        semver::Version::parse(version)
            .map_err(|e| load_err(format!("integritas_info `version` {version:?} is not semver: {e}")))?;
        if let Some(e) = info.get("self_test_error").and_then(Value::as_str) {
            return Err(load_err(format!("the embedded self-test fixture is not JSON: {e}")));
        }
        let self_test = match info.get("self_test") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(cases)) => cases.clone(),
            Some(_) => {
                return Err(load_err("integritas_info `self_test` is not an array".into()));
            }
        };
        loaded.info.name = name.to_string();
        loaded.info.version = version.to_string();
        loaded.info.self_test_cases = self_test.len();
        loaded.self_test = self_test;
        let info = loaded.info.clone();
        self.plugins.write().unwrap_or_else(PoisonError::into_inner).insert(id.to_string(), Arc::new(loaded));
        Ok(info)
    }

    /// Runs the plugin's self-test fixture. Fails only for an unknown
    /// plugin; each case's outcome is in the report.
    pub fn self_test(&self, id: &str) -> Result<SelfTestReport, PluginError> {
        let plugin = self.get(id)?;
        let cases = plugin
            .self_test
            .iter()
            .enumerate()
            .map(|(i, case)| {
                let name = case.get("name").and_then(Value::as_str).map_or_else(|| format!("case {i}"), str::to_string);
                let entry = case.get("entry").and_then(Value::as_str).unwrap_or_default().to_string();
                let input = case.get("input").cloned().unwrap_or(Value::Null);
                let expect = case.get("expect").cloned().unwrap_or(Value::Null);
                let got = match self.call_loaded(&plugin, &entry, &input) {
                    Ok(out) => Ok(serde_json::json!({ "ok": out.value })),
                    Err(PluginError::Rejected { message, .. }) => Ok(serde_json::json!({ "error": message })),
                    Err(e) => Err(e.to_string()),
                };
                let (passed, detail) = match got {
                    Ok(got) if got == expect => (true, None),
                    Ok(got) => (false, Some(format!("expected {expect}, got {got}"))),
                    Err(e) => (false, Some(e)),
                };
                SelfTestCase { name, entry, passed, detail }
            })
            .collect();
        Ok(SelfTestReport { plugin: id.to_string(), cases })
    }

    fn get(&self, id: &str) -> Result<Arc<Loaded>, PluginError> {
        self.plugins
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
            .ok_or_else(|| PluginError::UnknownPlugin(id.to_string()))
    }

    fn call_loaded(&self, plugin: &Loaded, entry: &str, input: &Value) -> Result<PluginOutput, PluginError> {
        let id = &plugin.info.id;
        if !plugin.info.entries.iter().any(|e| e == entry) {
            return Err(PluginError::MissingEntry { plugin: id.clone(), entry: entry.to_string() });
        }
        let bytes = serde_json::to_vec(input).map_err(|e| PluginError::BadOutput {
            plugin: id.clone(),
            reason: format!("the input cannot be serialised: {e}"),
        })?;
        if bytes.len() > self.config.max_input_bytes {
            return Err(PluginError::Rejected {
                plugin: id.clone(),
                message: format!("the input is {} bytes; the cap is {}", bytes.len(), self.config.max_input_bytes),
            });
        }
        let raw = self.invoke(plugin, &format!("{ENTRY_PREFIX}{entry}"), Some(&bytes))?;
        let bad = |reason: String| PluginError::BadOutput { plugin: id.clone(), reason };
        let envelope: Value = serde_json::from_slice(&raw).map_err(|e| bad(format!("not JSON: {e}")))?;
        let Value::Object(mut envelope) = envelope else {
            return Err(bad("not a JSON object with `ok` or `error`".into()));
        };
        if envelope.len() == 1
            && let Some(value) = envelope.remove("ok")
        {
            return Ok(PluginOutput { value, provenance: plugin.info.provenance() });
        }
        match (envelope.len(), envelope.get("error")) {
            (1, Some(Value::String(message))) => {
                Err(PluginError::Rejected { plugin: id.clone(), message: message.clone() })
            }
            _ => Err(bad("expected exactly one of `ok` or `error` (a string)".into())),
        }
    }

    /// One sandboxed call: fresh store and instance, fuel and limits set,
    /// input copied in, `export` called, output bytes copied out.
    fn invoke(&self, plugin: &Loaded, export: &str, input: Option<&[u8]>) -> Result<Vec<u8>, PluginError> {
        let id = plugin.info.id.as_str();
        let _slot = self.slots.acquire();
        let mut store = Store::new(
            &self.engine,
            CallState {
                plugin: Arc::from(id),
                limiter: Limiter {
                    memory_limit: self.config.memory_limit_bytes,
                    table_limit: self.config.max_table_elements,
                    hit: false,
                },
                logs_left: MAX_LOG_MESSAGES_PER_CALL,
                forward_logs: self.config.forward_plugin_logs,
            },
        );
        store.limiter(|s| &mut s.limiter);
        store.set_fuel(self.config.fuel_per_call).map_err(|e| self.failure(&store, id, e))?;
        let instance = plugin.pre.instantiate(&mut store).map_err(|e| self.failure(&store, id, e))?;
        let bad = |reason: String| PluginError::BadOutput { plugin: id.to_string(), reason };
        // `inspect` checked these exports and their types at load time.
        let memory = instance.get_memory(&mut store, "memory").ok_or_else(|| bad("no `memory` export".into()))?;
        let packed = match input {
            None => instance
                .get_typed_func::<(), i64>(&mut store, export)
                .and_then(|f| f.call(&mut store, ()))
                .map_err(|e| self.failure(&store, id, e))?,
            Some(bytes) => {
                let len = i32::try_from(bytes.len()).map_err(|_| bad("input too large".into()))?;
                let ptr = instance
                    .get_typed_func::<i32, i32>(&mut store, "integritas_alloc")
                    .and_then(|f| f.call(&mut store, len))
                    .map_err(|e| self.failure(&store, id, e))?;
                if ptr == 0 {
                    return Err(PluginError::Trap {
                        plugin: id.to_string(),
                        reason: format!("integritas_alloc could not allocate {len} bytes for the input"),
                    });
                }
                memory
                    .write(&mut store, ptr as u32 as usize, bytes)
                    .map_err(|_| bad(format!("integritas_alloc returned {ptr:#x}, outside its memory")))?;
                instance
                    .get_typed_func::<(i32, i32), i64>(&mut store, export)
                    .and_then(|f| f.call(&mut store, (ptr, len)))
                    .map_err(|e| self.failure(&store, id, e))?
            }
        };
        let packed = packed as u64;
        let (ptr, len) = ((packed >> 32) as usize, (packed & 0xffff_ffff) as usize);
        if len > self.config.max_output_bytes {
            return Err(bad(format!("the output is {len} bytes; the cap is {}", self.config.max_output_bytes)));
        }
        let data = memory.data(&store);
        let out = ptr
            .checked_add(len)
            .and_then(|end| data.get(ptr..end))
            .ok_or_else(|| bad(format!("the output ({len} bytes at {ptr:#x}) lies outside the plugin's memory")))?;
        Ok(out.to_vec())
    }

    /// Turns a wasmtime error from a call into the typed error it means.
    fn failure(&self, store: &Store<CallState>, id: &str, err: wasmtime::Error) -> PluginError {
        let plugin = id.to_string();
        if store.data().limiter.hit {
            return PluginError::OutOfMemory { plugin, limit_bytes: self.config.memory_limit_bytes as u64 };
        }
        match err.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => PluginError::OutOfFuel { plugin, fuel: self.config.fuel_per_call },
            Some(Trap::StackOverflow) => PluginError::Trap {
                plugin,
                reason: format!(
                    "stack overflow: the call nested deeper than its {} KiB wasm stack allows",
                    self.config.max_wasm_stack_bytes / 1024
                ),
            },
            Some(trap) => PluginError::Trap { plugin, reason: trap.to_string() },
            None => PluginError::Trap { plugin, reason: err.to_string() },
        }
    }

    /// Compiles `bytes`, or reads the host's own cached artifact for them.
    fn compile_cached(&self, id: &str, bytes: &[u8], sha256: &str) -> Result<(Module, bool), PluginError> {
        let Some(dir) = &self.config.cache_dir else {
            return Ok((self.compile(id, bytes)?, false));
        };
        let path = dir.join(format!("{sha256}-{}.cwasm", self.engine_key));
        if let Some(module) = self.read_cached(&path) {
            return Ok((module, true));
        }
        let module = self.compile(id, bytes)?;
        match &self.deferred_cache {
            Some(pending) => pending.lock().unwrap_or_else(PoisonError::into_inner).push((path, module.clone())),
            None => {
                if let Err(e) = write_cached(&path, &module) {
                    tracing::warn!(plugin = id, path = %path.display(), "cannot write the compilation cache: {e}");
                }
            }
        }
        Ok((module, false))
    }

    /// Compiles on a separate thread and gives up after the compile-time
    /// cap: wasmtime cannot interrupt Cranelift, so a pathological module's
    /// thread is abandoned (it stops when compilation ends; the module size
    /// cap bounds how long that is) and the load is refused.
    fn compile(&self, id: &str, bytes: &[u8]) -> Result<Module, PluginError> {
        let load_err = |reason: String| PluginError::Load { plugin: id.to_string(), reason };
        let engine = self.engine.clone();
        let owned = bytes.to_vec();
        let (tx, rx) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name(format!("compile-{id}"))
            .spawn(move || {
                let _ = tx.send(Module::from_binary(&engine, &owned));
            })
            .map_err(|e| load_err(format!("cannot start the compiler thread: {e}")))?;
        match rx.recv_timeout(self.config.compile_timeout) {
            Ok(Ok(module)) => Ok(module),
            Ok(Err(e)) => Err(load_err(format!("not a valid module for this host: {}", error_chain(&e)))),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(load_err(format!(
                "compiling took longer than the {} s cap",
                self.config.compile_timeout.as_secs_f64()
            ))),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(load_err("the compiler thread failed".into())),
        }
    }

    /// Reads a cache artifact back, or `None` (then the module is compiled
    /// afresh) if it is missing, not ours, corrupt or for another engine.
    fn read_cached(&self, path: &Path) -> Option<Module> {
        let meta = std::fs::symlink_metadata(path).ok()?;
        if !meta.is_file() || meta.len() > MAX_CACHE_ARTIFACT_BYTES || !private_to_us(&meta) {
            return None;
        }
        let bytes = std::fs::read(path).ok()?;
        let rest = bytes.strip_prefix(CACHE_MAGIC.as_slice())?;
        let (digest, artifact) = rest.split_at_checked(32)?;
        if Sha256::digest(artifact).as_slice() != digest {
            tracing::warn!(path = %path.display(), "ignoring a corrupt compilation-cache artifact");
            return None;
        }
        match deserialize_own_artifact(&self.engine, artifact) {
            Ok(module) => Some(module),
            Err(e) => {
                tracing::warn!(path = %path.display(), "ignoring an unusable compilation-cache artifact: {e}");
                None
            }
        }
    }
}

/// Loads compiled code this host serialized itself.
#[allow(unsafe_code)]
fn deserialize_own_artifact(engine: &Engine, artifact: &[u8]) -> wasmtime::Result<Module> {
    // SAFETY: `Module::deserialize` trusts its bytes to be wasmtime's own
    // output (they are machine code). We only get here for a file that
    // (1) sits in the cache directory this host created owner-only,
    // (2) is a regular file (not a symlink) not writable by group or others,
    // (3) is named after the sha256 of the module the caller just handed us
    //     and this engine's compatibility hash, so nothing uploaded is ever
    //     looked up here, and
    // (4) carries our header with a sha256 of the artifact that matches, so
    //     a truncated or corrupted write is rejected before this call.
    // The bytes are read into memory first (not mmapped), so later changes
    // to the file cannot affect the loaded code. wasmtime additionally
    // checks the engine and version header.
    unsafe { Module::deserialize(engine, artifact) }
}

/// Writes a cache artifact atomically (temporary file, then rename), so a
/// concurrent reader sees either nothing or the whole file.
fn write_cached(path: &Path, module: &Module) -> Result<(), String> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let artifact = module.serialize().map_err(|e| e.to_string())?;
    let tmp = path.with_extension(format!("tmp{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(CACHE_MAGIC)?;
        file.write_all(&Sha256::digest(&artifact))?;
        file.write_all(&artifact)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        e.to_string()
    })
}

/// Creates the cache directory owner-only, and refuses one that others can
/// write to (they could plant machine code there).
fn prepare_cache_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create the cache directory {}: {e}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    let meta = std::fs::metadata(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    if !private_to_us(&meta) {
        return Err(format!("the cache directory {} is writable by others", dir.display()));
    }
    Ok(())
}

#[cfg(unix)]
fn private_to_us(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    // Neither group- nor world-writable, and owned by the user running the
    // host (on Linux `/proc/self` is owned by the process's effective uid;
    // elsewhere only the mode is checked).
    let owner_ok = std::fs::metadata("/proc/self").map_or(true, |me| me.uid() == meta.uid());
    meta.mode() & 0o022 == 0 && owner_ok
}

#[cfg(not(unix))]
fn private_to_us(_meta: &std::fs::Metadata) -> bool {
    true
}

/// `integritas.log(level, ptr, len)`: the one import a plugin may use. It
/// never fails the call: bad pointers, bad UTF-8 and excess messages are
/// dropped.
fn host_log(mut caller: Caller<'_, CallState>, level: i32, ptr: i32, len: i32) {
    if caller.data().logs_left == 0 || !caller.data().forward_logs {
        return;
    }
    caller.data_mut().logs_left -= 1;
    let Some(memory) = caller.get_export("memory").and_then(|e| e.into_memory()) else {
        return;
    };
    let (ptr, len) = (ptr as u32 as usize, (len as u32 as usize).min(MAX_LOG_MESSAGE_BYTES));
    let data = memory.data(&caller);
    let Some(bytes) = ptr.checked_add(len).and_then(|end| data.get(ptr..end)) else {
        return;
    };
    let message = String::from_utf8_lossy(bytes);
    let plugin = caller.data().plugin.clone();
    match level {
        0 => tracing::error!(target: "integritas::plugin", plugin = &*plugin, "{message}"),
        1 => tracing::warn!(target: "integritas::plugin", plugin = &*plugin, "{message}"),
        2 => tracing::info!(target: "integritas::plugin", plugin = &*plugin, "{message}"),
        _ => tracing::debug!(target: "integritas::plugin", plugin = &*plugin, "{message}"),
    }
}

impl PluginRunner for PluginHost {
    fn call(&self, plugin: &str, entry: &str, input: &Value) -> Result<PluginOutput, PluginError> {
        let loaded = self.get(plugin)?;
        self.call_loaded(&loaded, entry, input)
    }
}

fn too_big(size: u64, cap: usize) -> String {
    format!("the module is {size} bytes; the cap is {cap}")
}

fn error_chain(e: &wasmtime::Error) -> String {
    e.chain().map(|c| c.to_string()).collect::<Vec<_>>().join(": ")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
