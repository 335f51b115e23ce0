//! Attribution models as plugins: one file per model behind the [`Model`] trait, all listed in
//! [`registry`]. The pipeline only ever sees `dyn Model`, so adding a model touches this list and
//! nothing else.
//!
//! Shared conventions (see README, "Models"):
//! - each conversion's credits sum to 1, and its revenue credit to its revenue;
//! - repeated channels in a path add up;
//! - a conversion with no touch in its window is credited to `Direct` when it is an online order,
//!   and to `(offline, no online touch)` when it is a store receipt.

mod first_click;
mod fractribution;
pub(crate) mod journeys;
pub mod labels;
mod last_click;
mod last_non_direct;
mod linear;
pub mod markov;
mod position_based;
pub mod ropo;
mod shapley;
mod time_decay;

use anyhow::{bail, Result};

use crate::channels;
use crate::config::ModelParams;
use crate::paths::{Journeys, PTouch, Path, PathSet};
use labels::Labels;

/// What receives credit: a touch of the path, or a named bucket for conversions without one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    /// Index into `PathSet::touches`.
    Touch(u32),
    Bucket(&'static str),
    /// A label of the report dimension (`Labels::names`), for models that learn over labels
    /// rather than credit single touches.
    Label(u32),
}

/// A share of one conversion.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Credit {
    pub target: Target,
    pub weight: f64,
}

/// An attribution model.
pub trait Model: Send + Sync {
    /// Kebab-case name, as typed on the command line and written in outputs.
    fn name(&self) -> &'static str;
    /// One line for `touchpath models`.
    fn description(&self) -> &'static str;
    /// Parameters and their values in this run.
    fn parameters(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
    /// `Err(reason)` when the model cannot run on this input.
    fn applicable(&self, _set: &PathSet) -> std::result::Result<(), String> {
        Ok(())
    }
    /// Whether the model needs touch times (it cannot run on an aggregated path table).
    fn needs_timestamps(&self) -> bool {
        false
    }
    /// Whether [`Model::fit`] reads the non-converting journeys (data-driven models do); a run
    /// builds them only when a model or a report asks.
    fn learns_from_journeys(&self) -> bool {
        false
    }
    /// Data-driven models learn from every journey, converting or not, before crediting any
    /// conversion; heuristic models need nothing and return `None`.
    fn fit(&self, _set: &PathSet, _labels: &Labels) -> Result<Option<Box<dyn Fitted>>> {
        Ok(None)
    }
    /// Weights for the touches of a non-empty path (same length, summing to 1). Models that
    /// override [`Model::fit`] or [`Model::credit`] need not provide it.
    fn weights(&self, _set: &PathSet, _path: &Path, touches: &[PTouch], out: &mut Vec<f64>) {
        out.resize(touches.len(), 0.0);
    }

    /// The most credits a path of `touches` touches gets (from [`Model::credit`], or from the
    /// fitted model) when there are `labels` values to credit: every touch, or the bucket of a
    /// path without one. It bounds the memory of the credits table (`--credits`); a model that
    /// credits otherwise says so.
    fn credits_at_most(&self, touches: usize, _labels: usize) -> usize {
        touches.max(1)
    }

    /// Credits of one converting path, appended to `out`.
    fn credit(&self, set: &PathSet, path: &Path, out: &mut Vec<Credit>) {
        if path.is_empty() {
            out.push(no_touch(set, path));
            return;
        }
        let mut w = Vec::with_capacity(path.len());
        self.weights(set, path, set.path_touches(path), &mut w);
        push_weights(path.start, &w, out);
    }
}

/// A data-driven model after learning from the journeys.
pub trait Fitted: Send + Sync {
    /// Credits of one converting path, appended to `out`.
    fn credit(&self, set: &PathSet, path: &Path, out: &mut Vec<Credit>);
}

/// The bucket of a conversion that no touch can take credit for.
pub fn no_touch(set: &PathSet, path: &Path) -> Credit {
    let offline = set.conversion_of(path).is_some_and(|c| c.offline);
    Credit { target: Target::Bucket(if offline { channels::OFFLINE_NO_TOUCH } else { channels::DIRECT }), weight: 1.0 }
}

/// Turns per-touch weights into credits, dropping zero weights.
pub fn push_weights(start: u32, w: &[f64], out: &mut Vec<Credit>) {
    for (i, &x) in w.iter().enumerate() {
        if x != 0.0 {
            out.push(Credit { target: Target::Touch(start + i as u32), weight: x });
        }
    }
}

/// Every model, in the documented order (the order of report rows and columns).
pub fn registry(p: &ModelParams) -> Vec<Box<dyn Model>> {
    vec![
        Box::new(last_click::LastClick),
        Box::new(last_non_direct::LastNonDirect),
        Box::new(first_click::FirstClick),
        Box::new(linear::Linear),
        Box::new(position_based::PositionBased { weights: p.position_weights }),
        Box::new(time_decay::TimeDecay { half_life: p.half_life }),
        Box::new(ropo::Ropo { window: p.ropo_window, inner: p.ropo_inner }),
        Box::new(markov::Markov { order: p.markov_order, collapse: p.markov_collapse }),
        Box::new(shapley::Shapley { max_channels: p.shapley_max_channels, ordered: p.shapley_ordered }),
        Box::new(fractribution::Fractribution { collapse: p.markov_collapse }),
    ]
}

/// Checks `--model` names before any input is read, so a typo fails at once rather than after
/// minutes of loading; returns the names asked for (`all` among them, if given).
pub fn check_names(spec: &str) -> Result<Vec<&str>> {
    let all = registry(&ModelParams::default());
    let wanted: Vec<&str> = spec.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    if wanted.is_empty() {
        bail!(crate::UsageError("--model needs at least one model name (or `all`)".into()));
    }
    for w in wanted.iter().filter(|w| **w != "all") {
        if !all.iter().any(|m| m.name() == *w) {
            bail!(crate::UsageError(format!(
                "unknown model `{w}`; models: {}",
                all.iter().map(|m| m.name()).collect::<Vec<_>>().join(", ")
            )));
        }
    }
    Ok(wanted)
}

/// The journeys the models named in `--model` need: all of them when one learns from journeys.
pub fn journeys(spec: &str) -> Result<Journeys> {
    let wanted = check_names(spec)?;
    let learns = registry(&ModelParams::default())
        .iter()
        .any(|m| m.learns_from_journeys() && (wanted.contains(&"all") || wanted.contains(&m.name())));
    Ok(if learns { Journeys::All } else { Journeys::Converting })
}

/// Resolves `--model` (comma-separated names or `all`) against the registry.
pub fn select(spec: &str, p: &ModelParams, set: &PathSet) -> Result<Vec<Box<dyn Model>>> {
    let wanted = check_names(spec)?;
    let all = registry(p);
    let usable = |m: &dyn Model| -> std::result::Result<(), String> {
        if m.needs_timestamps() && !set.timed {
            return Err("it needs touch times, and a path table has none".into());
        }
        m.applicable(set)
    };
    if wanted.contains(&"all") {
        return Ok(all.into_iter().filter(|m| usable(m.as_ref()).is_ok()).collect());
    }
    let mut chosen = Vec::new();
    for m in all {
        if wanted.contains(&m.name()) {
            if let Err(why) = usable(m.as_ref()) {
                bail!(crate::UsageError(format!("model `{}` cannot run on this input: {why}", m.name())));
            }
            chosen.push(m);
        }
    }
    Ok(chosen)
}

/// Names of every model, for usage messages.
pub fn names() -> Vec<&'static str> {
    registry(&ModelParams::default()).iter().map(|m| m.name()).collect()
}

#[cfg(test)]
mod properties;
#[cfg(test)]
pub(crate) mod testkit;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_are_unique_and_kebab_case() {
        let names = names();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "duplicate model names: {names:?}");
        for n in names {
            assert!(n.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{n}");
        }
    }
}
