//! `first-click`: the whole conversion goes to the first touch of the path.

use super::Model;
use crate::paths::{PTouch, Path, PathSet};

pub struct FirstClick;

impl Model for FirstClick {
    fn name(&self) -> &'static str {
        "first-click"
    }
    fn description(&self) -> &'static str {
        "All credit to the first touch in the lookback window."
    }
    fn credits_at_most(&self, _touches: usize, _labels: usize) -> usize {
        1
    }
    fn weights(&self, _: &PathSet, _: &Path, touches: &[PTouch], out: &mut Vec<f64>) {
        out.resize(touches.len(), 0.0);
        if let Some(first) = out.first_mut() {
            *first = 1.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn hand_computed() {
        let cfg = config("");
        let set = pathset(&[journey("a", &[("Display", 0), ("Email", DAY), ("Display", 2 * DAY)], &[(3 * DAY, 90.0, false)])], &cfg);
        assert_credits(&credits(&set, &FirstClick, 0), &[("Display", 1.0)]);
    }
}
