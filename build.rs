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
    let text = fs::read_to_string(STUB).unwrap_or_else(|e| panic!("cannot read {STUB}: {e}"));
    let dir = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("doc");
    fs::create_dir_all(&dir).expect("create $OUT_DIR/doc");
    for (name, doc) in docstrings(&text) {
        fs::write(dir.join(format!("{name}.txt")), doc).expect("write a docstring");
    }
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
