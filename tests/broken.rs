//! Broken exports, each with its expected outcome: a rejected row with file, line and reason, a
//! clear error, or a file read correctly despite its quirks — never a panic, never a silent drop.
//! The files are in `testdata/broken/` (README.md there lists them).

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn broken(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/broken").join(name)
}

/// Runs `report` on one orders file with extra source settings; returns (exit code, stdout, stderr).
fn orders(dir: &Path, file: &Path, settings: &str, top: &str) -> (i32, String, String) {
    let cfg = format!("{top}\n[[sources]]\nkind = \"orders\"\npath = {:?}\n{settings}\n", file.display().to_string());
    std::fs::write(dir.join("touchpath.toml"), cfg).unwrap();
    let out = Command::cargo_bin("touchpath")
        .unwrap()
        .current_dir(dir)
        .env_remove("TOUCHPATH_CONFIG")
        .args(["report", "-v", "--format", "csv", "-m", "last-click", "--rejects", "rejects.csv"])
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn each_broken_export_has_its_expected_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rejects = || std::fs::read_to_string(d.join("rejects.csv")).unwrap_or_default();

    // A file cut off mid-row: the last row is rejected with its line, the rest is used.
    let (code, _, err) = orders(d, &broken("truncated.csv"), "", "");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("3 read, 2 used, 0 filtered, 1 rejected"), "{err}");
    assert!(rejects().contains(",4,,\"expected 4 fields, found 2\""), "{}", rejects());

    // The wrong delimiter: the header is one column, and the error says what was found.
    let (code, _, err) = orders(d, &broken("wrong-delimiter.csv"), "delimiter = \";\"", "");
    assert_eq!(code, 1);
    assert!(err.contains("required column `order_id`") && err.contains("columns found: `order_id,created_at,revenue,client_id`"), "{err}");

    // A BOM, `;` and a decimal comma with a thousands space: read as written.
    let (code, out, err) = orders(d, &broken("bom.csv"), "", "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("last-click,Direct,1,1000.5,1"), "{out}");

    // Mixed encodings: declared UTF-8, the Windows-1251 line is a clear error with its offset.
    let (code, _, err) = orders(d, &broken("mixed-encoding.csv"), "encoding = \"utf8\"", "");
    assert_eq!(code, 1);
    assert!(err.contains("not valid UTF-8 (first bad byte at offset"), "{err}");
    // Undeclared, the file is not valid UTF-8 and is read as Windows-1251: both rows are used.
    let (code, _, err) = orders(d, &broken("mixed-encoding.csv"), "", "");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("2 read, 2 used"), "{err}");

    // A quoted field spanning two lines is one row; the next row's line number is still right.
    let (code, _, err) = orders(d, &broken("quoted-newlines.csv"), "", "");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("2 read, 1 used, 0 filtered, 1 rejected"), "{err}");
    assert!(rejects().contains(",4,revenue,`12;5o` is not a number,12;5o"), "{}", rejects());

    // Dates in three formats in one column: all read, all the same day at 10:00 Moscow time.
    let (code, out, err) = orders(d, &broken("three-date-formats.csv"), "", "timezone = \"Europe/Moscow\"");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("3 read, 3 used"), "{err}");
    assert!(out.contains("last-click,Direct,3,600,1"), "{out}");

    // Malformed Parquet: an error, not a crash.
    for f in ["malformed.parquet", "allocation-bomb.parquet", "wire-type-bomb.parquet", "schema-type-bomb.parquet"] {
        let (code, _, err) = orders(d, &broken(f), "", "");
        assert_eq!(code, 1, "{f}: {err}");
        assert!(err.contains("not a readable Parquet file"), "{f}: {err}");
    }
}

#[test]
fn a_50_mb_field_is_read_and_never_echoed_whole() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("huge.csv");
    let mut text = String::from("order_id,created_at,revenue,client_id\no1,01.09.2026 10:00,100,c1\no2,01.09.2026 10:00,");
    text.push_str(&"9".repeat(50 << 20));
    text.push_str("x,c2\n");
    std::fs::write(&file, text).unwrap();
    let (code, _, err) = orders(dir.path(), &file, "", "");
    assert_eq!(code, 0, "{}", &err[..err.len().min(2000)]);
    assert!(err.contains("2 read, 1 used, 0 filtered, 1 rejected"));
    let rejects = std::fs::read_to_string(dir.path().join("rejects.csv")).unwrap();
    assert!(rejects.len() < 2_000 && err.len() < 5_000, "messages quote a short prefix only");
    assert!(err.contains("is not a number"), "the reason survives shortening");
}

#[test]
fn inputs_too_large_for_memory_stop_before_loading() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = orders(dir.path(), &broken("three-date-formats.csv"), "", "memory_limit = \"100\"");
    assert_eq!(code, 1);
    assert!(err.contains("a run over them needs about") && err.contains("memory_limit"), "{err}");
}
