//! A module's shape, read from its bytes before anything compiles it: the
//! ABI marker, imports, required exports and entry points (`plugins/ABI.md`
//! §2, §6), and the structural limits that keep compilation cheap.
//!
//! Why before compiling: Cranelift's time and memory grow with the number
//! and size of functions, and wasmtime cannot interrupt it. A module of
//! half a million empty functions fits in 2 MiB yet took 19 s and 1.1 GB to
//! compile; read here, it is refused at its function section's header.
//!
//! Architecture invariant: this is the only module that names `wasmparser`;
//! it reads, it never runs or compiles anything.

use std::collections::BTreeSet;

use wasmparser::{Encoding, ExternalKind, FuncType, Parser, Payload, TypeRef};

use super::PluginError;
use super::host::{ABI_MAJOR, ABI_MARKER_PREFIX, ABI_MINOR, ENTRY_PREFIX};

/// Functions a module may define. The bundled plugins define 200–600 (Rust
/// with serde); compile time and memory grow with every function, so 10,000
/// leaves ample room for a larger plugin while a 500,000-function module is
/// refused before any compilation.
pub const MAX_FUNCTIONS: u32 = 10_000;
/// Bytes of one function body. The largest in the bundled plugins is 6 KiB
/// (serde's generated parser); one huge body makes the register allocator
/// work superlinearly, so 256 KiB is the most one function may have.
pub const MAX_FUNCTION_BODY_BYTES: u32 = 256 * 1024;
/// Bytes of all function bodies together. The bundled plugins have
/// 80–160 KiB of code; 2 MiB bounds the compiler's total work to about
/// a dozen times the largest of them, below the 4 MiB module cap.
pub const MAX_CODE_BYTES: u32 = 2 * 1024 * 1024;
/// Locals one function may declare. The bundled plugins need at most 35;
/// a declaration of thousands of locals takes four bytes yet makes the
/// compiler zero-initialise each of them, so size caps do not bound it.
pub const MAX_LOCALS_PER_FUNCTION: u32 = 1_000;
/// Imports. The host offers one function, `integritas.log`; a few
/// duplicate imports of it (from separately built objects) are harmless,
/// thousands only make the linker work.
pub const MAX_IMPORTS: u32 = 16;
/// Exports: the ABI's five, the entry points and the linker's globals.
/// The bundled plugins have 8 or 9.
pub const MAX_EXPORTS: u32 = 1_000;
/// Function types. The bundled plugins declare about 30; the type section
/// is read whole before any function, so it is capped too.
pub const MAX_TYPES: u32 = 1_000;
/// Globals. The bundled plugins have 3 (stack pointer, heap and data ends);
/// every global is set up again by each call's fresh instance.
pub const MAX_GLOBALS: u32 = 1_000;
/// Data segments. The bundled plugins have 1; every segment is copied into
/// memory again by each call's fresh instance.
pub const MAX_DATA_SEGMENTS: u32 = 1_000;
/// Element segments (function tables' initial contents). The bundled
/// plugins have 1; like data, they are applied again on every call.
pub const MAX_ELEMENT_SEGMENTS: u32 = 1_000;

/// The structural limits a module must keep before it is compiled.
/// `Default` gives the named constants; a test or an embedder may lower them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleLimits {
    /// See [`MAX_FUNCTIONS`].
    pub max_functions: u32,
    /// See [`MAX_FUNCTION_BODY_BYTES`].
    pub max_function_body_bytes: u32,
    /// See [`MAX_CODE_BYTES`].
    pub max_code_bytes: u32,
    /// See [`MAX_LOCALS_PER_FUNCTION`].
    pub max_locals_per_function: u32,
    /// See [`MAX_IMPORTS`].
    pub max_imports: u32,
    /// See [`MAX_EXPORTS`].
    pub max_exports: u32,
    /// See [`MAX_TYPES`].
    pub max_types: u32,
    /// See [`MAX_GLOBALS`].
    pub max_globals: u32,
    /// See [`MAX_DATA_SEGMENTS`].
    pub max_data_segments: u32,
    /// See [`MAX_ELEMENT_SEGMENTS`].
    pub max_element_segments: u32,
}

impl Default for ModuleLimits {
    fn default() -> Self {
        ModuleLimits {
            max_functions: MAX_FUNCTIONS,
            max_function_body_bytes: MAX_FUNCTION_BODY_BYTES,
            max_code_bytes: MAX_CODE_BYTES,
            max_locals_per_function: MAX_LOCALS_PER_FUNCTION,
            max_imports: MAX_IMPORTS,
            max_exports: MAX_EXPORTS,
            max_types: MAX_TYPES,
            max_globals: MAX_GLOBALS,
            max_data_segments: MAX_DATA_SEGMENTS,
            max_element_segments: MAX_ELEMENT_SEGMENTS,
        }
    }
}

/// What [`inspect`] checks a module against.
pub(crate) struct Caps<'a> {
    pub limits: &'a ModuleLimits,
    /// Linear memory cap per call: the module's memory must start within it.
    pub memory_bytes: usize,
    /// Table elements per instance: the module's table must start within it.
    pub table_elements: usize,
}

/// The module's shape as far as the ABI cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shape {
    pub abi_version: String,
    /// Entry point names (without the prefix), sorted.
    pub entries: Vec<String>,
    /// Imports as `module.name`.
    pub imports: Vec<String>,
    /// Every export name, sorted.
    pub exports: Vec<String>,
}

/// The signature of `integritas.log`, the one import the host offers.
const LOG_SIGNATURE: &str = "(i32, i32, i32) -> ()";
/// The required function exports and their signatures (ABI §2).
const REQUIRED: [(&str, &str); 4] = [
    ("integritas_alloc", "(i32) -> (i32)"),
    ("integritas_dealloc", "(i32, i32) -> ()"),
    ("integritas_info", "() -> (i64)"),
    ("integritas_abi_version_", "() -> ()"),
];
const ENTRY_SIGNATURE: &str = "(i32, i32) -> (i64)";

/// What the sections said, gathered in one pass over the bytes.
#[derive(Default)]
struct Sections {
    types: Vec<String>,
    /// Type index of every function: imported ones first, then defined ones.
    functions: Vec<u32>,
    imports: Vec<String>,
    /// (name, kind, index) in the order written.
    exports: Vec<(String, ExternalKind, u32)>,
    /// Initial bytes of each memory, defined or imported.
    memories: Vec<u64>,
    tables: Vec<u64>,
    defined_functions: u32,
}

/// Reads `bytes` and checks every ABI and structural rule that needs no
/// compilation, stopping at the first breach: size limits are checked on
/// each section's header count before its items are read.
pub(crate) fn inspect(id: &str, bytes: &[u8], caps: &Caps) -> Result<Shape, PluginError> {
    let sections = read_sections(id, bytes, caps)?;
    check_abi(id, &sections, caps)
}

fn read_sections(id: &str, bytes: &[u8], caps: &Caps) -> Result<Sections, PluginError> {
    let limits = caps.limits;
    let invalid = |e: wasmparser::BinaryReaderError| PluginError::Load {
        plugin: id.to_string(),
        reason: format!("not valid WebAssembly: {e}"),
    };
    let over = |what: &'static str, found: u64, limit: u32| PluginError::ModuleLimit {
        plugin: id.to_string(),
        what,
        found,
        limit: u64::from(limit),
    };
    let at_most = |what: &'static str, found: u32, limit: u32| {
        if found > limit { Err(over(what, u64::from(found), limit)) } else { Ok(()) }
    };
    let mut s = Sections::default();
    let mut code_bytes: u64 = 0;
    let mut globals: u32 = 0;
    let mut data: u32 = 0;
    let mut elements: u32 = 0;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(invalid)? {
            Payload::Version { encoding: Encoding::Component, .. } => {
                return Err(PluginError::Load {
                    plugin: id.to_string(),
                    reason: "it is a component; the host loads core modules only".into(),
                });
            }
            Payload::TypeSection(reader) => {
                at_most("function types", reader.count().saturating_add(s.types.len() as u32), limits.max_types)?;
                for ty in reader.into_iter_err_on_gc_types() {
                    s.types.push(signature(&ty.map_err(invalid)?));
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(invalid)?;
                    at_most("imports", s.imports.len() as u32 + 1, limits.max_imports)?;
                    let name = format!("{}.{}", import.module, import.name);
                    let allowed = import.module == "integritas"
                        && import.name == "log"
                        && matches!(import.ty, TypeRef::Func(t) if s.types.get(t as usize).is_some_and(|sig| sig == LOG_SIGNATURE));
                    if !allowed {
                        return Err(PluginError::ForbiddenImport { plugin: id.to_string(), import: name });
                    }
                    if let TypeRef::Func(t) = import.ty {
                        s.functions.push(t);
                    }
                    s.imports.push(name);
                }
            }
            Payload::FunctionSection(reader) => {
                s.defined_functions = s.defined_functions.saturating_add(reader.count());
                at_most("functions", s.defined_functions, limits.max_functions)?;
                for ty in reader {
                    s.functions.push(ty.map_err(invalid)?);
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    s.tables.push(table.map_err(invalid)?.ty.initial);
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    let memory = memory.map_err(invalid)?;
                    s.memories.push(memory.initial.saturating_mul(u64::from(memory.page_size())));
                }
            }
            Payload::GlobalSection(reader) => {
                globals = globals.saturating_add(reader.count());
                at_most("globals", globals, limits.max_globals)?;
            }
            Payload::ExportSection(reader) => {
                at_most("exports", reader.count().saturating_add(s.exports.len() as u32), limits.max_exports)?;
                for export in reader {
                    let export = export.map_err(invalid)?;
                    s.exports.push((export.name.to_string(), export.kind, export.index));
                }
            }
            Payload::ElementSection(reader) => {
                elements = elements.saturating_add(reader.count());
                at_most("element segments", elements, limits.max_element_segments)?;
            }
            Payload::DataSection(reader) => {
                data = data.saturating_add(reader.count());
                at_most("data segments", data, limits.max_data_segments)?;
            }
            Payload::CodeSectionStart { count, size, .. } => {
                at_most("functions", count, limits.max_functions)?;
                at_most("bytes of code", size, limits.max_code_bytes)?;
                if count != s.defined_functions {
                    return Err(PluginError::Load {
                        plugin: id.to_string(),
                        reason: format!(
                            "not valid WebAssembly: it declares {} functions but has code for {count}",
                            s.defined_functions
                        ),
                    });
                }
            }
            Payload::CodeSectionEntry(body) => {
                let size = body.range().len() as u64;
                code_bytes += size;
                if size > u64::from(limits.max_function_body_bytes) {
                    return Err(over("bytes in one function body", size, limits.max_function_body_bytes));
                }
                if code_bytes > u64::from(limits.max_code_bytes) {
                    return Err(over("bytes of code", code_bytes, limits.max_code_bytes));
                }
                let mut locals: u64 = 0;
                for local in body.get_locals_reader().map_err(invalid)? {
                    locals += u64::from(local.map_err(invalid)?.0);
                    if locals > u64::from(limits.max_locals_per_function) {
                        return Err(over("locals in one function", locals, limits.max_locals_per_function));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(s)
}

/// The ABI marker, required exports and entry points (ABI §1, §2).
fn check_abi(id: &str, s: &Sections, caps: &Caps) -> Result<Shape, PluginError> {
    let load_err = |reason: String| PluginError::Load { plugin: id.to_string(), reason };
    let func_signature = |index: u32| -> Option<&str> {
        let ty = *s.functions.get(index as usize)?;
        s.types.get(ty as usize).map(String::as_str)
    };
    let export = |name: &str| s.exports.iter().find(|(n, ..)| n == name);

    let markers: Vec<&(String, ExternalKind, u32)> =
        s.exports.iter().filter(|(n, ..)| n.starts_with(ABI_MARKER_PREFIX)).collect();
    let supported = format!("{ABI_MAJOR}.0.0 to {ABI_MAJOR}.{ABI_MINOR}.x");
    let abi_version = match markers.as_slice() {
        [] => return Err(PluginError::AbiMismatch { plugin: id.to_string(), found: None, supported }),
        [(marker, ..)] => {
            let raw = &marker[ABI_MARKER_PREFIX.len()..];
            let version = semver::Version::parse(&raw.replace('_', "."))
                .map_err(|_| load_err(format!("the ABI marker `{marker}` does not end in MAJOR_MINOR_PATCH")))?;
            if version.major != ABI_MAJOR || version.minor > ABI_MINOR || !version.pre.is_empty() {
                return Err(PluginError::AbiMismatch {
                    plugin: id.to_string(),
                    found: Some(version.to_string()),
                    supported,
                });
            }
            version.to_string()
        }
        _ => return Err(load_err(format!("it has {} ABI markers; exactly one is allowed", markers.len()))),
    };

    for (name, want) in REQUIRED {
        let found = if name == ABI_MARKER_PREFIX { markers.first().copied() } else { export(name) };
        let shown = found.map_or(name, |(n, ..)| n.as_str());
        match found {
            Some((_, ExternalKind::Func | ExternalKind::FuncExact, index)) => match func_signature(*index) {
                Some(sig) if sig == want => {}
                Some(sig) => return Err(load_err(format!("export `{shown}` has type {sig}, expected {want}"))),
                None => return Err(load_err(format!("export `{shown}` names no function"))),
            },
            Some(_) => return Err(load_err(format!("export `{shown}` must be func {want}"))),
            None => return Err(load_err(format!("missing required export `{name}`: func {want}"))),
        }
    }
    match export("memory") {
        Some((_, ExternalKind::Memory, index)) => {
            let start = s.memories.get(*index as usize).copied().unwrap_or(0);
            if start > caps.memory_bytes as u64 {
                return Err(load_err(format!(
                    "its memory starts at {start} bytes, above the {}-byte cap",
                    caps.memory_bytes
                )));
            }
        }
        _ => return Err(load_err("missing required export `memory`".into())),
    }
    if let Some(start) = s.tables.iter().copied().find(|t| *t > caps.table_elements as u64) {
        return Err(load_err(format!(
            "its table starts with {start} elements, above the cap of {}",
            caps.table_elements
        )));
    }

    let mut entries = Vec::new();
    for (name, kind, index) in s.exports.iter().filter(|(n, ..)| n.starts_with(ENTRY_PREFIX)) {
        let is_func = matches!(kind, ExternalKind::Func | ExternalKind::FuncExact);
        if !is_func || func_signature(*index) != Some(ENTRY_SIGNATURE) {
            return Err(load_err(format!("entry export `{name}` must be func {ENTRY_SIGNATURE}")));
        }
        entries.push(name[ENTRY_PREFIX.len()..].to_string());
    }
    if entries.is_empty() {
        return Err(load_err(format!("it exports no entry point (`{ENTRY_PREFIX}<name>`)")));
    }
    entries.sort();
    let exports: BTreeSet<String> = s.exports.iter().map(|(n, ..)| n.clone()).collect();
    Ok(Shape { abi_version, entries, imports: s.imports.clone(), exports: exports.into_iter().collect() })
}

/// `(i32, i32) -> (i64)`: a function type written for comparison and messages.
fn signature(f: &FuncType) -> String {
    let list = |v: &[wasmparser::ValType]| v.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    format!("({}) -> ({})", list(f.params()), list(f.results()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ABI's required exports, around which each case changes one thing.
    const BASE: &str = r#"
      (memory (export "memory") 1)
      (func (export "integritas_abi_version_1_0_0"))
      (func (export "integritas_alloc") (param i32) (result i32) (i32.const 0))
      (func (export "integritas_dealloc") (param i32 i32))
      (func (export "integritas_info") (result i64) (i64.const 0))"#;
    const ENTRY: &str = r#"(func (export "integritas_entry_score") (param i32 i32) (result i64) (i64.const 0))"#;

    /// Inspects `(module <imports> BASE <rest>)` and writes the outcome as a line.
    #[track_caller]
    fn check(imports: &str, base: &str, rest: &str, expect: &str) {
        let wat = format!("(module {imports} {base} {rest})");
        let bytes = wat::parse_str(&wat).expect("valid wat");
        let limits = ModuleLimits::default();
        let caps = Caps { limits: &limits, memory_bytes: 2 * 65536, table_elements: 10 };
        let got = match inspect("p", &bytes, &caps) {
            Ok(shape) => format!("ok {} {:?} {:?}", shape.abi_version, shape.entries, shape.imports),
            Err(e) => format!("{}: {e}", e.kind()),
        };
        assert_eq!(got, expect, "{wat}");
    }

    #[test]
    fn abi_shape_is_read_from_the_bytes() {
        let log = r#"(import "integritas" "log" (func (param i32 i32 i32)))"#;
        let cases: &[(&str, &str, &str, &str)] = &[
            ("", BASE, ENTRY, r#"ok 1.0.0 ["score"] []"#),
            (log, BASE, ENTRY, r#"ok 1.0.0 ["score"] ["integritas.log"]"#),
            (
                r#"(import "integritas" "log" (func (param i32)))"#,
                BASE,
                ENTRY,
                "forbidden_import: plugin `p` imports `integritas.log`, but the host offers only `integritas.log`",
            ),
            (
                r#"(import "env" "memory" (memory 1))"#,
                BASE,
                ENTRY,
                "forbidden_import: plugin `p` imports `env.memory`, but the host offers only `integritas.log`",
            ),
            ("", BASE, "", "load: plugin `p` cannot be loaded: it exports no entry point (`integritas_entry_<name>`)"),
            (
                "",
                BASE,
                r#"(func (export "integritas_entry_score") (param i32) (result i64) (i64.const 0))"#,
                "load: plugin `p` cannot be loaded: entry export `integritas_entry_score` must be func (i32, i32) -> (i64)",
            ),
            (
                "",
                &BASE.replace(
                    r#"(func (export "integritas_abi_version_1_0_0"))"#,
                    r#"(global (export "integritas_abi_version_1_0_0") i32 (i32.const 0))"#,
                ),
                ENTRY,
                "load: plugin `p` cannot be loaded: export `integritas_abi_version_1_0_0` must be func () -> ()",
            ),
            (
                "",
                &BASE.replace("1_0_0", "1_1_0"),
                ENTRY,
                "abi_mismatch: plugin `p` is built for ABI 1.1.0, but this host supports 1.0.0 to 1.0.x",
            ),
            (
                "",
                &BASE.replace("1_0_0", "one"),
                ENTRY,
                "load: plugin `p` cannot be loaded: the ABI marker `integritas_abi_version_one` does not end in MAJOR_MINOR_PATCH",
            ),
            (
                "",
                &BASE.replace("(param i32 i32))", "(param i32))"),
                ENTRY,
                "load: plugin `p` cannot be loaded: export `integritas_dealloc` has type (i32) -> (), expected (i32, i32) -> ()",
            ),
            (
                "",
                &BASE.replace(r#"(memory (export "memory") 1)"#, r#"(memory (export "memory") 3)"#),
                ENTRY,
                "load: plugin `p` cannot be loaded: its memory starts at 196608 bytes, above the 131072-byte cap",
            ),
            (
                "",
                BASE,
                &format!("{ENTRY} (table 11 funcref)"),
                "load: plugin `p` cannot be loaded: its table starts with 11 elements, above the cap of 10",
            ),
        ];
        for (imports, base, rest, expect) in cases {
            check(imports, base, rest, expect);
        }
    }

    #[test]
    fn bytes_that_are_not_a_module_are_a_load_error() {
        let limits = ModuleLimits::default();
        let caps = Caps { limits: &limits, memory_bytes: 65536, table_elements: 10 };
        for bytes in [&b"\0asm but not really"[..], b"", b"\0asm\x0d\0\x01\0"] {
            let err = inspect("p", bytes, &caps).expect_err("refused");
            assert_eq!(err.kind(), "load", "{err}");
        }
    }
}
