//! The `touchpath` binary: parses the command line, runs the library, maps the result to an exit
//! code (0 ok, 1 data or runtime error, 2 usage error).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = touchpath::cli::Cli::parse();
    match touchpath::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(touchpath::exit_code(&e))
        }
    }
}
