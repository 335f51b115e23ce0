//! `touchpath markov`: the Markov chain behind the `markov` model — removal effects per channel
//! and, with `--transitions`, the transition matrix.

use std::path::Path;

use anyhow::{bail, Result};

use super::Verbosity;
use crate::cli::MarkovArgs;

pub fn run(_cfg_path: Option<&Path>, _a: MarkovArgs, _v: Verbosity) -> Result<()> {
    bail!("the markov command is not available in this build yet")
}
