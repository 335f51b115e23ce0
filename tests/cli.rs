//! Binary-level tests: the real `touchpath` executable on the fixtures in `testdata/`.
//!
//! `testdata/tiny` is small enough to work out by hand; its README lists the customers, paths
//! and credits these tests expect.

use std::path::{Path, PathBuf};

mod common;

use assert_cmd::Command;
use predicates::prelude::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tiny() -> String {
    root().join("testdata/tiny/touchpath.toml").display().to_string()
}

fn tp() -> Command {
    let mut c = Command::cargo_bin("touchpath").unwrap();
    c.env_remove("TOUCHPATH_CONFIG").env_remove("TOUCHPATH_SALT").env_remove("COLUMNS");
    c
}

fn stdout(args: &[&str]) -> String {
    let out = tp().args(args).output().unwrap();
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn tiny_paths_are_exact() {
    let got = stdout(&["paths", "--config", &tiny(), "--format", "csv"]);
    assert_eq!(
        got,
        "path,conversions,conversion_value,nulls\n\
         \"(offline, no online touch)\",5,800,0\n\
         Organic Search,1,100,0\n\
         Paid Search,1,250,0\n\
         Paid Search > Direct,1,500,0\n\
         Paid Search > Organic Social > Paid Social > Email,1,1000.5,0\n\
         Referral,0,0,1\n"
    );
}

#[test]
fn tiny_report_is_exact() {
    let got = stdout(&["report", "--config", &tiny(), "--format", "csv", "--model", "last-click,linear,ropo"]);
    let want = "model,channel,conversions,revenue,share
last-click,\"(offline, no online touch)\",5,800,0.5555555555555556
last-click,Direct,1,500,0.1111111111111111
last-click,Email,1,1000.5,0.1111111111111111
last-click,Organic Search,1,100,0.1111111111111111
last-click,Organic Social,0,0,0
last-click,Paid Search,1,250,0.1111111111111111
last-click,Paid Social,0,0,0
linear,\"(offline, no online touch)\",5,800,0.5555555555555556
linear,Direct,0.5,250,0.05555555555555555
linear,Email,0.25,250.125,0.027777777777777776
linear,Organic Search,1,100,0.1111111111111111
linear,Organic Social,0.25,250.125,0.027777777777777776
linear,Paid Search,1.75,750.125,0.19444444444444445
linear,Paid Social,0.25,250.125,0.027777777777777776
ropo,\"(offline, no online touch)\",5,800,0.5555555555555556
ropo,Direct,1,500,0.1111111111111111
ropo,Email,1,1000.5,0.1111111111111111
ropo,Organic Search,1,100,0.1111111111111111
ropo,Organic Social,0,0,0
ropo,Paid Search,1,250,0.1111111111111111
ropo,Paid Social,0,0,0
";
    assert_eq!(got, want);
}

/// A path table written by `paths` and read back credits as the exports do: store receipts
/// with no touch keep their bucket rather than turn into `Direct`.
#[test]
fn a_saved_path_table_reports_as_the_exports_do() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("paths.csv");
    stdout(&["paths", "--config", &tiny(), "--format", "csv", "-o", table.to_str().unwrap(), "-q"]);
    let models = "last-click,last-non-direct,first-click,linear,position-based";
    let from_table = stdout(&["report", "--paths", table.to_str().unwrap(), "--format", "csv", "--model", models, "-q"]);
    let from_exports = stdout(&["report", "--config", &tiny(), "--format", "csv", "--model", models, "-q"]);
    assert_eq!(from_table, from_exports);
    assert!(from_table.contains("last-click,\"(offline, no online touch)\",5,800,"), "{from_table}");
}

#[test]
fn tiny_stitching_is_exact() {
    let got = stdout(&["stitch", "--config", &tiny(), "--format", "csv"]);
    assert_eq!(
        got,
        "metric,count,share\n\
         customers,8,\n\
         identifier groups with no touch or conversion (links or filtered rows),0,\n\
         customers with online touches,5,0.625\n\
         orders (online) matched to online touches,3,1\n\
         receipts (offline) matched to online touches,3,0.5\n\
         identifiers refused for joining,1,\n"
    );
    let human = stdout(&["stitch", "--config", &tiny()]);
    assert!(human.contains("Identifiers refused for joining"), "{human}");
    assert!(!human.contains("74950000000"), "phones are never shown raw");
}

#[test]
fn summary_accounts_for_every_row() {
    let out = tp().args(["report", "--config", &tiny(), "-v", "--format", "csv"]).output().unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    for line in [
        "visits.csv [visits]: 10 read, 8 used, 1 filtered, 1 rejected",
        "calls.csv [calls]: 2 read, 1 used, 1 filtered, 0 rejected",
        "orders.csv [orders]: 5 read, 3 used, 1 filtered, 1 rejected",
        "receipts.csv [receipts]: 7 read, 6 used, 1 filtered, 0 rejected",
        "links.csv [links]: 1 read, 1 used, 0 filtered, 0 rejected",
        "duplicate touch",
        "not a target call",
        "status `Отменён` is excluded",
        "fulfils an online order",
        "`revenue`: `12,5o` is not a number",
        "1 identifier(s) refused for joining",
    ] {
        assert!(err.contains(line), "missing `{line}` in:\n{err}");
    }
}

#[test]
fn a_repeated_order_id_keeps_the_latest_row_then_the_largest() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("visits.csv"),
        "client_id;started_at;utm_source;utm_medium\n1;01.08.2026 10:00;yandex;cpc\n2;01.08.2026 10:00;google;organic\n",
    )
    .unwrap();
    // O1 twice: the later row counts (10:00 < 12:00), whatever the order of the rows. O2 twice
    // at one time: the larger amount counts.
    std::fs::write(
        dir.path().join("orders.csv"),
        "order_id;created_at;revenue;client_id\n\
         O1;02.08.2026 10:00;700;1\nO2;02.08.2026 10:00;100;2\nO1;02.08.2026 12:00;50;1\n\
         O2;02.08.2026 10:00;300;2\n",
    )
    .unwrap();
    let config = dir.path().join("touchpath.toml");
    std::fs::write(
        &config,
        "timezone = \"Europe/Moscow\"\n[[sources]]\nkind = \"visits\"\npath = \"visits.csv\"\n\
         [[sources]]\nkind = \"orders\"\npath = \"orders.csv\"\n",
    )
    .unwrap();
    let out = tp().args(["report", "-v", "--format", "csv", "-m", "last-click", "--config"]).arg(&config).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("orders.csv [orders]: 4 read, 2 used, 2 filtered, 0 rejected"), "{err}");
    assert!(err.contains("filtered 2: duplicate order_id (kept once)"), "{err}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "model,channel,conversions,revenue,share\nlast-click,Organic Search,1,300,0.5\nlast-click,Paid Search,1,50,0.5\n"
    );
}

/// A column with a field's canonical name is read without a mapping; an empty constant turns
/// that off, as a report that joins customers on client ids alone needs.
#[test]
fn an_empty_constant_leaves_a_column_of_a_fields_name_unread() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("visits.csv"),
        "client_id;started_at;utm_source;utm_medium;user_id\n\
         a;01.08.2026 10:00;newsletter;email;u1\nb;02.08.2026 10:00;google;cpc;u1\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("orders.csv"), "order_id;created_at;revenue;client_id\nO1;03.08.2026 10:00;100;b\n").unwrap();
    let config = |constants: &str| {
        let path = dir.path().join(format!("touchpath{}.toml", constants.len()));
        std::fs::write(
            &path,
            format!(
                "timezone = \"Europe/Moscow\"\n[[sources]]\nkind = \"visits\"\npath = \"visits.csv\"\n{constants}\
                 [[sources]]\nkind = \"orders\"\npath = \"orders.csv\"\n"
            ),
        )
        .unwrap();
        path.display().to_string()
    };
    // The user id joins both client ids: one customer, whose path starts with the e-mail.
    let joined = stdout(&["paths", "--format", "csv", "-q", "--config", &config("")]);
    assert_eq!(joined, "path,conversions,conversion_value,nulls\nEmail > Paid Search,1,100,0\n");
    // Unread, it joins nothing: the e-mail is another customer's journey, which did not convert.
    let apart = stdout(&["paths", "--format", "csv", "-q", "--config", &config("[sources.constants]\nuser_id = \"\"\n")]);
    assert_eq!(apart, "path,conversions,conversion_value,nulls\nPaid Search,1,100,0\nEmail,0,0,1\n");
}

#[test]
fn rejects_file_and_strict() {
    let dir = tempfile::tempdir().unwrap();
    let rej = dir.path().join("rejects.csv");
    tp().args(["report", "--config", &tiny(), "--format", "csv", "--rejects"]).arg(&rej).assert().success();
    let text = std::fs::read_to_string(&rej).unwrap();
    assert!(text.starts_with("file,line,column,reason,value\n"), "{text}");
    assert!(text.contains("visits.csv,10,date_time,\"`31.09.2026 10:00` is not a date"), "{text}");
    assert!(text.contains("orders.csv,5,revenue,\"`12,5o` is not a number\",\"12,5o\""), "{text}");
    tp().args(["report", "--config", &tiny(), "--strict"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--strict: 2 input row(s) rejected"));
}

#[test]
fn missing_config_suggests_init_and_demo() {
    let dir = tempfile::tempdir().unwrap();
    tp().current_dir(dir.path())
        .arg("report")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("touchpath init").and(predicate::str::contains("--demo")));
}

#[test]
fn model_names_are_checked_before_any_input_is_read() {
    // The export does not exist: a typo in --model must be reported, not the missing file that
    // loading would have found first.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("touchpath.toml"), "[[sources]]\nkind = \"orders\"\npath = \"absent.csv\"\n").unwrap();
    for cmd in ["report", "snapshot"] {
        tp().current_dir(dir.path())
            .args([cmd, "--model", "last_click"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("unknown model `last_click`").and(predicate::str::contains("absent.csv").not()));
    }
    tp().current_dir(dir.path()).args(["report", "--model", "last-click"]).assert().code(1).stderr(predicate::str::contains("absent.csv"));
}

#[test]
fn usage_errors_exit_2() {
    tp().args(["report", "--config", &tiny(), "--model", "nonsense"]).assert().code(2).stderr(predicate::str::contains("unknown model"));
    tp().args(["report", "--config", &tiny(), "--by", "planet"]).assert().code(2);
    tp().args(["report", "--config", &tiny(), "--lookback", "3x"]).assert().code(2);
    tp().args(["frobnicate"]).assert().code(2);
}

#[test]
fn missing_column_is_named_with_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("orders.csv"), "order_id;created;revenu\n1;01.01.2026;5\n").unwrap();
    std::fs::write(dir.path().join("touchpath.toml"), "[[sources]]\nkind = \"orders\"\npath = \"orders.csv\"\n").unwrap();
    tp().current_dir(dir.path())
        .arg("report")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("required column `created_at`").and(predicate::str::contains("did you mean `created`")));
}

#[test]
fn date_and_kind_selection() {
    // Only September: o1 (12.09) and the receipts of 13.09 and 21-23.09.
    let got =
        stdout(&["report", "--config", &tiny(), "--format", "csv", "--model", "last-click", "--from", "2026-09-01", "--to", "30.09.2026"]);
    assert!(got.contains("last-click,\"(offline, no online touch)\",5,800,"), "{got}");
    assert!(got.contains("last-click,Email,1,1000.5,"), "{got}");
    assert!(!got.contains("Direct"), "o2 (31.08) is outside: {got}");
    let got = stdout(&["report", "--config", &tiny(), "--format", "csv", "--model", "last-click", "--conversions", "online"]);
    assert!(!got.contains("offline"), "{got}");
    assert!(got.contains("last-click,Paid Search,1,250,0.3333333333333333"), "{got}");
}

#[test]
fn credits_sum_to_each_conversion() {
    let dir = tempfile::tempdir().unwrap();
    let credits = dir.path().join("credits.csv");
    tp().args(["report", "--config", &tiny(), "--format", "csv", "--credits"]).arg(&credits).assert().success();
    let mut rdr = csv::Reader::from_path(&credits).unwrap();
    let headers = rdr.headers().unwrap().clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        ["conversion_id", "conversion_kind", "converted_at", "customer", "model", "channel", "touch_at", "credit", "revenue_credit"]
    );
    let mut sums: std::collections::BTreeMap<(String, String), f64> = Default::default();
    for r in rdr.records() {
        let r = r.unwrap();
        *sums.entry((r[0].to_string(), r[4].to_string())).or_default() += r[7].parse::<f64>().unwrap();
    }
    assert_eq!(sums.len(), 9 * 10, "9 conversions × 10 models");
    for (k, v) in sums {
        assert!((v - 1.0).abs() < 1e-12, "{k:?} sums to {v}");
    }
}

#[test]
fn credits_as_csv_json_and_parquet_hold_the_same_rows() {
    // Each format writes the credit table row by row as it is made, through its own writer:
    // they must agree row for row.
    let dir = tempfile::tempdir().unwrap();
    let (csv_path, json_path, pq_path) = (dir.path().join("c.csv"), dir.path().join("c.json"), dir.path().join("c.parquet"));
    for p in [&csv_path, &json_path, &pq_path] {
        tp().args(["report", "--config", &tiny(), "--format", "csv", "-q", "--credits"]).arg(p).assert().success();
    }
    let mut rdr = csv::Reader::from_path(&csv_path).unwrap();
    let headers: Vec<String> = rdr.headers().unwrap().iter().map(str::to_string).collect();
    let from_csv: Vec<Vec<String>> = rdr.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect();
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    let from_json: Vec<Vec<String>> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            headers
                .iter()
                .map(|h| match &row[h.as_str()] {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => String::new(),
                    serde_json::Value::Number(n) => n.as_f64().map(|x| format!("{x}")).unwrap(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect();
    use polars::prelude::SerReader as _;
    let df = polars::prelude::ParquetReader::new(std::fs::File::open(&pq_path).unwrap()).finish().unwrap();
    let from_parquet: Vec<Vec<String>> = (0..df.height())
        .map(|i| {
            headers
                .iter()
                .map(|h| match df.column(h).unwrap().get(i).unwrap() {
                    polars::prelude::AnyValue::String(s) => s.to_string(),
                    polars::prelude::AnyValue::Null => String::new(),
                    polars::prelude::AnyValue::Float64(x) => format!("{x}"),
                    other => panic!("{h}: {other:?}"),
                })
                .collect()
        })
        .collect();
    assert_eq!(from_csv.len(), from_json.len());
    assert_eq!(from_csv.len(), from_parquet.len());
    assert!(from_csv.len() > 90, "a row per credited touch: {}", from_csv.len());
    for (c, j) in from_csv.iter().zip(&from_json).chain(from_csv.iter().zip(&from_parquet)) {
        assert_eq!(c[..7], j[..7], "{c:?} / {j:?}");
        for k in 7..9 {
            let (a, b): (f64, f64) = (c[k].parse().unwrap(), j[k].parse().unwrap());
            assert!((a - b).abs() < 1e-9, "{c:?} / {j:?}");
        }
    }
}

#[test]
fn json_and_parquet_outputs() {
    let json = stdout(&["report", "--config", &tiny(), "--format", "json", "--model", "last-click"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 7, "a row for every channel on a path, credited or not");
    assert_eq!(rows[2]["channel"], "Email");
    assert_eq!((rows[4]["channel"].as_str(), rows[4]["conversions"].as_f64()), (Some("Organic Social"), Some(0.0)));
    assert_eq!(rows[2]["revenue"], 1000.5);
    let dir = tempfile::tempdir().unwrap();
    let pq = dir.path().join("r.parquet");
    tp().args(["report", "--config", &tiny(), "--model", "last-click", "--output"]).arg(&pq).assert().success();
    let bytes = std::fs::read(&pq).unwrap();
    assert_eq!(&bytes[..4], b"PAR1");
}

#[test]
fn empty_selection_still_writes_a_header() {
    let got = stdout(&["report", "--config", &tiny(), "--format", "csv", "--from", "2030-01-01"]);
    assert_eq!(got, "model,channel,conversions,revenue,share\n");
}

/// Copies the fixture with every data file's rows reversed and shuffled by a fixed rule.
fn shuffled_copy(dir: &Path) -> String {
    shuffled_copy_of("testdata/tiny", dir)
}

/// [`shuffled_copy`] of the fixture in `fixture`.
fn shuffled_copy_of(fixture: &str, dir: &Path) -> String {
    let src = root().join(fixture);
    for entry in std::fs::read_dir(&src).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_owned();
        let bytes = std::fs::read(&p).unwrap();
        if p.extension().is_some_and(|e| e == "csv") {
            let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
            let header = lines.remove(0);
            lines.reverse();
            let n = lines.len();
            if n > 2 {
                lines.swap(0, n / 2);
            }
            let mut out = header.to_vec();
            out.push(b'\n');
            for l in lines {
                out.extend_from_slice(l);
                out.push(b'\n');
            }
            std::fs::write(dir.join(name), out).unwrap();
        } else {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
    dir.join("touchpath.toml").display().to_string()
}

/// The demo's customer metrics sum money and lags over hundreds of customers, numbered in the
/// order their rows arrive: enough terms for the order of f64 additions to show.
#[test]
fn row_order_changes_no_customer_metric() {
    // Both copies run from their own folder, so that the files' names read the same.
    let (plain, shuffled) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for entry in std::fs::read_dir(root().join("testdata/demo")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, plain.path().join(p.file_name().unwrap())).unwrap();
    }
    shuffled_copy_of("testdata/demo", shuffled.path());
    let args = ["customers", "--config", "touchpath.toml", "--format", "csv", "-q"];
    let (a, b) = (run_in(plain.path(), &args), run_in(shuffled.path(), &args));
    assert!(a.status.success() && b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    assert!(a.stdout.len() > 1000, "the metrics are there");
    assert_eq!(String::from_utf8_lossy(&a.stdout), String::from_utf8_lossy(&b.stdout));
}

#[test]
fn row_order_changes_no_output_byte() {
    let dir = tempfile::tempdir().unwrap();
    let shuffled = shuffled_copy(dir.path());
    for args in [
        vec!["report", "--format", "csv", "--model", "all"],
        vec!["report", "--format", "csv", "--by", "source-medium"],
        vec!["paths", "--format", "csv"],
        vec!["stitch", "--format", "csv"],
    ] {
        let a = stdout(&[&args[..], &["--config", &tiny()]].concat());
        let b = stdout(&[&args[..], &["--config", &shuffled]].concat());
        assert_eq!(a, b, "{args:?}");
    }
    let c1 = dir.path().join("c1.csv");
    let c2 = dir.path().join("c2.csv");
    tp().args(["report", "--config", &tiny(), "--format", "csv", "--credits"]).arg(&c1).assert().success();
    tp().args(["report", "--config", &shuffled, "--format", "csv", "--credits"]).arg(&c2).assert().success();
    assert_eq!(std::fs::read(c1).unwrap(), std::fs::read(c2).unwrap());
}

#[test]
fn models_command_lists_every_model() {
    let got = stdout(&["models", "--format", "csv"]);
    for m in ["last-click", "last-non-direct", "first-click", "linear", "position-based", "time-decay", "ropo"] {
        assert!(got.contains(&format!("\n{m},")), "{m} missing in {got}");
    }
    assert!(stdout(&["models", "--format", "csv", "--position-weights", "20,20,60"]).contains("position-weights=20,20,60"));
    // The config's [models] are what a run uses, and what `models` shows; options still win.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("touchpath.toml"), "[models]\nhalf_life = \"12h\"\nropo_window = \"1d\"\n").unwrap();
    let out = run_in(dir.path(), &["models", "--format", "csv", "--ropo-window", "3d"]);
    let got = String::from_utf8_lossy(&out.stdout);
    assert!(got.contains("half-life=12h") && got.contains("window=3d"), "{got}");
}

#[test]
fn init_writes_a_config_once() {
    let dir = tempfile::tempdir().unwrap();
    tp().current_dir(dir.path()).arg("init").assert().success();
    assert!(dir.path().join("touchpath.toml").exists());
    tp().current_dir(dir.path()).arg("init").assert().code(2).stderr(predicate::str::contains("--force"));
    tp().current_dir(dir.path()).args(["init", "--force"]).assert().success();
}

#[test]
fn stitch_export_is_hashed() {
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("customers.csv");
    tp().args(["stitch", "--config", &tiny(), "--format", "csv", "--export"]).arg(&map).assert().success();
    let text = std::fs::read_to_string(&map).unwrap();
    assert!(text.starts_with("customer,kind,identifier_sha256\n"));
    for raw in ["79151234567", "ann@mail.ru", "card1", "c1,"] {
        assert!(!text.contains(raw), "{raw} leaked into {text}");
    }
    assert_eq!(text.lines().filter(|l| l.contains(",phone,")).count(), 1, "the shop phone is refused, the customer's is kept");
}

#[test]
fn demo_runs_from_any_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = tp().current_dir(dir.path()).args(["report", "--demo", "--format", "csv", "-v"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(csv.starts_with("model,channel,conversions,revenue,share,cost,cpo,cpa,roas,romi,drr\n"), "{csv}");
    for model in ["last-click", "position-based", "ropo", "markov", "shapley", "fractribution"] {
        assert!(csv.contains(&format!("\n{model},Paid Search,")), "{model} has no Paid Search row");
    }
    let err = String::from_utf8(out.stderr).unwrap();
    for file in ["visits", "calls", "orders", "receipts", "touches", "loyalty", "accounts", "costs"] {
        assert!(err.contains(&format!("demo/{file}.csv [")), "{file} missing from the summary:\n{err}");
    }
    // The demo exports carry deliberately broken rows; each is reported, none is dropped silently.
    assert!(err.contains("`12,5o` is not a number"), "{err}");
    assert!(err.contains("`31.02.2026 10:00:00` is not a date"), "{err}");
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "the demo writes no files");
}

fn run_in(dir: &Path, args: &[&str]) -> std::process::Output {
    tp().current_dir(dir).env("TOUCHPATH_TODAY", "2026-11-24").args(args).output().unwrap()
}

#[test]
fn check_passes_on_its_own_snapshot_and_fails_with_a_readable_diff() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = run_in(d, &["snapshot", "--config", &tiny(), "-o", "base.json", "-m", "last-click,linear"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ok = run_in(d, &["check", "--config", &tiny(), "--baseline", "base.json"]);
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("No differences beyond tolerance"));
    // Report rows are keyed as in a report file's JSON, numbers written as report files write
    // them; a snapshot of an earlier version, keyed `value`, still reads.
    let snap = std::fs::read_to_string(d.join("base.json")).unwrap();
    assert!(snap.contains("\"model\": \"last-click\",\n      \"channel\": \"Email\",\n      \"conversions\": 1,"), "{snap}");
    assert!(!snap.contains("\"value\"") && !snap.contains(".0,"), "{snap}");
    std::fs::write(d.join("old.json"), snap.replace("\"channel\": ", "\"value\": ")).unwrap();
    let old = run_in(d, &["check", "--config", &tiny(), "--baseline", "old.json"]);
    assert_eq!(old.status.code(), Some(0), "{}", String::from_utf8_lossy(&old.stderr));

    // A report file as baseline, with one number moved by more than the tolerance.
    let report = stdout(&["report", "--config", &tiny(), "--format", "csv", "-m", "linear"]);
    let moved = report.replace("linear,Email,0.25,250.125,", "linear,Email,0.3,250.125,");
    assert_ne!(moved, report);
    std::fs::write(d.join("moved.csv"), &moved).unwrap();
    let bad = run_in(d, &["check", "--config", &tiny(), "--baseline", "moved.csv", "--format", "markdown"]);
    assert_eq!(bad.status.code(), Some(3));
    let text = String::from_utf8(bad.stdout).unwrap();
    assert!(text.contains("### 1 difference(s) beyond tolerance"), "{text}");
    assert!(text.contains("| linear | Email | conversions | 0.30 | 0.25 | -0.05 | -16.7% | changed |"), "{text}");
    // Within a 20% relative tolerance the same move passes.
    let tolerant = run_in(d, &["check", "--config", &tiny(), "--baseline", "moved.csv", "--tolerance", "20%"]);
    assert_eq!(tolerant.status.code(), Some(0));
    let json = run_in(d, &["check", "--config", &tiny(), "--baseline", "moved.csv", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["passed"], false);
    assert_eq!(v["differences"][0]["channel"], "Email");
}

#[test]
fn check_tells_data_changes_from_model_changes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let copy = d.join("tiny");
    std::fs::create_dir(&copy).unwrap();
    for f in std::fs::read_dir(root().join("testdata/tiny")).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), copy.join(f.file_name())).unwrap();
    }
    let cfg = copy.join("touchpath.toml").display().to_string();
    assert!(run_in(d, &["snapshot", "--config", &cfg, "-o", "base.json"]).status.success());
    // A different model parameter, same data: the code/setup moved the numbers.
    let setup = run_in(d, &["check", "--config", &cfg, "--baseline", "base.json", "--position-weights", "20,20,60"]);
    assert_eq!(setup.status.code(), Some(3));
    let text = String::from_utf8(setup.stdout).unwrap();
    assert!(text.contains("position-based"), "{text}");
    assert!(text.contains("the inputs are identical"), "{text}");
    // Changed data: the orders file moved the numbers.
    let orders = std::fs::read(copy.join("orders.csv")).unwrap();
    let orders = String::from_utf8(orders).unwrap().replace(";500;c3", ";900;c3");
    std::fs::write(copy.join("orders.csv"), orders).unwrap();
    let data = run_in(d, &["check", "--config", &cfg, "--baseline", "base.json"]);
    assert_eq!(data.status.code(), Some(3));
    let text = String::from_utf8(data.stdout).unwrap();
    assert!(text.contains("the inputs changed since the baseline"), "{text}");
    assert!(text.contains("input orders.csv"), "{text}");
}

#[test]
fn diff_compares_two_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = stdout(&["report", "--config", &tiny(), "--format", "csv", "-m", "last-click,linear"]);
    std::fs::write(d.join("a.csv"), &a).unwrap();
    let json = stdout(&["report", "--config", &tiny(), "--format", "json", "-m", "last-click,linear"]);
    std::fs::write(d.join("a.json"), &json).unwrap();
    let same = run_in(d, &["diff", "a.csv", "a.json"]);
    assert_eq!(same.status.code(), Some(0), "{}", String::from_utf8_lossy(&same.stderr));
    let b = a
        .replace("last-click,Email,1,1000.5,", "last-click,Email,1,1100.5,")
        .replace("linear,Organic Social,", "linear,Organic Social (old),");
    std::fs::write(d.join("b.csv"), b).unwrap();
    let out = run_in(d, &["diff", "a.csv", "b.csv", "--format", "csv"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "model,channel,metric,baseline,current,difference,relative,change\n\
         last-click,Email,revenue,1000.5,1100.5,100,0.09995002498750624,changed\n\
         linear,Organic Social,conversions,0.25,,,,vanished\n\
         linear,Organic Social,revenue,250.125,,,,vanished\n\
         linear,Organic Social (old),conversions,,0.25,,,new\n\
         linear,Organic Social (old),revenue,,250.125,,,new\n"
    );
    assert_eq!(run_in(d, &["diff", "a.csv", "missing.csv"]).status.code(), Some(1));
}

#[test]
fn cron_runs_dated_names_relative_dates_and_a_clean_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("reports")).unwrap();
    let out = run_in(d, &["report", "--config", &tiny(), "-m", "linear", "--output", "reports/channels-{date}.csv"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
    assert!(d.join("reports/channels-2026-11-24.csv").exists());
    let from_to =
        run_in(d, &["report", "--config", &tiny(), "-m", "linear", "--format", "csv", "--from", "2026-09-01", "--to", "30.09.2026"]);
    let period = run_in(d, &["report", "--config", &tiny(), "-m", "linear", "--format", "csv", "--period", "2026-09"]);
    assert_eq!(from_to.stdout, period.stdout);
    // TOUCHPATH_TODAY is 2026-11-24: -85d is 2026-08-31, 85 days back.
    let relative = run_in(d, &["report", "--config", &tiny(), "-m", "linear", "--format", "csv", "--from", "-85d", "--to", "yesterday"]);
    let absolute =
        run_in(d, &["report", "--config", &tiny(), "-m", "linear", "--format", "csv", "--from", "2026-08-31", "--to", "2026-11-23"]);
    assert_eq!(relative.stdout, absolute.stdout);
    assert!(String::from_utf8_lossy(&relative.stdout).contains("linear,Direct,0.5,250,"), "o2 on 31.08 is in");
    // With -v the summary and timings go to stderr; stdout is exactly the report.
    let verbose = run_in(d, &["report", "--config", &tiny(), "-m", "linear", "--format", "csv", "-v"]);
    assert_eq!(verbose.stdout, run_in(d, &["report", "--config", &tiny(), "-m", "linear", "--format", "csv", "-q"]).stdout);
    let err = String::from_utf8(verbose.stderr).unwrap();
    assert!(err.contains("Inputs (rows read") && err.contains("Timings:") && err.contains("models"), "{err}");
    assert!(err.contains(" MiB (estimated 256 MiB)"), "the tiny inputs' estimate is the fixed part: {err}");
    assert_eq!(run_in(d, &["report", "--config", &tiny(), "--period", "2026-13"]).status.code(), Some(2));
    assert_eq!(run_in(d, &["report", "--config", &tiny(), "-o", "r-{day}.csv"]).status.code(), Some(2));
}

#[test]
fn json_logs_are_one_object_per_line() {
    let out = tp().args(["report", "--config", &tiny(), "--format", "csv", "-v", "--log-format", "json"]).output().unwrap();
    assert!(out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    let events: Vec<serde_json::Value> = err.lines().map(|l| serde_json::from_str(l).expect(l)).collect();
    let inputs = events.iter().find(|e| e["event"] == "inputs").expect("an inputs event");
    assert_eq!(inputs["files"][0]["rows_read"], 10);
    let timings = events.iter().find(|e| e["event"] == "timings").expect("a timings event");
    let stages = timings["stages"].as_array().expect("stages");
    let estimate = timings["estimated_memory_bytes"].as_u64().expect("an estimate");
    assert!((256 << 20..257 << 20).contains(&estimate), "{estimate}");
    assert_eq!(
        stages.iter().map(|s| s["stage"].as_str().unwrap()).collect::<Vec<_>>(),
        ["load+normalize", "stitch", "paths", "models", "write"]
    );
    // Steps split a stage's wall time: named, in order, and never more than the stage took.
    for s in stages {
        let steps = s["steps"].as_array().expect("steps");
        let sum: f64 = steps.iter().map(|st| st["seconds"].as_f64().unwrap()).sum();
        assert!(sum <= s["seconds"].as_f64().unwrap() + 1e-9, "{s}");
    }
    let names = |stage: usize| {
        stages[stage]["steps"].as_array().unwrap().iter().map(|s| s["step"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    assert_eq!(names(1).last().map(String::as_str), Some("customers numbered"), "{:?}", names(1));
    // `all` takes in Markov and Shapley, which learn from the non-converting journeys too.
    assert!(names(2).contains(&"other paths listed".to_string()), "{:?}", names(2));
    assert!(names(0).starts_with(&["read and normalized".to_string(), "keys listed".to_string()]), "{:?}", names(0));
    assert_eq!(names(3), ["labels", "journey sequences", "models learned", "paths selected", "credited", "summed", "ROPO rate"]);
    if cfg!(target_os = "linux") {
        // CPU time per stage is the process's, in hundredths of a second, never negative.
        for s in stages.iter().chain([timings]) {
            for k in ["user_seconds", "system_seconds"] {
                let v = s[k].as_f64().unwrap_or_else(|| panic!("{k} in {s}"));
                assert!(v >= 0.0 && (v * 100.0 - (v * 100.0).round()).abs() < 1e-6, "{k} = {v}");
            }
        }
    }
    // Heuristic models credit converting paths only: the others are not built.
    let out = tp()
        .args(["report", "--config", &tiny(), "-m", "linear,ropo", "--format", "csv", "--timings", "--log-format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    let timings: serde_json::Value =
        err.lines().map(|l| serde_json::from_str(l).unwrap()).find(|e: &serde_json::Value| e["event"] == "timings").unwrap();
    let paths = timings["stages"][2]["steps"].as_array().unwrap().iter().map(|s| s["step"].as_str().unwrap()).collect::<Vec<_>>();
    assert_eq!(paths.last(), Some(&"converting paths"), "{paths:?}");
    let fail = tp().args(["report", "--config", "nope.toml", "--log-format", "json"]).output().unwrap();
    let line: serde_json::Value = serde_json::from_slice(fail.stderr.trim_ascii()).unwrap();
    assert_eq!(line["level"], "error");
    assert_eq!(line["exit_code"], fail.status.code().unwrap());
}

#[test]
fn overlapping_runs_on_one_output_wait_for_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let lock = std::fs::File::create(dir.path().join(".r.csv.lock")).unwrap();
    lock.lock().unwrap();
    let out = run_in(dir.path(), &["report", "--config", &tiny(), "-o", "r.csv", "--lock-wait", "1s"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("another touchpath run is writing r.csv"));
    assert!(!dir.path().join("r.csv").exists());
    lock.unlock().unwrap();
    assert!(run_in(dir.path(), &["report", "--config", &tiny(), "-o", "r.csv", "--lock-wait", "1s"]).status.success());
}

#[test]
fn costs_give_return_figures() {
    let cfg = root().join("testdata/tiny/touchpath-costs.toml").display().to_string();
    let got = stdout(&["report", "--config", &cfg, "--format", "csv", "-m", "last-click,linear", "-q"]);
    let want = "model,channel,conversions,revenue,share,cost,cpo,cpa,roas,romi,drr
last-click,\"(offline, no online touch)\",5,800,0.5555555555555556,0,0,0,,,0
last-click,Direct,1,500,0.1111111111111111,0,0,0,,,0
last-click,Display,0,0,0,200,,,0,-1,
last-click,Email,1,1000.5,0.1111111111111111,0,0,0,,,0
last-click,Organic Search,1,100,0.1111111111111111,0,0,0,,,0
last-click,Organic Social,0,0,0,0,,,,,
last-click,Paid Search,1,250,0.1111111111111111,1750,1750,1750,0.14285714285714285,-0.8571428571428571,7
last-click,Paid Social,0,0,0,300,,,0,-1,
linear,\"(offline, no online touch)\",5,800,0.5555555555555556,0,0,0,,,0
linear,Direct,0.5,250,0.05555555555555555,0,0,0,,,0
linear,Display,0,0,0,200,,,0,-1,
linear,Email,0.25,250.125,0.027777777777777776,0,0,0,,,0
linear,Organic Search,1,100,0.1111111111111111,0,0,0,,,0
linear,Organic Social,0.25,250.125,0.027777777777777776,0,0,0,,,0
linear,Paid Search,1.75,750.125,0.19444444444444445,1750,1000,1000,0.42864285714285716,-0.5713571428571429,2.3329445092484584
linear,Paid Social,0.25,250.125,0.027777777777777776,300,1200,1200,0.83375,-0.16625,1.199400299850075
";
    assert_eq!(got, want);
    // With costs read, a file has the return columns even when no row is left.
    let none = stdout(&["report", "--config", &cfg, "--format", "csv", "-m", "last-click", "-q", "--from", "2030-01-01"]);
    assert_eq!(none, "model,channel,conversions,revenue,share,cost,cpo,cpa,roas,romi,drr\n");
    // September only: the spend of that month against the conversions of that month.
    let sept = stdout(&["report", "--config", &cfg, "--format", "csv", "-m", "last-click", "-q", "--period", "2026-09"]);
    assert!(sept.contains("last-click,Paid Search,0,0,0,1000,,,0,-1,\n"), "{sept}");
    assert!(sept.contains("last-click,Email,1,1000.5,0.14285714285714285,0,0,0,,,0\n"), "{sept}");
    // By campaign: a campaign with spend and no tagged visit is still a row.
    let by = stdout(&["report", "--config", &cfg, "--format", "csv", "-m", "last-click", "-q", "--by", "campaign"]);
    assert!(by.contains("last-click,generic,1,250,0.1111111111111111,250,250,250,1,0,1\n"), "{by}");
    let human = stdout(&["report", "--config", &cfg, "-m", "linear", "-q"]);
    assert!(human.contains("Costs and return under linear") && human.contains("ДРР"), "{human}");
    // The USD row is rejected, not converted or dropped silently.
    let out = tp().args(["report", "--config", &cfg, "-v", "--format", "csv"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("costs.csv [costs]: 6 read, 5 used, 0 filtered, 1 rejected"));
}

#[test]
fn journey_roles_and_cohorts() {
    let roles = stdout(&["paths", "--config", &tiny(), "--format", "csv", "--section", "roles", "-q"]);
    assert_eq!(
        roles,
        "channel,conversions,first,middle,last,assisted,assisted_revenue,last_revenue,assist_ratio\n\
         Direct,1,0,0,1,0,0,500,0\n\
         Email,1,0,0,1,0,0,1000.5,0\n\
         Organic Search,1,1,0,1,0,0,100,0\n\
         Organic Social,1,0,1,0,1,1000.5,0,\n\
         Paid Search,3,3,0,1,2,1500.5,250,2\n\
         Paid Social,1,0,1,0,1,1000.5,0,\n"
    );
    let cohorts = stdout(&["paths", "--config", &tiny(), "--format", "csv", "--section", "cohorts", "-q"]);
    assert_eq!(
        cohorts,
        "cohort,customers,months_after,conversions,revenue\n\
         2026-08,1,0,1,500\n\
         2026-09,3,0,4,1600.5\n\
         2026-10,1,0,1,250\n\
         (no touch),3,,3,300\n"
    );
    // Purchases before the first touch are month −1, a number like the others.
    let demo = stdout(&["paths", "--demo", "--format", "csv", "--section", "cohorts", "-q"]);
    assert!(demo.lines().any(|l| l.split(',').nth(2) == Some("-1")), "{demo}");
    // Without --section a file still gets the path table, in the path-table input format.
    assert!(stdout(&["paths", "--config", &tiny(), "--format", "csv", "-q"]).starts_with("path,conversions,conversion_value,nulls\n"));
    let screen = stdout(&["paths", "--config", &tiny(), "-q"]);
    for title in ["Top conversion paths", "Path length", "Time lag", "Channel roles", "Conversions by month of first touch"] {
        assert!(screen.contains(title), "{title} missing");
    }
    tp().args(["paths", "--config", &tiny(), "--section", "funnels"]).assert().code(2);
}

#[test]
fn rejected_rows_never_carry_raw_phones_or_emails() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("touchpath.toml"),
        "[[sources]]\nkind = \"visits\"\npath = \"v.csv\"\n[[sources]]\nkind = \"orders\"\npath = \"o.csv\"\n",
    )
    .unwrap();
    std::fs::write(d.join("o.csv"), "order_id,created_at,revenue,client_id\no1,02.09.2026 10:00,100,c1\n").unwrap();
    std::fs::write(
        d.join("v.csv"),
        "client_id;started_at;phone;email\nc1;01.09.2026 10:00;+7 915 123-45-67;ann@mail.ru\nc2;01.09.2026;8 (916) 765-43-21;bob@mail.ru;extra\nc3;yesterday-ish;89161112233;eve@mail.ru\n",
    )
    .unwrap();
    let out = tp().current_dir(d).args(["report", "-v", "--format", "csv", "--rejects", "rej.csv"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rejects = std::fs::read_to_string(d.join("rej.csv")).unwrap();
    assert_eq!(rejects.lines().count(), 3, "{rejects}");
    let everything = format!("{rejects}{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    for raw in ["765-43-21", "bob@mail.ru", "89161112233", "eve@mail.ru", "123-45-67", "ann@mail.ru"] {
        assert!(!everything.contains(raw), "`{raw}` leaked:\n{everything}");
    }
}

#[test]
fn channels_lists_rules_and_explains_a_visit() {
    let got = stdout(&["channels", "--explain", "utm_source=yandex&utm_medium=cpc", "--format", "csv"]);
    assert!(got.contains("read from,the UTM tags\n") && got.contains("channel,Paid Search\n"), "{got}");
    let got = stdout(&["channels", "--explain", "referrer=https://yandex.ru/search/?text=sofa", "--format", "csv"]);
    assert!(got.contains("medium,organic\n") && got.contains("channel,Organic Search\n"), "{got}");
    // The site's own pages are no source: a visit from them is Direct.
    let got = stdout(&["channels", "--config", &tiny(), "--explain", "referrer=https://shop.test/cart", "--format", "csv"]);
    assert!(got.contains("channel,Direct\n"), "{got}");
    let rules = stdout(&["channels", "--format", "csv"]);
    assert!(rules.starts_with("rule,channel,source,medium,campaign,referrer\ndefault rule 1,Direct,"), "{rules}");
    tp().args(["channels", "--explain", "hello"]).assert().code(2);
}

#[test]
fn windows_1251_russian_export_equals_its_utf8_iso_twin() {
    let ru = root().join("testdata/twins/ru/touchpath.toml").display().to_string();
    let iso = root().join("testdata/twins/iso/touchpath.toml").display().to_string();
    let a = stdout(&["report", "--config", &ru, "--format", "csv", "-q"]);
    let b = stdout(&["report", "--config", &iso, "--format", "csv", "-q"]);
    assert_eq!(a, b);
    assert!(a.contains("linear,Paid Search,1.5,7672.75,"), "{a}");
    // And the Russian files really are what they claim to be.
    let raw = std::fs::read(root().join("testdata/twins/ru/orders.csv")).unwrap();
    assert!(std::str::from_utf8(&raw).is_err(), "the Russian twin is Windows-1251");
    let text = encoding_rs::WINDOWS_1251.decode(&raw).0;
    assert!(text.contains("12 345,50;c1") && text.contains("04.09.2026 11:00"), "{text}");
}

#[test]
fn utf16_exports_as_excel_saves_them_read_like_their_windows_1251_twins() {
    // Excel's "Unicode text" is UTF-16LE with a byte-order mark, tab-separated; also one
    // big-endian and one gzip-compressed. The report must not change.
    let dir = tempfile::tempdir().unwrap();
    let ru = root().join("testdata/twins/ru");
    std::fs::copy(ru.join("touchpath.toml"), dir.path().join("touchpath.toml")).unwrap();
    for (name, big_endian, gzip) in [("visits", false, false), ("orders", true, false), ("receipts", false, true)] {
        let raw = std::fs::read(ru.join(format!("{name}.csv"))).unwrap();
        let text = encoding_rs::WINDOWS_1251.decode_without_bom_handling(&raw).0.replace(';', "\t");
        assert!(text.contains('\t') && text.chars().any(|c| ('а'..='я').contains(&c)), "{name}");
        let mut bytes: Vec<u8> = if big_endian { vec![0xFE, 0xFF] } else { vec![0xFF, 0xFE] };
        for unit in text.encode_utf16() {
            bytes.extend_from_slice(&if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
        }
        if gzip {
            use std::io::Write;
            let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            z.write_all(&bytes).unwrap();
            bytes = z.finish().unwrap();
        }
        std::fs::write(dir.path().join(format!("{name}.csv")), bytes).unwrap();
    }
    let cfg = dir.path().join("touchpath.toml").display().to_string();
    let args = ["report", "--format", "csv", "-q", "--model", "all", "--config"];
    let want = stdout(&[&args[..], &[&ru.join("touchpath.toml").display().to_string()]].concat());
    assert_eq!(stdout(&[&args[..], &[&cfg]].concat()), want);
    let visits = dir.path().join("visits.csv").display().to_string();
    let seen = stdout(&["inspect", &visits, "--kind", "visits"]);
    assert!(seen.contains("encoding utf-16le, delimiter tab, 6 rows (0 unreadable)"), "{seen}");
}

#[test]
fn parquet_twins_of_the_tiny_exports_give_the_same_report() {
    // Every tiny export as Parquet text columns, an empty field as a null, two rows per row
    // group: the report must not change.
    let dir = tempfile::tempdir().unwrap();
    let tiny_dir = root().join("testdata/tiny");
    let mut config = std::fs::read_to_string(tiny_dir.join("touchpath.toml")).unwrap();
    for name in ["visits", "calls", "orders", "receipts", "links"] {
        let text = std::fs::read_to_string(tiny_dir.join(format!("{name}.csv"))).unwrap();
        let delimiter = if text.lines().next().unwrap().contains(';') { b';' } else { b',' };
        common::csv_to_parquet(&text, delimiter, Some(2), &dir.path().join(format!("{name}.parquet")));
        config = config.replace(&format!("\"{name}.csv\""), &format!("\"{name}.parquet\""));
    }
    let cfg = dir.path().join("touchpath.toml");
    std::fs::write(&cfg, &config).unwrap();
    assert!(!config.contains(".csv"));
    let args = ["report", "--format", "csv", "--model", "all"];
    let want = stdout(&[&args[..], &["--config", &tiny()]].concat());
    let got = stdout(&[&args[..], &["--config", cfg.to_str().unwrap()]].concat());
    assert_eq!(got, want);
}

#[test]
fn a_malformed_parquet_file_is_an_error_not_a_crash() {
    // Found by the parquet_export fuzz target: the Parquet reader panics on the first file's
    // metadata, and the second's asks it for 185 GB.
    for name in ["malformed.parquet", "allocation-bomb.parquet"] {
        let file = root().join("testdata/broken").join(name);
        let out = tp().arg("inspect").arg(&file).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{name}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains("not a readable Parquet file"), "{name}: {err}");
        assert!(!err.contains("panicked") && !err.contains("memory allocation"), "{name}: {err}");
    }
}

#[test]
fn customer_metrics_are_exact_on_the_hand_built_fixture() {
    let cfg = root().join("testdata/customers/touchpath.toml").display().to_string();
    let got = stdout(&["customers", "--config", &cfg, "--format", "csv", "-q"]);
    let dir = root().join("testdata/customers").display().to_string();
    let got = got.replace(&format!("{dir}/"), "");
    let want = r#"section,metric,segment,value
coverage,identified buyers,all,5
coverage,unidentified purchases (no customer identifier),all,1
coverage,revenue of unidentified purchases,all,300
match,records,orders.csv (orders),3
match,share tied to a customer with web visits,orders.csv (orders),1
match,records,receipts.csv (receipts),5
match,share tied to a customer with web visits,receipts.csv (receipts),0.6
multichannel,share of buyers by channels touched before the first purchase,0 (no touch),0.2
multichannel,share of buyers by channels touched before the first purchase,1,0.4
multichannel,share of buyers by channels touched before the first purchase,2,0.4
multichannel,share of buyers by channels touched before the first purchase,3+,0
multichannel,share of buyers buying both online and offline,all,0.2
multichannel,average days from first touch to first purchase,first touch Display,70
multichannel,average days from first touch to first purchase,first touch Organic Search,3
multichannel,average days from first touch to first purchase,first touch Organic Social,1
multichannel,average days from first touch to first purchase,first touch Paid Search,4
multichannel,average days from first touch to first purchase,first purchase online,2.5
multichannel,average days from first touch to first purchase,first purchase offline,36.5
ropo,offline buyers,all,4
ropo,share of offline buyers with an online touch before a purchase,in the ROPO window,0.75
ropo,share of offline buyers with an online touch before a purchase,in the lookback,0.75
ropo,offline purchases,new contact,1
ropo,share with an online touch in the ROPO window,new contact,1
ropo,share with an online touch in the lookback,new contact,1
ropo,offline purchases,"known contact, never bought",1
ropo,share with an online touch in the ROPO window,"known contact, never bought",1
ropo,share with an online touch in the lookback,"known contact, never bought",1
ropo,offline purchases,previous buyer,1
ropo,share with an online touch in the ROPO window,previous buyer,1
ropo,share with an online touch in the lookback,previous buyer,1
ropo,offline purchases,no online touch in the lookback,1
value,average order value,online purchases,1500
value,average order value,offline purchases,1350
value,average order value,customers buying online and offline,1000
value,repeat purchase rate,identified buyers,0.4
retention,buyers in the cohort (month of first purchase),2026-06,1
retention,share buying again in month +3,2026-06,1
retention,buyers in the cohort (month of first purchase),2026-07,4
ltv,customers,first touch (no touch),1
ltv,revenue per customer to date,first touch (no touch),700
ltv,customers,first touch Display,1
ltv,revenue per customer to date,first touch Display,1200
ltv,customers,first touch Organic Search,1
ltv,revenue per customer to date,first touch Organic Search,2000
ltv,customers,first touch Organic Social,1
ltv,revenue per customer to date,first touch Organic Social,2000
ltv,customers,first touch Paid Search,1
ltv,revenue per customer to date,first touch Paid Search,4000
ltv,customers,first touch Referral,1
ltv,revenue per customer to date,first touch Referral,0
ltv,revenue per customer to date,acquired 2026-06,4000
ltv,revenue per customer to date,acquired 2026-07,1475
"#;
    assert_eq!(got, want);
    let screen = stdout(&["customers", "--config", &cfg, "-q"]);
    for title in ["Coverage", "Match rate", "Multichannel", "ROPO", "Order value", "Retention", "LTV"] {
        assert!(screen.contains(title), "{title} missing");
    }
}
