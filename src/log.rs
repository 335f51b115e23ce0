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
static STAGES: Mutex<Vec<Stage>> = Mutex::new(Vec::new());
/// The memory the run was expected to need (its inputs, and the credits table with `--credits`),
/// shown beside its peak.
static ESTIMATE: Mutex<Option<u64>> = Mutex::new(None);
/// Steps of the stage under way, and when the last one ended.
static STEPS: Mutex<Steps> = Mutex::new((Vec::new(), None));
type Steps = (Vec<(&'static str, f64)>, Option<Instant>);

/// One timed stage: its name, wall seconds, CPU seconds spent by the whole process during it
/// (user and system), and the process's peak memory at its end.
#[derive(Clone, Debug)]
struct Stage {
    name: &'static str,
    seconds: f64,
    cpu: Option<Cpu>,
    peak: Option<u64>,
    /// Wall seconds of the stage's named steps, in order (see [`step`]).
    steps: Vec<(&'static str, f64)>,
}

/// CPU time of the process, in seconds. System time shows where a stage pays for fresh memory
/// (page faults), which on virtual machines can cost as much as the work itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cpu {
    /// In ticks of 1/100 s, so that differences are exact.
    user: u64,
    system: u64,
}

impl Cpu {
    fn since(self, start: Cpu) -> Cpu {
        Cpu { user: self.user.saturating_sub(start.user), system: self.system.saturating_sub(start.system) }
    }

    pub fn user_seconds(self) -> f64 {
        self.user as f64 / 100.0
    }

    pub fn system_seconds(self) -> f64 {
        self.system as f64 / 100.0
    }
}

/// CPU time used by the process so far, all threads (Linux; `None` elsewhere). `/proc` counts it
/// in ticks of 1/100 s on every Linux architecture.
pub fn cpu_time() -> Option<Cpu> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces; the fields after it are plain numbers.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let mut ticks = || fields.next().and_then(|f| f.parse::<u64>().ok());
    Some(Cpu { user: ticks()?, system: ticks()? })
}

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
    let (start, cpu) = (Instant::now(), cpu_time());
    if let Ok(mut s) = STEPS.lock() {
        *s = (Vec::new(), Some(start));
    }
    let out = f();
    let seconds = start.elapsed().as_secs_f64();
    let cpu = cpu.zip(cpu_time()).map(|(a, b)| b.since(a));
    let steps = STEPS.lock().map(|mut s| std::mem::take(&mut *s).0).unwrap_or_default();
    if let Ok(mut s) = STAGES.lock() {
        s.push(Stage { name, seconds, cpu, peak: peak_memory(), steps });
    }
    out
}

/// Adds to the memory the run is expected to need (its inputs, then the credits table), for
/// `timings` to show beside the peak.
pub fn add_memory_estimate(bytes: u64) {
    if let Ok(mut e) = ESTIMATE.lock() {
        *e = Some(e.unwrap_or(0).saturating_add(bytes));
    }
}

/// Ends a named step of the stage under way: `--timings` shows the wall time since the stage's
/// start or its previous step, so that a stage's time can be told apart without a profiler.
/// Outside a stage it does nothing.
pub fn step(name: &'static str) {
    if let Ok(mut s) = STEPS.lock() {
        if let Some(last) = s.1 {
            let now = Instant::now();
            s.0.push((name, (now - last).as_secs_f64()));
            s.1 = Some(now);
        }
    }
}

/// Prints the per-stage breakdown recorded so far.
pub fn timings(total: f64) {
    let stages = STAGES.lock().map(|s| s.clone()).unwrap_or_default();
    let estimate = ESTIMATE.lock().map(|e| *e).unwrap_or_default();
    if json_mode() {
        let (user, system) = (|c: &Option<Cpu>| c.map(Cpu::user_seconds), |c: &Option<Cpu>| c.map(Cpu::system_seconds));
        let list: Vec<Value> = stages
            .iter()
            .map(|st| {
                let steps: Vec<Value> = st.steps.iter().map(|(n, t)| json!({"step": n, "seconds": t})).collect();
                json!({"stage": st.name, "seconds": st.seconds, "user_seconds": user(&st.cpu), "system_seconds": system(&st.cpu),
                       "peak_memory_bytes": st.peak, "steps": steps})
            })
            .collect();
        let now = cpu_time();
        let event = json!({"level": "info", "event": "timings", "stages": list, "total_seconds": total,
                           "user_seconds": user(&now), "system_seconds": system(&now), "peak_memory_bytes": peak_memory(), "estimated_memory_bytes": estimate});
        eprintln!("{event}");
    } else {
        // The peak is the process's so far: a stage that adds nothing to it shows the same figure.
        let mib = |m: &Option<u64>| m.map(|b| format!("   peak {:>6} MiB", b / (1 << 20))).unwrap_or_default();
        // CPU above wall time means the stage ran on several cores.
        let cpu = |c: &Option<Cpu>| {
            c.map(|c| format!("   cpu {:>8.2} s (system {:>7.2} s)", c.user_seconds() + c.system_seconds(), c.system_seconds()))
                .unwrap_or_default()
        };
        let mut text = String::from("Timings:");
        for st in &stages {
            text.push_str(&format!("\n  {:<16} {:>9.3} s{}{}", st.name, st.seconds, cpu(&st.cpu), mib(&st.peak)));
            for (step, seconds) in &st.steps {
                text.push_str(&format!("\n    {step:<22} {seconds:>7.3} s"));
            }
        }
        text.push_str(&format!("\n  {:<16} {total:>9.3} s{}{}", "total", cpu(&cpu_time()), mib(&peak_memory())));
        // Beside the peak, so that a run whose inputs are refused for their size can be judged.
        if let Some(e) = estimate {
            text.push_str(&format!(" (estimated {} MiB)", e / (1 << 20)));
        }
        eprintln!("{text}");
    }
}
