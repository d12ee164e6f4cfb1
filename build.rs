//! Docstrings of `plogp._native` at run time, from one source: the stub
//! `python/plogp/_native.pyi`, whose NumPy-style docstrings are also what IDEs, mypy and the
//! doctests (`tests/test_docs.py`) read. Each top-level `def NAME(...)` docstring of the stub
//! is written to `$OUT_DIR/doc/NAME.txt`, and every `#[pyfunction]` includes its file with
//! `#[doc = include_str!(...)]`; `tests/test_docs.py` checks that `__doc__` equals the stub.
//!
//! The stub's docstrings are plain (non-raw) triple-quoted strings without escapes, which
//! this reader checks rather than interprets.

use std::path::Path;
use std::{env, fs};

const STUB: &str = "python/plogp/_native.pyi";

fn main() {
    println!("cargo:rerun-if-changed={STUB}");
    build_info();
    let text = fs::read_to_string(STUB).unwrap_or_else(|e| panic!("cannot read {STUB}: {e}"));
    let dir = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("doc");
    fs::create_dir_all(&dir).expect("create $OUT_DIR/doc");
    for (name, doc) in docstrings(&text) {
        fs::write(dir.join(format!("{name}.txt")), doc).expect("write a docstring");
    }
}

/// What `plogp._native._build_info()` reports: the cargo profile, the compiler, and the
/// versions of the crates the extension is built from (from Cargo.lock).
fn build_info() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    let profile = env::var("PROFILE").unwrap_or_default();
    println!("cargo:rustc-env=PLOGP_BUILD_PROFILE={profile}");
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .unwrap_or_default();
    println!("cargo:rustc-env=PLOGP_RUSTC_VERSION={}", version.trim());
    let lock = fs::read_to_string("Cargo.lock").unwrap_or_default();
    for (krate, key) in [("pyo3", "PYO3"), ("numpy", "NUMPY"), ("rayon", "RAYON")] {
        println!(
            "cargo:rustc-env=PLOGP_{key}_VERSION={}",
            locked_version(&lock, krate)
        );
    }
}

/// The version of `krate` in Cargo.lock (empty if not found).
fn locked_version(lock: &str, krate: &str) -> String {
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == format!("name = \"{krate}\"") {
            if let Some(v) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = "))
            {
                return v.trim_matches('"').to_string();
            }
        }
    }
    String::new()
}

/// `(name, docstring)` of every top-level function of the stub that has one, dedented by the
/// body's four spaces.
fn docstrings(text: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(rest) = lines[i].strip_prefix("def ") else {
            i += 1;
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        // The signature ends at the first line ending in ':' (possibly the `def` line itself).
        while i < lines.len() && !lines[i].trim_end().ends_with(':') {
            i += 1;
        }
        i += 1;
        let Some(first) = lines
            .get(i)
            .and_then(|l| l.trim_start().strip_prefix("\"\"\""))
        else {
            continue;
        };
        assert!(
            !first.contains('\\'),
            "{STUB}: escapes in the docstring of {name}"
        );
        let mut doc = String::new();
        if let Some(one_line) = first.strip_suffix("\"\"\"") {
            doc.push_str(one_line);
        } else {
            doc.push_str(first);
            i += 1;
            while i < lines.len() {
                let line = lines[i];
                assert!(
                    !line.contains('\\'),
                    "{STUB}: escapes in the docstring of {name}"
                );
                let (body, end) = match line.trim_end().strip_suffix("\"\"\"") {
                    Some(b) => (b, true),
                    None => (line, false),
                };
                doc.push('\n');
                doc.push_str(body.strip_prefix("    ").unwrap_or(body.trim_start()));
                if end {
                    break;
                }
                i += 1;
            }
        }
        found.push((name, doc.trim_end().to_string()));
        i += 1;
    }
    found
}
