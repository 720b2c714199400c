//! The integritas plugin SDK: one serde function per entry point becomes a
//! module that speaks the integritas plugin ABI 1.x (see `plugins/ABI.md`).
//!
//! A plugin author writes
//!
//! ```text
//! use integritas_plugin_sdk::{entry, plugin};
//!
//! plugin!(name: "my-plugin", self_test: "../self_test.json");
//! entry!(score => score);
//!
//! pub fn score(input: MyInput) -> Result<MyOutput, String> { ... }
//! ```
//!
//! and builds it with `cargo build --release --target wasm32-unknown-unknown`.
//! The exports the host needs (ABI marker, `memory`, `integritas_alloc`,
//! `integritas_dealloc`, `integritas_info`, `integritas_entry_*`) are only
//! generated for `wasm32`; on the build machine the same functions are plain
//! Rust, so unit tests (and [`testing::check_fixture`]) call them directly.

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use serde;
pub use serde_json;

/// The ABI version this SDK implements. It must agree with the marker export
/// `integritas_abi_version_1_0_0` that [`plugin!`] generates.
pub const ABI_VERSION: &str = "1.0.0";

/// How much of one log message is handed to the host: the host truncates
/// anyway, and keeping messages short keeps a panicking plugin cheap.
const MAX_LOG_MESSAGE_BYTES: usize = 4096;

/// The plugins' allocator on wasm32: a bump allocator.
///
/// Why: every call runs in a fresh instance that is thrown away afterwards,
/// so freeing memory buys little, while the general-purpose allocator grows
/// linear memory on its first allocation, and each growth costs the host a
/// page-protection change per call. The bump allocator first uses the free
/// tail of the initial memory (after `__heap_base`), so a small call never
/// grows memory, and it is faster for the serde-heavy work plugins do. It
/// frees (and grows in place) the most recent allocation, which covers the
/// common `Vec`-doubling and temporary-string patterns. Memory is bounded
/// by the host's per-call cap.
#[cfg(target_arch = "wasm32")]
mod bump {
    use std::alloc::{GlobalAlloc, Layout};
    use std::cell::Cell;

    const PAGE: usize = 65536;

    unsafe extern "C" {
        /// Provided by the linker: the first byte after static data.
        static __heap_base: u8;
    }

    pub struct Bump {
        next: Cell<usize>,
        end: Cell<usize>,
    }

    // SAFETY: wasm32-unknown-unknown without the atomics feature is single
    // threaded; the allocator is never shared across threads.
    unsafe impl Sync for Bump {}

    impl Bump {
        pub const fn new() -> Self {
            Bump { next: Cell::new(0), end: Cell::new(0) }
        }

        fn init(&self) {
            if self.end.get() == 0 {
                // Only the symbol's address is taken (no read), which is safe.
                self.next.set(&raw const __heap_base as usize);
                self.end.set(core::arch::wasm32::memory_size(0) * PAGE);
            }
        }

        /// Makes room up to `new_next`, growing memory if needed.
        fn reserve(&self, new_next: usize) -> bool {
            if new_next <= self.end.get() {
                return true;
            }
            let pages = (new_next - self.end.get()).div_ceil(PAGE);
            if core::arch::wasm32::memory_grow(0, pages) == usize::MAX {
                return false;
            }
            self.end.set(self.end.get() + pages * PAGE);
            true
        }
    }

    unsafe impl GlobalAlloc for Bump {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            self.init();
            let start = (self.next.get() + layout.align() - 1) & !(layout.align() - 1);
            let Some(new_next) = start.checked_add(layout.size()) else {
                return core::ptr::null_mut();
            };
            if !self.reserve(new_next) {
                return core::ptr::null_mut();
            }
            self.next.set(new_next);
            start as *mut u8
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            if ptr as usize + layout.size() == self.next.get() {
                self.next.set(ptr as usize);
            }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let start = ptr as usize;
            if start + layout.size() == self.next.get() {
                let Some(new_next) = start.checked_add(new_size) else {
                    return core::ptr::null_mut();
                };
                if new_size <= layout.size() || self.reserve(new_next) {
                    self.next.set(new_next);
                    return ptr;
                }
                return core::ptr::null_mut();
            }
            // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
            unsafe {
                let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
                let new = self.alloc(new_layout);
                if !new.is_null() {
                    core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                }
                new
            }
        }
    }
}

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: bump::Bump = bump::Bump::new();

/// Severity of a message sent through the optional `integritas.log` import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Level {
    Error = 0,
    Warn = 1,
    Info = 2,
    Debug = 3,
}

#[cfg(target_arch = "wasm32")]
#[link(wasm_import_module = "integritas")]
unsafe extern "C" {
    /// The only function the host offers: it forwards the message to the
    /// host's log with the plugin's id. It returns nothing and cannot fail.
    #[link_name = "log"]
    fn host_log(level: i32, ptr: *const u8, len: usize);
}

/// Sends a message to the host's log (a no-op off wasm). Logging never
/// changes a result: the host only records it.
pub fn log(level: Level, message: &str) {
    let mut end = message.len().min(MAX_LOG_MESSAGE_BYTES);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    let message = &message[..end];
    #[cfg(target_arch = "wasm32")]
    // SAFETY: the pointer and length describe a live `&str` in our memory.
    unsafe {
        host_log(level as i32, message.as_ptr(), message.len());
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = (level, message);
}

/// The JSON envelope every entry point returns: `{"ok": <output>}` or
/// `{"error": "<message for the person who entered the data>"}`.
#[derive(Serialize)]
enum Envelope<O> {
    #[serde(rename = "ok")]
    Ok(O),
    #[serde(rename = "error")]
    Error(String),
}

/// Runs `f` on JSON `input` and returns the envelope's bytes. This is the
/// whole entry-point logic, usable natively in tests.
pub fn handle<I, O, F>(input: &[u8], f: F) -> Vec<u8>
where
    I: DeserializeOwned,
    O: Serialize,
    F: FnOnce(I) -> Result<O, String>,
{
    let envelope = match serde_json::from_slice::<I>(input) {
        Err(e) => Envelope::Error(format!("invalid input: {e}")),
        Ok(input) => match f(input) {
            Ok(output) => Envelope::Ok(output),
            Err(message) => Envelope::Error(message),
        },
    };
    serde_json::to_vec(&envelope).unwrap_or_else(|e| {
        // Only reachable through a plugin bug (e.g. a map with non-string
        // keys); still answer with a well-formed envelope.
        let message = serde_json::Value::String(format!("output could not be serialised: {e}"));
        format!("{{\"error\":{message}}}").into_bytes()
    })
}

/// Builds the `integritas_info` JSON: name, version, ABI and self-test
/// fixture. A fixture that is not JSON is reported in `self_test_error` so
/// the host can refuse the module with a clear reason.
pub fn info_json(name: &str, version: &str, self_test: &str) -> Vec<u8> {
    let mut info = serde_json::Map::new();
    info.insert("name".into(), name.into());
    info.insert("version".into(), version.into());
    info.insert("abi".into(), ABI_VERSION.into());
    match serde_json::from_str::<serde_json::Value>(self_test) {
        Ok(fixture) => info.insert("self_test".into(), fixture),
        Err(e) => info.insert("self_test_error".into(), e.to_string().into()),
    };
    serde_json::to_vec(&serde_json::Value::Object(info)).unwrap_or_default()
}

/// Hands `bytes` to the host as a packed `(ptr << 32) | len`. The memory is
/// deliberately leaked: the host reads it and then discards the whole
/// instance (a host that reuses instances frees it with `integritas_dealloc`).
#[doc(hidden)]
pub fn __leak(bytes: Vec<u8>) -> i64 {
    let boxed = bytes.into_boxed_slice();
    let len = boxed.len() as u64;
    let ptr = Box::into_raw(boxed) as *mut u8 as usize as u64;
    ((ptr << 32) | (len & 0xffff_ffff)) as i64
}

/// `integritas_alloc`: a buffer of `len` bytes for the host to write the
/// input into, or 0 if it cannot be had.
#[doc(hidden)]
pub fn __alloc(len: i32) -> i32 {
    let Ok(len) = usize::try_from(len) else {
        return 0;
    };
    let Ok(layout) = std::alloc::Layout::from_size_align(len.max(1), 1) else {
        return 0;
    };
    // SAFETY: the layout has a non-zero size.
    let ptr = unsafe { std::alloc::alloc(layout) };
    ptr as usize as i32
}

/// `integritas_dealloc`: frees a buffer from `integritas_alloc` or an output.
///
/// # Safety
/// `ptr`/`len` must come from `integritas_alloc` or an entry's output.
#[doc(hidden)]
pub unsafe fn __dealloc(ptr: i32, len: i32) {
    let (Ok(len), true) = (usize::try_from(len), ptr != 0) else {
        return;
    };
    if let Ok(layout) = std::alloc::Layout::from_size_align(len.max(1), 1) {
        // SAFETY: guaranteed by the caller.
        unsafe { std::alloc::dealloc(ptr as usize as *mut u8, layout) }
    }
}

/// Runs an entry point on the input the host wrote at `ptr`/`len`.
///
/// # Safety
/// `ptr`/`len` must describe the buffer the host filled after
/// `integritas_alloc(len)`.
#[doc(hidden)]
pub unsafe fn __run<I, O, F>(ptr: i32, len: i32, f: F) -> i64
where
    I: DeserializeOwned,
    O: Serialize,
    F: FnOnce(I) -> Result<O, String>,
{
    __install_panic_hook();
    let len = usize::try_from(len).unwrap_or(0);
    let input: &[u8] = if len == 0 || ptr == 0 {
        &[]
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { std::slice::from_raw_parts(ptr as usize as *const u8, len) }
    };
    __leak(handle(input, f))
}

/// Sends a panic's message to the host log before the abort traps, so the
/// host's "crashed" error can be matched with a reason in the log.
#[doc(hidden)]
pub fn __install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| log(Level::Error, &info.to_string())));
    });
}

/// Declares the plugin: generates the ABI marker, `integritas_alloc`,
/// `integritas_dealloc` and `integritas_info` exports (wasm32 only).
/// `self_test` is a path, relative to the invoking file, of the JSON fixture.
#[macro_export]
macro_rules! plugin {
    (name: $name:literal, self_test: $fixture:literal $(,)?) => {
        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        pub mod __integritas_exports {
            /// ABI marker: its name carries the ABI version (see ABI.md).
            #[unsafe(no_mangle)]
            pub extern "C" fn integritas_abi_version_1_0_0() {}

            #[unsafe(no_mangle)]
            pub extern "C" fn integritas_alloc(len: i32) -> i32 {
                $crate::__alloc(len)
            }

            /// # Safety
            /// Called by the host with a buffer it got from this module.
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn integritas_dealloc(ptr: i32, len: i32) {
                // SAFETY: forwarded from the host, see ABI.md.
                unsafe { $crate::__dealloc(ptr, len) }
            }

            #[unsafe(no_mangle)]
            pub extern "C" fn integritas_info() -> i64 {
                $crate::__leak($crate::info_json($name, env!("CARGO_PKG_VERSION"), include_str!($fixture)))
            }
        }
    };
}

/// Declares one entry point: `entry!(score => my_fn)` exports
/// `integritas_entry_score`, running `my_fn(Input) -> Result<Output, String>`.
#[macro_export]
macro_rules! entry {
    ($name:ident => $func:path) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            /// # Safety
            /// Called by the host with the buffer it filled (see ABI.md).
            #[unsafe(export_name = concat!("integritas_entry_", stringify!($name)))]
            unsafe extern "C" fn __integritas_entry(ptr: i32, len: i32) -> i64 {
                // SAFETY: the host passes the buffer it allocated and filled.
                unsafe { $crate::__run(ptr, len, $func) }
            }
        };
    };
}

/// Native checks for plugin crates: run the self-test fixture against the
/// plain Rust functions, so a broken fixture fails `cargo test` before a
/// module is ever built.
pub mod testing {
    use serde_json::Value;

    /// Runs every case of `fixture` (the JSON the plugin embeds) through
    /// `dispatch(entry, input_bytes)`, which returns the envelope bytes or
    /// `None` for an unknown entry. Returns the number of cases, or every
    /// failure found.
    pub fn check_fixture(
        fixture: &str,
        dispatch: impl Fn(&str, &[u8]) -> Option<Vec<u8>>,
    ) -> Result<usize, Vec<String>> {
        let cases: Vec<Value> =
            serde_json::from_str(fixture).map_err(|e| vec![format!("fixture is not a JSON array: {e}")])?;
        let mut failures = Vec::new();
        for (i, case) in cases.iter().enumerate() {
            let name = case["name"].as_str().unwrap_or("?");
            let Some(entry) = case["entry"].as_str() else {
                failures.push(format!("case {i} `{name}`: no `entry`"));
                continue;
            };
            let input = serde_json::to_vec(&case["input"]).unwrap_or_default();
            let Some(out) = dispatch(entry, &input) else {
                failures.push(format!("case {i} `{name}`: unknown entry `{entry}`"));
                continue;
            };
            match serde_json::from_slice::<Value>(&out) {
                Ok(got) if got == case["expect"] => {}
                Ok(got) => failures.push(format!("case {i} `{name}`: expected {} got {got}", case["expect"])),
                Err(e) => failures.push(format!("case {i} `{name}`: output is not JSON: {e}")),
            }
        }
        if failures.is_empty() { Ok(cases.len()) } else { Err(failures) }
    }
}
