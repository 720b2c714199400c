//! The `integritas` binary: everything lives in the library's `cli` module.

fn main() -> std::process::ExitCode {
    integritas::cli::main()
}
