//! Issue 12, item 5: the pack authors' guide works as written. The chapter
//! "Writing a pack, from an empty folder" of `jurisdictions/README.md` is
//! followed block by block in an empty folder: ```` ```LANG file=PATH ````
//! blocks are written to PATH, ```` ```sh ```` blocks run in bash with the
//! real binary on the PATH (the plugin built with cargo for
//! wasm32-unknown-unknown), each must exit 0 (```` ```sh fails ````: not
//! 0) and print what its `# prints:` comments say. The ```` ```sh setup ````
//! block is the reader's to adapt; the test sets the variables it names.

use std::path::Path;
use std::process::Command;

use integritas_tests::{binary, packs_dir, repo_root};

const CHAPTER: &str = "## Writing a pack, from an empty folder";

/// One fenced block of the chapter.
#[derive(Debug, PartialEq)]
enum Block {
    /// Written to a file of the work folder.
    File { path: String, text: String },
    /// Run in bash; `fails` when it must exit non-zero; `prints` are texts
    /// its output must contain.
    Shell { script: String, fails: bool, prints: Vec<String> },
    /// The reader's environment: the variables it exports.
    Setup { exports: Vec<String> },
}

/// The chapter's blocks, in order. Blocks of other kinds (sample output)
/// are left out.
fn blocks(chapter: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut lines = chapter.lines();
    while let Some(line) = lines.next() {
        let Some(info) = line.strip_prefix("```") else { continue };
        let body: Vec<&str> = lines.by_ref().take_while(|l| !l.starts_with("```")).collect();
        let text = body.iter().map(|l| format!("{l}\n")).collect::<String>();
        let words: Vec<&str> = info.split_whitespace().collect();
        let file = words.iter().find_map(|w| w.strip_prefix("file="));
        match (words.first().copied(), file) {
            (_, Some(path)) => out.push(Block::File { path: path.to_string(), text }),
            (Some("sh"), None) if words.contains(&"setup") => out.push(Block::Setup {
                exports: body
                    .iter()
                    .filter_map(|l| l.strip_prefix("export "))
                    .flat_map(|l| l.split_whitespace().filter_map(|w| w.split_once('=').map(|(k, _)| k.to_string())))
                    .collect(),
            }),
            (Some("sh"), None) => out.push(Block::Shell {
                prints: body
                    .iter()
                    .filter_map(|l| l.split_once("# prints: ").map(|(_, t)| t.trim().to_string()))
                    .collect(),
                fails: words.contains(&"fails"),
                script: text,
            }),
            _ => {}
        }
    }
    out
}

#[test]
fn blocks_are_read_as_marked() {
    let chapter = "text\n```sh setup\nexport A=1 B=2\nexport C=\"$A\"\n```\n```ron file=p/x.ron\nX(\n)\n```\n\
                   ```text\nsample output\n```\n```sh fails\nfalse    # prints: no\necho hi\n```\n";
    assert_eq!(
        blocks(chapter),
        [
            Block::Setup { exports: vec!["A".into(), "B".into(), "C".into()] },
            Block::File { path: "p/x.ron".into(), text: "X(\n)\n".into() },
            Block::Shell { script: "false    # prints: no\necho hi\n".into(), fails: true, prints: vec!["no".into()] },
        ]
    );
}

#[test]
fn the_authors_guide_takes_an_empty_folder_to_an_installed_pack_and_its_second_version() {
    let readme = std::fs::read_to_string(repo_root().join("jurisdictions/README.md")).expect("README");
    let chapter = readme.split(CHAPTER).nth(1).expect("the chapter").split("\n## ").next().unwrap_or_default();
    let blocks = blocks(chapter);
    let work = tempfile::tempdir().expect("tempdir");
    let bin_dir = binary().parent().expect("the binary's folder").to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    // What the setup block asks the reader to export, for this checkout; the
    // plugin's build shares the fixture plugins' target folder, so its
    // dependencies compile once.
    let env: Vec<(&str, String)> = vec![
        ("INTEGRITAS", repo_root().display().to_string()),
        ("PATH", path),
        ("INTEGRITAS_PACKS", packs_dir().display().to_string()),
        ("CARGO_TARGET_DIR", repo_root().join("target/fixture-plugins").display().to_string()),
    ];
    let (mut files, mut commands) = (0, 0);
    for block in &blocks {
        match block {
            Block::Setup { exports } => {
                for name in exports {
                    assert!(
                        env.iter().any(|(k, _)| k == name),
                        "the test does not set `{name}`, which the guide exports"
                    );
                }
            }
            Block::File { path, text } => {
                let target = work.path().join(path);
                assert!(target.starts_with(work.path()) && !path.contains(".."), "{path} leaves the work folder");
                std::fs::write(&target, text)
                    .unwrap_or_else(|e| panic!("writing {path}: {e} (is its folder made first?)"));
                files += 1;
            }
            Block::Shell { script, fails, prints } => {
                run(work.path(), &env, script, *fails, prints);
                commands += 1;
            }
        }
    }
    assert!(files >= 8 && commands >= 8, "the chapter lost its blocks: {files} files, {commands} commands");
    assert!(work.path().join("data/packs/primer/2.0.0/pack.ron").is_file(), "both versions end up installed");
}

#[track_caller]
fn run(dir: &Path, env: &[(&str, String)], script: &str, fails: bool, prints: &[String]) {
    let mut command = Command::new("bash");
    command.arg("-e").arg("-c").arg(script).current_dir(dir);
    command.env_remove("INTEGRITAS_DATA").env_remove("INTEGRITAS_TEMPLATES");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("run bash");
    let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(!output.status.success(), fails, "exit {:?} of\n{script}\nit printed:\n{printed}", output.status.code());
    for text in prints {
        assert!(printed.contains(text.as_str()), "expected `{text}` from\n{script}\nit printed:\n{printed}");
    }
}
