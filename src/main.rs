//! The `touchpath` binary: parses the command line, runs the library, maps the result to an exit
//! code (0 ok, 1 data or runtime error, 2 usage error, 3 `check`/`diff` found differences).

use std::process::ExitCode;

use clap::Parser;

// Normalization allocates many small strings on every core; mimalloc keeps that from
// serializing on the system allocator's locks.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = touchpath::cli::Cli::parse();
    match touchpath::run(cli) {
        Ok(code) => code,
        Err(e) => ExitCode::from(touchpath::report_error(&e)),
    }
}
