//! Shared helpers for the end-to-end tests: find the real `integritas`
//! binary, give each test its own data folder, run commands and read JSON.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

pub mod pages;
pub mod server;

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
        self.command(wrapper, None, Some(&repo_root().join("templates")), today, args)
    }

    /// Runs `integritas --data … --packs … ARGS` on a given day, in the
    /// working folder `cwd` (this process's when `None`), with
    /// `--templates` only when `templates` is given.
    pub fn run_in(&self, cwd: Option<&Path>, templates: Option<&Path>, today: &str, args: &[&str]) -> Run {
        self.command(&[], cwd, templates, today, args)
    }

    fn command(
        &self,
        wrapper: &[&str],
        cwd: Option<&Path>,
        templates: Option<&Path>,
        today: &str,
        args: &[&str],
    ) -> Run {
        let mut command = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(binary());
                c
            }
            None => Command::new(binary()),
        };
        command.arg("--data").arg(self.data()).arg("--packs").arg(&self.packs);
        if let Some(templates) = templates {
            command.arg("--templates").arg(templates);
        }
        if let Some(cwd) = cwd {
            command.current_dir(cwd);
        }
        let output: Output = command.args(["--today", today]).args(args).output().expect("run integritas");
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
        let error = run.json()["error"].clone();
        assert_eq!(error["code"], "refused", "`{}`: {error}", args.join(" "));
        error
    }
}

/// The invented jurisdiction `ut` (`tests/fixtures/fourth`): a pack built
/// from files alone, with a plugin compiled here from a test source.
pub mod ut {
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::sync::OnceLock;

    use integritas_core::store::hash_hex;

    use super::repo_root;

    /// The files of the fixture pack, as written in it.
    pub const FILES: [&str; 5] = [
        "forms/register.ron",
        "documents/summary.hbs",
        "scenarios/register.ron",
        "locales/en.ron",
        "workflows/register.ron",
    ];

    /// Builds the test plugin from `tests/fixtures/fourth/plugin-src` (once
    /// per test process) and returns its bytes.
    pub fn plugin_wasm() -> Vec<u8> {
        static BUILT: OnceLock<PathBuf> = OnceLock::new();
        let path = BUILT.get_or_init(|| {
            let src = repo_root().join("tests/fixtures/fourth/plugin-src");
            let target = repo_root().join("target/fixture-plugins");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args([
                    "build",
                    "--quiet",
                    "--locked",
                    "--release",
                    "--target",
                    "wasm32-unknown-unknown",
                    "--manifest-path",
                ])
                .arg(src.join("Cargo.toml"))
                .arg("--target-dir")
                .arg(&target)
                .status()
                .expect("run cargo");
            assert!(
                status.success(),
                "building the test plugin failed (is the wasm32-unknown-unknown target installed?)"
            );
            target.join("wasm32-unknown-unknown/release/ut_grade.wasm")
        });
        std::fs::read(path).expect("built plugin")
    }

    /// Writes the pack at `version` into `dir/ut-<version>` from the
    /// fixture files, the built plugin and its sha256. `edit` may change any
    /// text file: it gets the file's path in the pack (`pack.ron`,
    /// `workflows/register.ron`...) and its text, and returns the text.
    pub fn write_pack(dir: &Path, version: &str, edit: impl Fn(&str, String) -> String) -> PathBuf {
        let fixture = repo_root().join("tests/fixtures/fourth/pack");
        let pack = dir.join(format!("ut-{version}"));
        for sub in ["workflows", "forms", "documents", "scenarios", "locales", "plugins"] {
            std::fs::create_dir_all(pack.join(sub)).expect("mkdir");
        }
        for file in FILES {
            let text = std::fs::read_to_string(fixture.join(file)).expect("fixture file");
            std::fs::write(pack.join(file), edit(file, text)).expect("write fixture file");
        }
        let wasm = plugin_wasm();
        std::fs::write(pack.join("plugins/grade.wasm"), &wasm).expect("write plugin");
        let manifest = std::fs::read_to_string(fixture.join("pack.ron")).expect("manifest");
        let manifest = manifest.replace("VERSION", version).replace("SHA256", &hash_hex(&wasm));
        std::fs::write(pack.join("pack.ron"), edit("pack.ron", manifest)).expect("write manifest");
        pack
    }
}
