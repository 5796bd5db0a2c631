//! `cargo xtask tidy`: repository rules that neither rustc nor clippy can check.
//!
//! The checks: (a) crate dependency edges follow the layering (STYLE.md §1) and the codec
//! depends only on its allowed crates; (b) every `.rs` file starts with a `//!` line; (c) every
//! product crate root forbids `unsafe` and only `interop/src/ffi.rs` may allow it; (d) no leftover
//! `dbg!`/`todo!`; (e) every manifest has a `[lints]` table (`workspace = true` for workspace
//! members); (f) the sans-IO codec names no I/O, threads or clocks (its unit tests, after
//! `#[cfg(test)]` or in `tests.rs` and `tests/` files, may read the clock for a base `Instant`).
//!
//! Every check is a pure function from file contents to [`Violation`]s, so each is unit-tested;
//! [`run`] only gathers the inputs from `cargo metadata` and the file tree.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::cmd::{self, Result};

/// One broken rule at a place in the repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Violation {
    /// Path relative to the project root, with `/` separators.
    pub(crate) file: String,
    /// 1-based line number (1 when the rule is about the file as a whole).
    pub(crate) line: usize,
    /// What is wrong.
    pub(crate) message: String,
}

impl Violation {
    fn new(file: &str, line: usize, message: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// A workspace package as far as tidy cares: its manifest and declared dependencies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Package {
    /// Package name.
    pub(crate) name: String,
    /// Manifest path relative to the project root.
    pub(crate) manifest: String,
    /// Manifest text, for line numbers and the `[lints]` check.
    pub(crate) manifest_text: String,
    /// Declared dependencies.
    pub(crate) dependencies: Vec<Dependency>,
}

/// One declared dependency of a package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Dependency {
    /// The depended-on package's name (not a rename).
    pub(crate) name: String,
    /// `None` for normal, else `"dev"` or `"build"` as `cargo metadata` says.
    pub(crate) kind: Option<String>,
}

/// Runs every check and fails if any rule is broken, printing each violation.
///
/// # Errors
///
/// Fails if `cargo metadata` or reading a file fails, or if there is any violation.
pub(crate) fn run(root: &Path) -> Result {
    let metadata =
        cmd::read(cmd::cargo(root).args(["metadata", "--format-version", "1", "--no-deps"]))?;
    let mut packages = parse_metadata(&metadata, root)?;
    for package in &mut packages {
        package.manifest_text = fs::read_to_string(root.join(&package.manifest))?;
    }

    let mut violations = check_edges(&packages);
    for package in &packages {
        violations.extend(check_lints_table(
            &package.manifest,
            &package.manifest_text,
            true,
        ));
    }
    let fuzz_manifest = "fuzz/Cargo.toml";
    match fs::read_to_string(root.join(fuzz_manifest)) {
        Ok(text) => violations.extend(check_lints_table(fuzz_manifest, &text, false)),
        Err(err) => violations.push(Violation::new(
            fuzz_manifest,
            1,
            format!("cannot read: {err}"),
        )),
    }

    let mut files = Vec::new();
    rust_files(root, &mut files)?;
    files.sort();
    for path in &files {
        let text = fs::read_to_string(path)?;
        let rel = relative(root, path);
        violations.extend(check_file(&rel, &text));
    }
    for crate_root in PRODUCT_CRATE_ROOTS {
        match fs::read_to_string(root.join(crate_root)) {
            Ok(text) => violations.extend(check_forbid_unsafe(crate_root, &text)),
            Err(err) => {
                violations.push(Violation::new(crate_root, 1, format!("cannot read: {err}")));
            }
        }
    }

    if violations.is_empty() {
        println!(
            "tidy: {} rust files and {} manifests ok",
            files.len(),
            packages.len() + 1
        );
        Ok(())
    } else {
        for violation in &violations {
            eprintln!("{violation}");
        }
        Err(format!("tidy found {} violation(s)", violations.len()).into())
    }
}

/// Parses `cargo metadata --format-version 1 --no-deps` into packages (manifest text left empty).
///
/// # Errors
///
/// Fails if the JSON does not have the documented shape.
pub(crate) fn parse_metadata(json: &str, root: &Path) -> Result<Vec<Package>> {
    let value: Value = serde_json::from_str(json)?;
    let packages = value["packages"]
        .as_array()
        .ok_or("cargo metadata: no `packages` array")?;
    let mut result = Vec::new();
    for package in packages {
        let name = package["name"]
            .as_str()
            .ok_or("cargo metadata: package without name")?;
        let manifest = package["manifest_path"]
            .as_str()
            .ok_or("cargo metadata: package without manifest_path")?;
        let mut dependencies = Vec::new();
        for dependency in package["dependencies"].as_array().into_iter().flatten() {
            let dep_name = dependency["name"]
                .as_str()
                .ok_or("cargo metadata: dependency without name")?;
            dependencies.push(Dependency {
                name: dep_name.to_owned(),
                kind: dependency["kind"].as_str().map(str::to_owned),
            });
        }
        result.push(Package {
            name: name.to_owned(),
            manifest: relative(root, Path::new(manifest)),
            manifest_text: String::new(),
            dependencies,
        });
    }
    Ok(result)
}

/// Checks (a): workspace-internal edges follow the layering and the codec's dependency list.
pub(crate) fn check_edges(packages: &[Package]) -> Vec<Violation> {
    let workspace: Vec<&str> = packages
        .iter()
        .map(|package| package.name.as_str())
        .collect();
    let mut violations = Vec::new();
    for package in packages {
        let Some(&(_, allowed)) = ALLOWED_EDGES.iter().find(|(name, _)| *name == package.name)
        else {
            violations.push(Violation::new(
                &package.manifest,
                1,
                format!(
                    "workspace crate `{}` has no layering rule in xtask/src/tidy.rs (update ARCHITECTURE.md first)",
                    package.name
                ),
            ));
            continue;
        };
        for dependency in &package.dependencies {
            let line = manifest_line(&package.manifest_text, &dependency.name);
            let internal = workspace.contains(&dependency.name.as_str());
            let forbidden =
                allowed.is_some_and(|allowed| !allowed.contains(&dependency.name.as_str()));
            if internal && forbidden {
                violations.push(Violation::new(
                    &package.manifest,
                    line,
                    format!(
                        "layering: `{}` must not depend on `{}` (allowed: {})",
                        package.name,
                        dependency.name,
                        list_or_none(allowed.unwrap_or_default())
                    ),
                ));
            }
            if package.name == "zmtp-codec"
                && dependency.kind.as_deref() != Some("dev")
                && !CODEC_DEPENDENCIES.contains(&dependency.name.as_str())
            {
                violations.push(Violation::new(
                    &package.manifest,
                    line,
                    format!(
                        "zmtp-codec may depend only on {}, not `{}`",
                        list_or_none(CODEC_DEPENDENCIES),
                        dependency.name
                    ),
                ));
            }
        }
    }
    violations
}

/// Checks (e): the manifest has a `[lints]` table, with `workspace = true` if `workspace`.
pub(crate) fn check_lints_table(file: &str, manifest: &str, workspace: bool) -> Vec<Violation> {
    let mut table = "";
    let mut has_lints = false;
    let mut inherits = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            table = line;
            has_lints |= line == "[lints]" || line.starts_with("[lints.");
            continue;
        }
        let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        if table == "[lints]" && compact.starts_with("workspace=true") {
            inherits = true;
        }
    }
    if !has_lints {
        vec![Violation::new(file, 1, "manifest has no [lints] table")]
    } else if workspace && !inherits {
        vec![Violation::new(
            file,
            1,
            "[lints] must say `workspace = true` (inherit the workspace lints)",
        )]
    } else {
        Vec::new()
    }
}

/// Checks (b), (d), the `allow(unsafe_code)` half of (c), and (f) on one `.rs` file.
pub(crate) fn check_file(file: &str, text: &str) -> Vec<Violation> {
    let mut violations = Vec::new();
    if !text
        .lines()
        .next()
        .is_some_and(|first| first.starts_with("//!"))
    {
        violations.push(Violation::new(
            file,
            1,
            "the first line must be a `//!` comment saying what the file is for",
        ));
    }
    if file == TIDY_FILE {
        // This file spells the forbidden patterns out, in the checks and their tests.
        return violations;
    }
    // Unit tests beside the codec may take a base `Instant` from the clock (there is no other
    // way to make one); the rule is about what the codec itself does.
    let mut codec_code = file.starts_with(CODEC_SRC) && !is_test_file(file);
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim() == "#[cfg(test)]" {
            codec_code = false;
        }
        if file != FFI_FILE
            && (line.contains("allow(unsafe_code") || line.contains("expect(unsafe_code"))
        {
            violations.push(Violation::new(
                file,
                number,
                format!("`unsafe_code` may be allowed only in {FFI_FILE}"),
            ));
        }
        for leftover in ["dbg!(", "todo!("] {
            if line.contains(leftover) {
                violations.push(Violation::new(
                    file,
                    number,
                    format!("leftover `{leftover}`"),
                ));
            }
        }
        if codec_code {
            for banned in banned_in_codec_line(line) {
                violations.push(Violation::new(
                    file,
                    number,
                    format!("the sans-IO codec must not use `{banned}`"),
                ));
            }
        }
    }
    violations
}

/// Checks the `#![forbid(unsafe_code)]` half of (c) on a product crate root.
pub(crate) fn check_forbid_unsafe(file: &str, text: &str) -> Vec<Violation> {
    let forbids = text.lines().any(|line| {
        let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        compact == "#![forbid(unsafe_code)]"
    });
    if forbids {
        Vec::new()
    } else {
        vec![Violation::new(
            file,
            1,
            "product crate root must contain `#![forbid(unsafe_code)]`",
        )]
    }
}

/// Returns the banned codec names used in the code part of `line` (comments are skipped).
fn banned_in_codec_line(line: &str) -> Vec<&'static str> {
    let code = line.find("//").map_or(line, |start| &line[..start]);
    let mut found: Vec<&'static str> = CODEC_BANNED
        .iter()
        .copied()
        .filter(|banned| contains_token(code, banned))
        .collect();
    // `use std::io::{Read, Write}` names the traits without the `io::` prefix.
    if let Some(start) = code.find("io::{") {
        let group = &code[start..];
        for (token, banned) in [("Read", "io::Read"), ("Write", "io::Write")] {
            if contains_token(group, token) && !found.contains(&banned) {
                found.push(banned);
            }
        }
    }
    found
}

/// Says whether `file` holds only test code: `tests.rs` or anything under a `tests` directory.
fn is_test_file(file: &str) -> bool {
    let mut parts = file.split('/');
    let name = parts.next_back().unwrap_or_default();
    name == "tests.rs" || parts.any(|dir| dir == "tests")
}

/// Says whether `needle` occurs in `haystack` not glued to identifier characters.
fn contains_token(haystack: &str, needle: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    haystack.match_indices(needle).any(|(start, _)| {
        let before = haystack[..start].chars().next_back();
        let after = haystack[start + needle.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// Finds the manifest line that declares `dependency` (1 if not found).
fn manifest_line(manifest: &str, dependency: &str) -> usize {
    manifest
        .lines()
        .position(|line| {
            line.trim_start()
                .strip_prefix(dependency)
                .is_some_and(|rest| rest.starts_with([' ', '.', '=']))
        })
        .map_or(1, |index| index + 1)
}

/// Collects every `.rs` file under `dir`, skipping hidden directories and `target` dirs.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if !name.starts_with('.') && name != "target" {
                rust_files(&path, out)?;
            }
        } else if kind.is_file() && name.ends_with(".rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// Renders `path` relative to `root` with `/` separators.
fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|part| part.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Renders a list of crate names for a message.
fn list_or_none(names: &[&str]) -> String {
    if names.is_empty() {
        "no workspace crate".to_owned()
    } else {
        names.join(", ")
    }
}

/// Workspace crates and the workspace crates each may depend on (`None`: anything).
const ALLOWED_EDGES: &[(&str, Option<&[&str]>)] = &[
    (
        "zmq-peer",
        Some(&["zmq-sockets", "zmq-transport", "zmtp-codec"]),
    ),
    ("zmq-sockets", Some(&["zmq-transport", "zmtp-codec"])),
    ("zmq-transport", Some(&["zmtp-codec"])),
    ("zmtp-codec", Some(&[])),
    ("interop", None),
    ("xtask", Some(&[])),
];

/// The only crates zmtp-codec may depend on outside `[dev-dependencies]`.
const CODEC_DEPENDENCIES: &[&str] = &["bytes", "nom", "thiserror", "arbitrary"];

/// Names the sans-IO codec must not use (STYLE.md §1).
const CODEC_BANNED: &[&str] = &[
    "std::net",
    "io::Read",
    "io::Write",
    "mio",
    "rustls",
    "tungstenite",
    "std::thread",
    "Instant::now",
    "SystemTime::now",
];

/// Product crate roots, which must forbid `unsafe`.
const PRODUCT_CRATE_ROOTS: &[&str] = &[
    "zmtp-codec/src/lib.rs",
    "zmq-transport/src/lib.rs",
    "zmq-sockets/src/lib.rs",
    "zmq-peer/src/lib.rs",
];

/// The one file that may allow `unsafe_code`.
const FFI_FILE: &str = "interop/src/ffi.rs";

/// This file, which necessarily spells out the patterns it forbids.
const TIDY_FILE: &str = "xtask/src/tidy.rs";

/// The codec's source directory, where [`CODEC_BANNED`] applies.
const CODEC_SRC: &str = "zmtp-codec/src/";

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str, deps: &[(&str, Option<&str>)]) -> Package {
        let mut text = String::from("[package]\n[dependencies]\n");
        for (dep, _) in deps {
            text.push_str(&format!("{dep}.workspace = true\n"));
        }
        Package {
            name: name.to_owned(),
            manifest: format!("{name}/Cargo.toml"),
            manifest_text: text,
            dependencies: deps
                .iter()
                .map(|(dep, kind)| Dependency {
                    name: (*dep).to_owned(),
                    kind: kind.map(str::to_owned),
                })
                .collect(),
        }
    }

    fn layered_workspace() -> Vec<Package> {
        vec![
            package(
                "zmtp-codec",
                &[("bytes", None), ("nom", None), ("proptest", Some("dev"))],
            ),
            package("zmq-transport", &[("zmtp-codec", None), ("mio", None)]),
            package(
                "zmq-sockets",
                &[("zmq-transport", None), ("zmtp-codec", None)],
            ),
            package(
                "zmq-peer",
                &[
                    ("zmq-sockets", None),
                    ("zmq-transport", None),
                    ("zmtp-codec", None),
                ],
            ),
            package("interop", &[("zmq-peer", None), ("zmtp-codec", None)]),
            package("xtask", &[("serde_json", None)]),
        ]
    }

    #[test]
    fn layered_workspace_passes() {
        assert_eq!(check_edges(&layered_workspace()), Vec::new());
    }

    #[test]
    fn back_edge_is_reported_with_its_manifest_line() {
        let mut packages = layered_workspace();
        packages[1] = package(
            "zmq-transport",
            &[("zmtp-codec", None), ("zmq-sockets", Some("dev"))],
        );
        let violations = check_edges(&packages);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].file, "zmq-transport/Cargo.toml");
        assert_eq!(violations[0].line, 4);
        assert!(violations[0].message.contains("zmq-sockets"));
    }

    #[test]
    fn codec_and_xtask_depend_on_no_workspace_crate() {
        let mut packages = layered_workspace();
        packages[0] = package(
            "zmtp-codec",
            &[("bytes", None), ("zmq-transport", Some("dev"))],
        );
        packages[5] = package("xtask", &[("zmtp-codec", None)]);
        assert_eq!(check_edges(&packages).len(), 2);
    }

    #[test]
    fn codec_dependency_allow_list_ignores_dev_dependencies() {
        let mut packages = layered_workspace();
        packages[0] = package(
            "zmtp-codec",
            &[
                ("bytes", None),
                ("mio", None),
                ("tempfile", Some("dev")),
                ("cc", Some("build")),
            ],
        );
        let violations = check_edges(&packages);
        let names: Vec<_> = violations.iter().map(|v| v.message.as_str()).collect();
        assert_eq!(violations.len(), 2, "{names:?}");
        assert!(names[0].contains("`mio`"));
        assert!(names[1].contains("`cc`"));
    }

    #[test]
    fn unknown_workspace_crate_needs_a_rule() {
        let mut packages = layered_workspace();
        packages.push(package("zmq-extra", &[]));
        let violations = check_edges(&packages);
        assert_eq!(violations.len(), 1);
        assert!(violations[0].message.contains("no layering rule"));
    }

    #[test]
    fn metadata_json_is_parsed() {
        let json = r#"{"packages":[{"name":"zmtp-codec","manifest_path":"/r/zmtp-codec/Cargo.toml",
            "dependencies":[{"name":"bytes","kind":null},{"name":"proptest","kind":"dev"}]}],
            "workspace_members":[]}"#;
        let packages = parse_metadata(json, Path::new("/r")).unwrap();
        assert_eq!(packages.len(), 1);
        assert_eq!(packages[0].manifest, "zmtp-codec/Cargo.toml");
        assert_eq!(
            packages[0].dependencies,
            vec![
                Dependency {
                    name: "bytes".into(),
                    kind: None
                },
                Dependency {
                    name: "proptest".into(),
                    kind: Some("dev".into())
                },
            ]
        );
        assert!(parse_metadata("{}", Path::new("/r")).is_err());
    }

    #[test]
    fn lints_table_must_inherit_the_workspace() {
        let good = "[package]\nname = \"a\"\n\n[lints]\nworkspace = true\n";
        assert!(check_lints_table("a/Cargo.toml", good, true).is_empty());
        let missing = "[package]\nname = \"a\"\n[dependencies]\nworkspace = true\n";
        assert_eq!(check_lints_table("a/Cargo.toml", missing, true).len(), 1);
        let own = "[package]\n[lints.rust]\nunsafe_code = \"deny\"\n";
        assert_eq!(check_lints_table("a/Cargo.toml", own, true).len(), 1);
        assert!(check_lints_table("fuzz/Cargo.toml", own, false).is_empty());
        assert_eq!(
            check_lints_table("fuzz/Cargo.toml", "[package]\n", false).len(),
            1
        );
    }

    #[test]
    fn every_file_starts_with_an_inner_doc_line() {
        assert!(check_file("a/src/x.rs", "//! Does x.\nfn f() {}\n").is_empty());
        assert_eq!(check_file("a/src/x.rs", "\n//! Does x.\n").len(), 1);
        assert_eq!(check_file("a/src/x.rs", "// Does x.\n").len(), 1);
        assert_eq!(check_file("a/src/x.rs", "").len(), 1);
        assert_eq!(
            check_file("a/src/x.rs", "#!/usr/bin/env run-cargo-script\n//! x\n").len(),
            1
        );
    }

    #[test]
    fn unsafe_allow_only_in_ffi() {
        let text = "//! x\n#[allow(unsafe_code, reason = \"ffi\")]\nmod m {}\n";
        assert!(check_file(FFI_FILE, text).is_empty());
        let violations = check_file("zmq-peer/src/lib.rs", text);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].line, 2);
        assert_eq!(
            check_file("a/src/x.rs", "//! x\n#![expect(unsafe_code)]\n").len(),
            1
        );
    }

    #[test]
    fn crate_roots_forbid_unsafe() {
        assert!(check_forbid_unsafe("a/src/lib.rs", "//! a\n#![forbid(unsafe_code)]\n").is_empty());
        assert_eq!(
            check_forbid_unsafe("a/src/lib.rs", "//! a\n#![deny(unsafe_code)]\n").len(),
            1
        );
    }

    #[test]
    fn leftovers_are_reported_except_in_tidy_itself() {
        let text = "//! x\nfn f() { dbg!(1); }\nfn g() { todo!() }\n";
        let violations = check_file("a/src/x.rs", text);
        assert_eq!(
            violations.iter().map(|v| v.line).collect::<Vec<_>>(),
            vec![2, 3]
        );
        assert!(check_file(TIDY_FILE, text).is_empty());
    }

    #[test]
    fn codec_banned_names_are_found_in_code_not_comments() {
        let text = "//! Knows nothing of std::net or mio.\n\
                    use std::net::TcpStream;\n\
                    use std::io::{Cursor, Read};\n\
                    let t = std::time::Instant::now(); // not allowed\n\
                    /// Never calls Instant::now().\n\
                    let premio = 1; let x = mio_like;\n\
                    use std::thread;\n";
        let violations = check_file("zmtp-codec/src/session.rs", text);
        let lines: Vec<_> = violations
            .iter()
            .map(|v| (v.line, v.message.clone()))
            .collect();
        assert_eq!(violations.len(), 4, "{lines:?}");
        assert_eq!(violations[0].line, 2);
        assert!(violations[1].message.contains("io::Read"));
        assert_eq!(violations[2].line, 4);
        assert_eq!(violations[3].line, 7);
        assert!(check_file("zmq-transport/src/x.rs", text).is_empty());
    }

    #[test]
    fn codec_unit_tests_may_read_the_clock() {
        let text = "//! x\nfn f() {}\n#[cfg(test)]\nmod tests {\n    let t = Instant::now();\n}\n";
        assert!(check_file("zmtp-codec/src/session.rs", text).is_empty());
        let tests = "//! Tests.\nlet now = Instant::now();\n";
        assert!(check_file("zmtp-codec/src/session/tests.rs", tests).is_empty());
        assert!(check_file("zmtp-codec/src/tests/pair.rs", tests).is_empty());
        assert_eq!(
            check_file("zmtp-codec/src/session/timer.rs", tests).len(),
            1
        );
        // Test code still may not leave `dbg!` behind.
        let leftover = "//! x\n#[cfg(test)]\nmod tests { fn f() { dbg!(1); } }\n";
        assert_eq!(check_file("zmtp-codec/src/session.rs", leftover).len(), 1);
    }

    #[test]
    fn tokens_respect_identifier_boundaries() {
        assert!(contains_token("use mio::Poll;", "mio"));
        assert!(!contains_token("let premio = 1;", "mio"));
        assert!(!contains_token("mio_thing", "mio"));
        assert!(contains_token("std::io::Write", "io::Write"));
        assert!(!contains_token("std::io::Writer", "io::Write"));
    }

    #[test]
    fn violations_print_as_file_line_message() {
        let violation = Violation::new("a/b.rs", 3, "bad");
        assert_eq!(violation.to_string(), "a/b.rs:3: bad");
    }
}
