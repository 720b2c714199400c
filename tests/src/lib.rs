//! Shared helpers for the end-to-end tests: find the real `integritas`
//! binary, give each test its own data folder, run commands and read JSON.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

/// The repository root (where `jurisdictions/` lives).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the repository").to_path_buf()
}

/// The bundled packs folder.
pub fn packs_dir() -> PathBuf {
    repo_root().join("jurisdictions")
}

/// Path of the `integritas` binary of this build. The binary belongs to
/// another package, which `cargo test` does not rebuild for this one, so
/// the first call in each test process brings it up to date (a no-op
/// when it already is).
pub fn binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("test executable path");
            // target/<profile>/deps/<test> → target/<profile>/integritas
            let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut build = Command::new(cargo);
            build.args(["build", "--quiet", "-p", "integritas", "--bin", "integritas"]).current_dir(repo_root());
            if profile_dir.file_name().is_some_and(|n| n == "release") {
                build.arg("--release");
            }
            let status = build.status().expect("run cargo build");
            assert!(status.success(), "building the integritas binary failed");
            profile_dir.join(format!("integritas{}", std::env::consts::EXE_SUFFIX))
        })
        .clone()
}

/// One test's install: a temporary data folder and the bundled packs.
pub struct Install {
    pub dir: tempfile::TempDir,
    pub packs: PathBuf,
}

/// What a command did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout as JSON (for `--json` commands).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }
}

impl Default for Install {
    fn default() -> Self {
        Install::with_packs(packs_dir())
    }
}

impl Install {
    pub fn with_packs(packs: PathBuf) -> Install {
        Install { dir: tempfile::tempdir().expect("tempdir"), packs }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs `integritas --data … --packs … ARGS` on a given day.
    pub fn run(&self, today: &str, args: &[&str]) -> Run {
        self.run_under(&[], today, args)
    }

    /// Runs `WRAPPER… integritas --data … ARGS` (e.g. under `strace` or
    /// `fiu-run`); an empty wrapper runs the binary itself.
    pub fn run_under(&self, wrapper: &[&str], today: &str, args: &[&str]) -> Run {
        let mut command = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(binary());
                c
            }
            None => Command::new(binary()),
        };
        let output: Output = command
            .arg("--data")
            .arg(self.data())
            .arg("--packs")
            .arg(&self.packs)
            // The shared page and partials packs' documents use (templates/).
            .arg("--templates")
            .arg(repo_root().join("templates"))
            .args(["--today", today])
            .args(args)
            .output()
            .expect("run integritas");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs a command that must succeed and print JSON; returns the JSON.
    #[track_caller]
    pub fn ok(&self, today: &str, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let run = self.run(today, &all);
        assert_eq!(run.code, 0, "`{}` failed: {}{}", args.join(" "), run.stdout, run.stderr);
        run.json()
    }

    /// Fires an event that must be refused; returns the refusal JSON.
    #[track_caller]
    pub fn refused(&self, today: &str, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let run = self.run(today, &all);
        assert_ne!(run.code, 0, "`{}` should have been refused: {}", args.join(" "), run.stdout);
        run.json()["refused"].clone()
    }
}
