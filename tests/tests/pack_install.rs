//! Issue 9 item 7: installed packs are self-contained. An archive is
//! unpacked within limits and refused at the first entry that breaks a
//! rule; only what the manifest names is kept; the pack's own scenarios
//! run before it is installed; a refused version leaves nothing in the
//! packs store nor in the plugin cache; problems name the pack's own files;
//! and an installed version renders the same after `templates/` changes
//! and from any working folder.

use std::fs::File;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use flate2::Compression;
use flate2::write::GzEncoder;
use integritas_core::pack::{
    Catalog, InstallError, Loader, MAX_ENTRIES, MAX_FILE_BYTES, MAX_PATH_DEPTH, MAX_UNPACKED_BYTES, UnpackError,
    install,
};
use integritas_core::plugin::host::{HostConfig, PluginHost};
use integritas_tests::{Install, repo_root, ut};
use tar::{EntryType, Header};

type Builder = tar::Builder<GzEncoder<File>>;

/// Files of an installed `ut` version: what its manifest names, the pack's
/// own partials, and the shared templates it was checked against.
const INSTALLED: &[&str] = &[
    "_shared/page.hbs",
    "_shared/partials/decision_header.hbs",
    "_shared/partials/delivery.hbs",
    "_shared/partials/rows.hbs",
    "_shared/partials/signature.hbs",
    "documents/summary.hbs",
    "forms/register.ron",
    "locales/en.ron",
    "pack.ron",
    "plugins/grade.wasm",
    "scenarios/register.ron",
    "workflows/register.ron",
];

/// A work folder with the `ut` pack written in it, a host and a packs store.
struct Setup {
    work: tempfile::TempDir,
    pack: PathBuf,
    host: PluginHost,
}

impl Setup {
    fn new() -> Setup {
        let work = tempfile::tempdir().expect("tempdir");
        let pack = ut::write_pack(work.path(), "1.0.0", |_, text| text);
        Setup { work, pack, host: PluginHost::new(HostConfig::default()).expect("host") }
    }

    fn store(&self) -> PathBuf {
        self.work.path().join("data/packs")
    }

    fn install(&self, source: &Path) -> Result<integritas_core::pack::Pack, InstallError> {
        let templates = repo_root().join("templates");
        let loader = Loader { host: Some(&self.host), templates: Some(&templates) };
        install(source, &self.store(), &loader, &Catalog::default(), &integritas_core::scenario::run_all)
    }

    /// `ut-1.0.0.tar.gz`: the pack under `ut-1.0.0/`, then what `extra` appends.
    fn archive(&self, extra: impl FnOnce(&mut Builder)) -> PathBuf {
        let path = self.work.path().join("ut-1.0.0.tar.gz");
        let mut builder = tar::Builder::new(GzEncoder::new(File::create(&path).expect("create"), Compression::fast()));
        builder.append_dir_all("ut-1.0.0", &self.pack).expect("append the pack");
        extra(&mut builder);
        builder.into_inner().expect("finish the tar").finish().expect("finish the gzip");
        path
    }
}

/// Every file under `dir`, as sorted `/`-separated paths (links included).
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).expect("inside");
                out.push(rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// A header written as raw bytes, so its name is exactly `path` (the tar
/// crate's own setters refuse `..` and absolute paths).
fn header(path: &str, kind: EntryType, size: u64) -> Header {
    let mut header = Header::new_gnu();
    header.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
    header.set_entry_type(kind);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_cksum();
    header
}

fn append(builder: &mut Builder, path: &str, kind: EntryType, data: &[u8]) {
    builder.append(&header(path, kind, data.len() as u64), data).expect("append");
}

fn link(builder: &mut Builder, path: &str, kind: EntryType, target: &str) {
    let mut header = header(path, kind, 0);
    header.set_link_name(target).expect("link name");
    header.set_cksum();
    builder.append(&header, std::io::empty()).expect("append");
}

/// 3 GiB of zeros: the size the issue's bomb unpacked to.
const BOMB_BYTES: u64 = 3 << 30;

/// Appends entries to an archive.
type Entries = fn(&mut Builder);
/// Whether a refusal is the expected one.
type Refusal = fn(&UnpackError) -> bool;

/// Hostile archive entries, each appended after a valid pack, and the
/// refusal each must bring.
const HOSTILE: &[(&str, Entries, Refusal)] = &[
    (
        "a path with `..`",
        |b| append(b, "ut-1.0.0/../../escaped.ron", EntryType::Regular, b"[]"),
        |e| matches!(e, UnpackError::Outside { path } if path == "ut-1.0.0/../../escaped.ron"),
    ),
    (
        "an absolute path",
        |b| append(b, "/tmp/escaped.ron", EntryType::Regular, b"[]"),
        |e| matches!(e, UnpackError::Outside { path } if path == "/tmp/escaped.ron"),
    ),
    (
        "a symbolic link",
        |b| link(b, "ut-1.0.0/forms/linked.ron", EntryType::Symlink, "/etc/passwd"),
        |e| matches!(e, UnpackError::Link { path } if path == "ut-1.0.0/forms/linked.ron"),
    ),
    (
        "a hard link",
        |b| link(b, "ut-1.0.0/forms/linked.ron", EntryType::Link, "ut-1.0.0/pack.ron"),
        |e| matches!(e, UnpackError::Link { path } if path == "ut-1.0.0/forms/linked.ron"),
    ),
    (
        "a device",
        |b| append(b, "ut-1.0.0/null", EntryType::Char, b""),
        |e| matches!(e, UnpackError::Special { kind, .. } if kind == "device"),
    ),
    (
        "a named pipe",
        |b| append(b, "ut-1.0.0/pipe", EntryType::Fifo, b""),
        |e| matches!(e, UnpackError::Special { kind, .. } if kind == "named pipe"),
    ),
    (
        "a path too deep",
        |b| append(b, "ut-1.0.0/a/b/c/d/e/f/g/h.ron", EntryType::Regular, b"[]"),
        |e| matches!(e, UnpackError::TooDeep { limit, .. } if *limit == MAX_PATH_DEPTH),
    ),
    (
        "a file twice",
        |b| append(b, "ut-1.0.0/pack.ron", EntryType::Regular, b"Pack()"),
        |e| matches!(e, UnpackError::Duplicate { path } if path == "ut-1.0.0/pack.ron"),
    ),
    (
        // A small archive claiming a huge undeclared file: refused on its
        // header, before a byte of it is read. (The archive carries only
        // its first MiB: a reader that tried to unpack the rest would find
        // it cut short, a different refusal.)
        "a gzip bomb",
        |b| {
            let zeros = std::io::repeat(0).take(1 << 20);
            b.append(&header("ut-1.0.0/junk.bin", EntryType::Regular, BOMB_BYTES), zeros).expect("append");
        },
        |e| matches!(e, UnpackError::FileTooLarge { path, size, .. } if path == "ut-1.0.0/junk.bin" && *size == BOMB_BYTES),
    ),
    (
        // Undeclared files each within the per-file cap, together over the
        // total: reading stops at the entry that passes it.
        "a bomb of many files",
        |b| {
            for i in 0..=(MAX_UNPACKED_BYTES / MAX_FILE_BYTES) {
                let zeros = std::io::repeat(0).take(MAX_FILE_BYTES);
                b.append(&header(&format!("ut-1.0.0/junk{i}.bin"), EntryType::Regular, MAX_FILE_BYTES), zeros)
                    .expect("append");
            }
        },
        |e| matches!(e, UnpackError::TooLarge { limit } if *limit == MAX_UNPACKED_BYTES),
    ),
    (
        "too many entries",
        |b| {
            for i in 0..MAX_ENTRIES {
                append(b, &format!("ut-1.0.0/empty{i}"), EntryType::Regular, b"");
            }
        },
        |e| matches!(e, UnpackError::TooManyEntries { limit } if *limit == MAX_ENTRIES),
    ),
];

#[test]
fn hostile_archive_entries_are_refused_and_nothing_is_kept() {
    for (name, extra, expected) in HOSTILE {
        let setup = Setup::new();
        let archive = setup.archive(extra);
        match setup.install(&archive) {
            Err(InstallError::Unpack(e)) => assert!(expected(&e), "{name}: unexpected refusal {e:?}"),
            Err(e) => panic!("{name}: refused for another reason: {e}"),
            Ok(_) => panic!("{name}: installed"),
        }
        assert_eq!(files_under(&setup.store()), Vec::<String>::new(), "{name}: nothing may be kept");
        assert!(!setup.work.path().join("escaped.ron").exists() && !Path::new("/tmp/escaped.ron").exists());
    }
}

#[test]
fn the_gzip_bomb_is_a_small_archive() {
    let setup = Setup::new();
    let archive = setup.archive(HOSTILE.iter().find(|(n, ..)| *n == "a gzip bomb").expect("listed").1);
    let size = std::fs::metadata(&archive).expect("archive").len();
    assert!(size < 2 << 20, "{size} bytes");
}

#[test]
fn only_what_the_manifest_names_is_kept() {
    let setup = Setup::new();
    let archive = setup.archive(|b| {
        append(b, "ut-1.0.0/notes.txt", EntryType::Regular, b"not declared");
        append(b, "ut-1.0.0/workflows/old.ron", EntryType::Regular, b"not declared either");
        append(b, "ut-1.0.0/documents/partials/box.hbs", EntryType::Regular, b"<div>{{> @partial-block}}</div>");
        append(b, "ut-1.0.0/documents/partials/readme.md", EntryType::Regular, b"not a partial");
    });
    let pack = setup.install(&archive).expect("installs");
    let folder = setup.store().join("ut/1.0.0");
    assert_eq!(pack.dir, folder);
    let mut expected: Vec<String> = INSTALLED.iter().map(|f| f.to_string()).collect();
    expected.push("documents/partials/box.hbs".into());
    expected.sort();
    assert_eq!(files_under(&folder), expected);
    assert_eq!(files_under(&setup.store()).len(), expected.len(), "no staging folder is left");
}

#[test]
fn a_pack_folder_is_read_without_following_links() {
    let setup = Setup::new();
    std::fs::write(setup.pack.join("notes.txt"), "not declared").expect("write");
    let pack = setup.install(&setup.pack).expect("installs");
    assert_eq!(files_under(&pack.dir), INSTALLED.iter().map(|f| f.to_string()).collect::<Vec<_>>());

    #[cfg(unix)]
    {
        let setup = Setup::new();
        let outside = setup.work.path().join("outside.ron");
        std::fs::rename(setup.pack.join("locales/en.ron"), &outside).expect("move");
        std::os::unix::fs::symlink(&outside, setup.pack.join("locales/en.ron")).expect("symlink");
        let refused = setup.install(&setup.pack);
        assert!(
            matches!(&refused, Err(InstallError::Unpack(UnpackError::Link { path })) if path == "locales/en.ron"),
            "{refused:?}"
        );
        assert_eq!(files_under(&setup.store()), Vec::<String>::new());
    }
}

#[test]
fn problems_name_the_packs_own_files_never_the_staging_folder() {
    let setup = Setup::new();
    let broken = ut::write_pack(setup.work.path(), "1.2.0", |file, text| {
        if file == "workflows/register.ron" { text.replace(r#"to: "adopted""#, r#"to: "adoptd""#) } else { text }
    });
    let archive = setup.work.path().join("ut-1.2.0.tar.gz");
    let mut builder = tar::Builder::new(GzEncoder::new(File::create(&archive).expect("create"), Compression::fast()));
    builder.append_dir_all("ut-1.2.0", &broken).expect("append");
    builder.into_inner().expect("tar").finish().expect("gzip");
    for source in [&broken, &archive] {
        let Err(InstallError::Invalid(diagnostics)) = setup.install(source) else {
            panic!("{}: a pack with an unknown state must be refused", source.display())
        };
        let d = diagnostics.iter().find(|d| d.code == "E102").expect("the unknown state is reported");
        assert_eq!((d.file.as_str(), d.line, d.column), ("ut-1.2.0/workflows/register.ron", 22, 55), "{d}");
        let text = format!("{diagnostics:?}");
        assert!(!text.contains(".staging") && !text.contains(&setup.work.path().display().to_string()), "{text}");
    }
    assert_eq!(files_under(&setup.store()), Vec::<String>::new());
}

#[test]
fn a_failing_scenario_refuses_the_version_and_leaves_no_compiled_code() {
    let work = tempfile::tempdir().expect("tempdir");
    let install = Install::with_packs(work.path().join("no-packs"));
    std::fs::create_dir_all(&install.packs).expect("mkdir");
    let failing = ut::write_pack(work.path(), "1.0.0", |file, text| {
        if file == "scenarios/register.ron" {
            text.replacen(r#"Moved("review")"#, r#"Moved("adopted")"#, 1)
        } else {
            text
        }
    });
    let run = install.run("2030-01-01", &["pack", "install", failing.to_str().expect("utf8")]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("1 of the pack's scenarios fail; nothing was installed"), "{}", run.stderr);
    assert!(
        run.stderr.contains("step 3: `submit` as officer on 2030-01-10 moved the plan to `review`; expected `adopted`"),
        "{}",
        run.stderr
    );
    let store = install.data().join("packs");
    let cache = install.data().join("plugin-cache");
    assert_eq!(files_under(&store), Vec::<String>::new(), "nothing in the packs store");
    assert_eq!(files_under(&cache), Vec::<String>::new(), "no compiled code of a refused pack");

    // The same pack with passing scenarios: the cache gains its one plugin.
    let passing = ut::write_pack(&work.path().join("good"), "1.0.0", |_, text| text);
    let installed = install.ok("2030-01-01", &["pack", "install", passing.to_str().expect("utf8")]);
    assert_eq!(installed["installed"]["version"], "1.0.0");
    assert_eq!(files_under(&cache).len(), 1, "{:?}", files_under(&cache));
    assert_eq!(files_under(&store.join("ut/1.0.0")).len(), INSTALLED.len());
}

#[test]
fn an_installed_version_renders_the_same_after_templates_change_and_from_anywhere() {
    let work = tempfile::tempdir().expect("tempdir");
    let install = Install::with_packs(work.path().join("no-packs"));
    std::fs::create_dir_all(&install.packs).expect("mkdir");
    // The install's own copy of the shared templates, which then changes.
    let templates = work.path().join("templates");
    for file in [
        "page.hbs",
        "partials/decision_header.hbs",
        "partials/delivery.hbs",
        "partials/rows.hbs",
        "partials/signature.hbs",
    ] {
        std::fs::create_dir_all(templates.join("partials")).expect("mkdir");
        std::fs::copy(repo_root().join("templates").join(file), templates.join(file)).expect("copy");
    }
    let here = |args: &[&str]| {
        let run = install.run_in(None, Some(&templates), "2030-02-01", args);
        assert_eq!(run.code, 0, "`{}` failed: {}{}", args.join(" "), run.stdout, run.stderr);
        run.stdout
    };
    let pack = ut::write_pack(work.path(), "1.0.0", |_, text| text);
    here(&["pack", "install", pack.to_str().expect("utf8")]);
    here(&["institution", "add", "--id", "ut-m", "--name", "Ministry of Utopia", "--jurisdiction", "ut"]);
    here(&["plan", "new", "--institution", "ut-m", "--workflow", "ut/register"]);
    let risks = r#"{"register": {"risks": [{"id": "U1", "risk": "Gifts", "likelihood": 4, "severity": 3}]}}"#;
    here(&["plan", "fire", "plan-1", "submit", "--as", "officer", "--payload", risks]);
    here(&[
        "plan",
        "fire",
        "plan-1",
        "adopt",
        "--as",
        "chief",
        "--payload",
        r#"{"register": {"approved_by": "M. More"}}"#,
    ]);
    let issued = here(&["plan", "document", "plan-1", "summary"]);
    assert!(issued.contains("<td>U1</td><td>red (7)</td>") && issued.contains("M. More"), "{issued}");

    std::fs::write(templates.join("page.hbs"), "<html>CHANGED {{{body}}}</html>").expect("write");
    std::fs::write(templates.join("partials/decision_header.hbs"), "CHANGED HEADER").expect("write");
    assert_eq!(
        here(&["plan", "document", "plan-1", "summary"]),
        issued,
        "a later change to templates/ changes nothing"
    );

    // Another working folder, no --templates and no templates/ to find.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let run = install.run_in(Some(elsewhere.path()), None, "2030-02-01", &["plan", "document", "plan-1", "summary"]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{}", run.stdout);
    assert_eq!(run.stdout, issued, "the installed version needs nothing outside its folder");
}

#[test]
fn a_refused_version_leaves_nothing_in_the_plugin_host() {
    let setup = Setup::new();
    let host = Arc::new(PluginHost::new(HostConfig::default()).expect("host"));
    let templates = repo_root().join("templates");
    let loader = Loader { host: Some(&host), templates: Some(&templates) };
    let installed =
        install(&setup.pack, &setup.store(), &loader, &Catalog::default(), &integritas_core::scenario::run_all)
            .expect("installs");
    let mut catalog = Catalog::default();
    catalog.insert(installed);
    assert!(host.info("ut@1.0.0/grade").is_some(), "an installed version's plugin is loaded");
    let failing = ut::write_pack(setup.work.path(), "1.1.0", |file, text| {
        if file == "scenarios/register.ron" {
            text.replacen(r#"Moved("review")"#, r#"Moved("adopted")"#, 1)
        } else {
            text
        }
    });
    let refused = install(&failing, &setup.store(), &loader, &catalog, &integritas_core::scenario::run_all);
    assert!(matches!(&refused, Err(InstallError::Scenarios(failed)) if failed.len() == 1), "{refused:?}");
    assert_eq!(
        host.plugin_ids(),
        vec!["ut@1.0.0/grade".to_string()],
        "the refused version's plugin was tried elsewhere"
    );
    assert!(!setup.store().join("ut/1.1.0").exists());
}
