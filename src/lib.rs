//! touchpath: end-to-end marketing attribution from the exports a business already has.
//!
//! The data flows one way, one module per stage:
//! [`io`] (load) → [`normalize`] → [`identity`] (stitch) → [`paths`] → [`models`] →
//! [`reports`] → [`output`] (write). [`commands`] wires the stages for each subcommand;
//! [`cli`] holds the clap types and [`config`] the validated configuration.

pub mod channels;
pub mod cli;
pub mod commands;
pub mod config;
pub mod identity;
pub mod intern;
pub mod io;
pub mod log;
pub mod models;
pub mod normalize;
pub mod output;
pub mod paths;
pub mod reports;
pub mod summary;

use std::fmt;
use std::process::ExitCode;

/// An error in how the tool was called (exit code 2), as opposed to a data or runtime error.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Exit code of `check` and `diff` when numbers moved beyond tolerance.
pub const EXIT_REGRESSION: u8 = 3;

/// The exit code for an error: 2 for usage errors, 1 for everything else.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    if e.chain().any(|c| c.downcast_ref::<UsageError>().is_some()) {
        2
    } else {
        1
    }
}

/// Runs a parsed command line.
pub fn run(cli: cli::Cli) -> anyhow::Result<ExitCode> {
    // Panics the Parquet reader raises on malformed files are caught and reported as errors
    // (see io::parquet); its own panic message would only be noise before that error.
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !info.location().is_some_and(|l| l.file().contains("polars-parquet")) {
            default(info);
        }
    }));
    commands::dispatch(cli)
}

/// Prints the error that ended a run (as text or JSON, per `--log-format`) and returns its exit code.
pub fn report_error(e: &anyhow::Error) -> u8 {
    let code = exit_code(e);
    log::error(e, code);
    code
}
