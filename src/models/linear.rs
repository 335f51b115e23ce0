//! `linear`: every touch of the path gets an equal share.

use super::Model;
use crate::paths::{PTouch, Path, PathSet};

pub struct Linear;

impl Model for Linear {
    fn name(&self) -> &'static str {
        "linear"
    }
    fn description(&self) -> &'static str {
        "Equal credit, 1/n, to each of the n touches."
    }
    fn weights(&self, _: &PathSet, _: &Path, touches: &[PTouch], out: &mut Vec<f64>) {
        let n = touches.len() as f64;
        out.resize(touches.len(), 1.0 / n);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn repeats_add_up() {
        let cfg = config("");
        let set = pathset(
            &[journey("a", &[("Email", 0), ("Paid Search", DAY), ("Email", 2 * DAY), ("Direct", 3 * DAY)], &[(4 * DAY, 100.0, false)])],
            &cfg,
        );
        assert_credits(&credits(&set, &Linear, 0), &[("Direct", 0.25), ("Email", 0.5), ("Paid Search", 0.25)]);
    }
}
