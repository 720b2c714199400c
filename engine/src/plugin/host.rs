//! The WebAssembly plugin host (wasmtime). Being written.
