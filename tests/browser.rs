//! The HTML report in a real browser: headless Chromium opens the demo report, and the page's
//! own load check must say that every chart rendered and no script failed.
//!
//! CI installs Chromium and sets `TOUCHPATH_REQUIRE_BROWSER=1`, so there a missing browser fails
//! the test; on a machine without Chromium it is skipped with a message.

use std::path::PathBuf;
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

#[test]
fn html_report_renders_its_charts_in_chromium() {
    let Some(browser) = chromium() else {
        assert!(std::env::var_os("TOUCHPATH_REQUIRE_BROWSER").is_none(), "TOUCHPATH_REQUIRE_BROWSER is set but no Chromium was found");
        eprintln!("skipped: no chromium on PATH");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let out = assert_cmd::Command::cargo_bin("touchpath").unwrap().args(["report", "--demo", "-q", "-o"]).arg(&page).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("Costs and return under") && html.contains("Time lag") && html.contains("Multichannel behaviour"),
        "sections missing"
    );
    let dom = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", dir.path().join("profile").display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    let body = dom.split("<body").nth(1).and_then(|b| b.split('>').next()).unwrap_or_default().to_string();
    assert!(body.contains("data-rendered=\"ok\""), "the page reported a problem: <body{body}>");
    assert!(body.contains("data-errors=\"\""), "script errors: <body{body}>");
    let charts: usize = body.split("data-charts=\"").nth(1).and_then(|s| s.split('"').next()).and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(charts >= 8, "expected the credit, ROPO, cost and journey charts, got {charts}");
}
