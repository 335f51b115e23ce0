//! The mapping templates in `examples/mappings/` load their sample exports in `testdata/mappings/`
//! unchanged, alone and all together, with every row accounted for.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

const TEMPLATES: [&str; 5] = ["crm-deals", "metrica-logs-api", "ga4-bigquery", "calltracking", "pos-1c"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A template with its `path`s pointing at the samples.
fn template(name: &str) -> String {
    let text = std::fs::read_to_string(root().join(format!("examples/mappings/{name}.toml"))).unwrap();
    let samples = root().join("testdata/mappings");
    text.replace("path = \"", &format!("path = \"{}/", samples.display()))
}

fn run(config: &str, dir: &Path, args: &[&str]) -> (String, String) {
    let path = dir.join("touchpath.toml");
    std::fs::write(&path, config).unwrap();
    let out = Command::cargo_bin("touchpath")
        .unwrap()
        .env_remove("TOUCHPATH_CONFIG")
        .env_remove("TOUCHPATH_SALT")
        .arg("--config")
        .arg(&path)
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{err}");
    (String::from_utf8(out.stdout).unwrap(), err)
}

#[test]
fn every_template_loads_its_sample() {
    let expected = [
        ("crm-deals", "crm_deals.csv [orders]: 5 read, 3 used, 2 filtered, 0 rejected"),
        ("metrica-logs-api", "metrica_visits.tsv [visits]: 8 read, 7 used, 1 filtered, 0 rejected"),
        ("ga4-bigquery", "ga4_sessions.csv [visits]: 5 read, 5 used, 0 filtered, 0 rejected"),
        ("calltracking", "calltracking.csv [calls]: 5 read, 3 used, 2 filtered, 0 rejected"),
        ("pos-1c", "pos_receipts.csv [receipts]: 4 read, 4 used, 0 filtered, 0 rejected"),
    ];
    for (name, line) in expected {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = format!("timezone = \"Europe/Moscow\"\n{}", template(name));
        if !cfg.contains("kind = \"orders\"") && !cfg.contains("kind = \"receipts\"") {
            // Visits and calls alone have nothing to attribute.
            cfg.push_str(&format!(
                "\n[[sources]]\nkind = \"orders\"\npath = \"{}/min_orders.csv\"\n",
                root().join("testdata/mappings").display()
            ));
        }
        // The crm template sets a top-level key, which must come before any table.
        let cfg = if name == "crm-deals" {
            template(name).replacen("[[sources]]", "timezone = \"Europe/Moscow\"\n\n[[sources]]", 1)
        } else {
            cfg
        };
        let (_, err) = run(&cfg, dir.path(), &["report", "-v", "--format", "csv"]);
        assert!(err.contains(line), "{name}: missing `{line}` in\n{err}");
        assert!(!err.contains("rejected 1") && !err.contains("warning"), "{name}: {err}");
    }
}

#[test]
fn all_templates_together_join_web_calls_crm_and_stores() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = String::from("timezone = \"Europe/Moscow\"\n");
    for t in TEMPLATES {
        cfg.push_str(&template(t).replacen("excluded_statuses", "\nexcluded_statuses", 1));
        cfg.push('\n');
    }
    // Top-level keys first: move the crm template's excluded_statuses above the tables.
    let (key, rest): (Vec<&str>, Vec<&str>) = cfg.lines().partition(|l| l.starts_with("excluded_statuses"));
    let cfg = format!("{}\n{}\n", key.join("\n"), rest.join("\n"));
    let (report, err) = run(&cfg, dir.path(), &["report", "-v", "--format", "csv", "-m", "last-click,linear"]);
    assert!(err.contains("pos_receipts.csv [receipts]: 4 read, 3 used, 1 filtered, 0 rejected"), "{err}");
    assert!(err.contains("filtered 1: fulfils an online order"), "{err}");
    assert_eq!(
        report,
        "model,channel,conversions,revenue,share
last-click,\"(offline, no online touch)\",2,3650,0.3333333333333333
last-click,Call (untracked),1,12500.5,0.16666666666666666
last-click,Direct,1,23000,0.16666666666666666
last-click,Organic Search,1,45990,0.16666666666666666
last-click,Paid Search,1,780.4,0.16666666666666666
linear,\"(offline, no online touch)\",2,3650,0.3333333333333333
linear,Call (untracked),1,12500.5,0.16666666666666666
linear,Direct,1,23000,0.16666666666666666
linear,Organic Search,0.3333333333333333,15330,0.05555555555555555
linear,Paid Search,1.6666666666666665,31440.4,0.27777777777777773
"
    );
}

#[test]
fn init_from_drafts_identity_links_for_files_of_two_identifiers() {
    let dir = tempfile::tempdir().unwrap();
    let demo = root().join("testdata/demo");
    let mut cmd = Command::cargo_bin("touchpath").unwrap();
    cmd.current_dir(dir.path()).env_remove("TOUCHPATH_CONFIG").args(["init", "--from"]);
    for f in ["visits.csv", "orders.csv", "accounts.csv", "loyalty.csv"] {
        cmd.arg(demo.join(f));
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cfg = std::fs::read_to_string(dir.path().join("touchpath.toml")).unwrap();
    for block in [
        "kind = \"links\"\npath = ",
        "id_a = \"user_id\"\nid_b = \"phone\"\n# columns not used: \"registered_at\"\n[sources.constants]\nkind_a = \"user_id\"\nkind_b = \"phone\"\n",
        "id_a = \"Номер карты\"\nid_b = \"Телефон\"\n",
        "kind_a = \"loyalty_card\"\nkind_b = \"phone\"\n",
    ] {
        assert!(cfg.contains(block), "missing `{block}` in the draft:\n{cfg}");
    }
    let (_, err) = run(&cfg, dir.path(), &["stitch", "-v"]);
    assert!(err.contains("accounts.csv [links]: 580 read, 580 used, 0 filtered, 0 rejected"), "{err}");
    assert!(err.contains("loyalty.csv [links]: 845 read, 845 used, 0 filtered, 0 rejected"), "{err}");
}

#[test]
fn init_from_samples_drafts_a_config_that_runs() {
    let dir = tempfile::tempdir().unwrap();
    let samples = root().join("testdata/mappings");
    let mut cmd = Command::cargo_bin("touchpath").unwrap();
    cmd.current_dir(dir.path()).env_remove("TOUCHPATH_CONFIG").args(["init", "--from"]);
    for f in ["crm_deals.csv", "metrica_visits.tsv", "calltracking.csv", "pos_receipts.csv", "ga4_sessions.csv"] {
        cmd.arg(samples.join(f));
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cfg = std::fs::read_to_string(dir.path().join("touchpath.toml")).unwrap();
    for line in [
        "kind = \"orders\"",
        "revenue = \"Бюджет\"",
        "client_id = \"ym:s:clientID\"",
        "encoding = \"cp1251\"",
        "delimiter = \"\\t\"",
        "started_at = \"event_timestamp\"",
    ] {
        assert!(cfg.contains(line), "missing `{line}` in the draft:\n{cfg}");
    }
    let (report, err) = run(&cfg, dir.path(), &["report", "-v", "--format", "csv", "-m", "last-click"]);
    assert!(err.contains("crm_deals.csv [orders]: 5 read, 3 used, 2 filtered, 0 rejected"), "{err}");
    assert!(report.contains("last-click,Organic Search,1,45990,"), "{report}");
    // A file whose columns name nothing known is refused with a pointer to inspect.
    std::fs::write(dir.path().join("odd.csv"), "foo,bar\n1,2\n").unwrap();
    let odd =
        Command::cargo_bin("touchpath").unwrap().current_dir(dir.path()).args(["init", "--force", "--from", "odd.csv"]).output().unwrap();
    assert_eq!(odd.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&odd.stderr).contains("touchpath inspect"));
}
