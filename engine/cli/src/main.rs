//! The `integritas` binary: argument parsing and printing over
//! `integritas-core`; no engine logic lives here.

mod backup_cmd;
mod cli;
mod plugin_cmd;

fn main() -> std::process::ExitCode {
    cli::main()
}
