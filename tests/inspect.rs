//! Snapshot tests of `touchpath inspect` on the sample exports: what the tool detects (encoding,
//! delimiter, types) and how it maps each column must not change unnoticed.

use assert_cmd::Command;

fn inspect(file: &str, config: Option<&str>) -> String {
    let mut c = Command::cargo_bin("touchpath").unwrap();
    c.current_dir(env!("CARGO_MANIFEST_DIR")).env_remove("TOUCHPATH_CONFIG").env_remove("TOUCHPATH_SALT");
    c.args(["inspect", file, "--format", "markdown"]);
    if let Some(cfg) = config {
        c.args(["--config", cfg]);
    }
    let out = c.output().unwrap();
    assert!(out.status.success(), "{file}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn inspect_tiny_samples() {
    for f in ["visits", "calls", "orders", "receipts", "links", "costs"] {
        let got = inspect(&format!("testdata/tiny/{f}.csv"), Some("testdata/tiny/touchpath-costs.toml"));
        insta::assert_snapshot!(format!("tiny_{f}"), got);
    }
}

#[test]
fn inspect_demo_exports() {
    for f in ["visits", "calls", "orders", "receipts", "touches", "loyalty", "accounts", "costs"] {
        let got = inspect(&format!("testdata/demo/{f}.csv"), Some("testdata/demo/touchpath.toml"));
        insta::assert_snapshot!(format!("demo_{f}"), got);
    }
}

#[test]
fn inspect_without_a_config_guesses_the_kind() {
    let got = inspect("testdata/tiny/orders.csv", None);
    assert!(got.contains("kind orders (no source of the config reads it"), "{got}");
    assert!(got.contains("| phone | phone | 20.0% | #"), "phones are typed and never shown raw: {got}");
}

#[test]
fn inspect_without_a_config_takes_two_identifiers_for_links() {
    let got = inspect("testdata/demo/accounts.csv", None);
    assert!(got.contains("kind links (no source of the config reads it"), "{got}");
    assert!(got.contains("| id_a (kind_a = user_id) |"), "{got}");
    assert!(got.contains("| id_b (kind_b = phone) |"), "{got}");
    assert!(!got.contains("required fields without a column"), "constants fill the kinds: {got}");
}

#[test]
fn inspect_mapping_samples() {
    for (file, kind) in [
        ("metrica_visits.tsv", "visits"),
        ("ga4_sessions.csv", "visits"),
        ("calltracking.csv", "calls"),
        ("crm_deals.csv", "orders"),
        ("pos_receipts.csv", "receipts"),
    ] {
        let mut c = Command::cargo_bin("touchpath").unwrap();
        c.current_dir(env!("CARGO_MANIFEST_DIR")).env_remove("TOUCHPATH_CONFIG").env_remove("TOUCHPATH_SALT");
        let out = c.args(["inspect", &format!("testdata/mappings/{file}"), "--kind", kind, "--format", "markdown"]).output().unwrap();
        assert!(out.status.success(), "{file}: {}", String::from_utf8_lossy(&out.stderr));
        insta::assert_snapshot!(format!("mapping_{}", file.replace('.', "_")), String::from_utf8(out.stdout).unwrap());
    }
}
