//! The `integritas` binary: argument parsing and printing over
//! `integritas-core`; no engine logic lives here.

mod backup_cmd;
/// mimalloc: deciding an event allocates many small JSON values, and the
/// system allocator made that a third slower (measured on the cycle bench).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cli;
mod plugin_cmd;

fn main() -> std::process::ExitCode {
    cli::main()
}
