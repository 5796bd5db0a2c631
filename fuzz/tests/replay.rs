//! Replays every committed corpus file through its fuzz target body, on stable, as a test.
//!
//! A crash found by fuzzing is committed to `fuzz/corpus/<target>/`, so this test keeps it
//! fixed without needing libFuzzer or nightly.

use std::fs;
use std::path::{Path, PathBuf};

#[test]
fn every_corpus_file_passes_its_target() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut replayed = 0;
    for (target, body) in zmq_peer_fuzz::TARGETS {
        let files = corpus_files(&corpus.join(target));
        assert!(
            !files.is_empty(),
            "no corpus files for {target}; run `cargo xtask fuzz-seeds`"
        );
        for file in files {
            let data = fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| body(&data));
            assert!(outcome.is_ok(), "{target} failed on {}", file.display());
            replayed += 1;
        }
    }
    assert!(replayed >= zmq_peer_fuzz::TARGETS.len());
}

#[test]
fn every_fuzz_target_wrapper_has_a_body() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz_targets");
    let mut wrappers: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    wrappers.sort();
    let mut bodies: Vec<String> = zmq_peer_fuzz::TARGETS
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .collect();
    bodies.sort();
    assert_eq!(wrappers, bodies);
    for name in &wrappers {
        let wrapper = fs::read_to_string(dir.join(format!("{name}.rs"))).unwrap();
        assert!(
            wrapper.contains(&format!("zmq_peer_fuzz::{name}(data)")),
            "{name}.rs"
        );
    }
}

/// Lists the files of one target's corpus directory, sorted.
fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}
