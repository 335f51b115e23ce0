//! Messages on stderr — the input summary, warnings, per-stage timings, errors — as plain lines
//! for people or as JSON lines for log collectors (`--log-format json`). stdout never carries
//! them: it is reserved for the report.

use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use serde_json::{json, Value};

use crate::summary::RunSummary;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    pub fn parse(s: &str) -> Result<LogFormat, String> {
        match s.trim() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("`{other}` is not a log format (text, json)")),
        }
    }
}

static FORMAT: OnceLock<LogFormat> = OnceLock::new();
static STAGES: Mutex<Vec<(&'static str, f64, Option<u64>)>> = Mutex::new(Vec::new());

/// Peak resident memory of the process so far, in bytes (Linux; `None` elsewhere).
pub fn peak_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kb * 1024)
}

/// Sets the format once per process; later calls keep the first (tests run many commands).
pub fn init(f: LogFormat) {
    let _ = FORMAT.set(f);
}

fn json_mode() -> bool {
    FORMAT.get() == Some(&LogFormat::Json)
}

fn line(level: &str, event: &str, message: &str, mut fields: Value) {
    if json_mode() {
        if let Value::Object(m) = &mut fields {
            m.insert("level".into(), level.into());
            m.insert("event".into(), event.into());
            m.insert("message".into(), message.into());
        }
        eprintln!("{fields}");
    } else {
        eprintln!("{message}");
    }
}

pub fn warn(message: &str) {
    line("warning", "warning", &format!("warning: {message}"), json!({}));
}

pub fn info(event: &str, message: &str) {
    line("info", event, message, json!({}));
}

/// The error that ends a run, with the exit code it maps to.
pub fn error(e: &anyhow::Error, code: u8) {
    let message = format!("{e:#}");
    if json_mode() {
        eprintln!("{}", json!({"level": "error", "event": "error", "message": message, "exit_code": code}));
    } else {
        eprintln!("error: {message}");
    }
}

/// The input summary: per file, rows read, used, filtered by rule and rejected by reason.
pub fn summary(s: &RunSummary) {
    if json_mode() {
        let files = serde_json::to_value(&s.files).unwrap_or(Value::Null);
        eprintln!("{}", json!({"level": "info", "event": "inputs", "files": files, "notes": s.notes}));
    } else {
        eprint!("{}", s.render());
    }
}

/// Times a stage of the pipeline; `timings` prints them.
pub fn stage<T>(name: &'static str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    if let Ok(mut s) = STAGES.lock() {
        s.push((name, start.elapsed().as_secs_f64(), peak_memory()));
    }
    out
}

/// Prints the per-stage breakdown recorded so far.
pub fn timings(total: f64) {
    let stages = STAGES.lock().map(|s| s.clone()).unwrap_or_default();
    if json_mode() {
        let list: Vec<Value> = stages.iter().map(|(n, s, m)| json!({"stage": n, "seconds": s, "peak_memory_bytes": m})).collect();
        eprintln!(
            "{}",
            json!({"level": "info", "event": "timings", "stages": list, "total_seconds": total, "peak_memory_bytes": peak_memory()})
        );
    } else {
        // The peak is the process's so far: a stage that adds nothing to it shows the same figure.
        let mib = |m: &Option<u64>| m.map(|b| format!("   peak {:>6} MiB", b / (1 << 20))).unwrap_or_default();
        let mut text = String::from("Timings:");
        for (n, s, m) in &stages {
            text.push_str(&format!("\n  {n:<16} {s:>9.3} s{}", mib(m)));
        }
        text.push_str(&format!("\n  {:<16} {total:>9.3} s{}", "total", mib(&peak_memory())));
        eprintln!("{text}");
    }
}
