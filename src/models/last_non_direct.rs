//! `last-non-direct`: the last touch that is not Direct; Direct only when the whole path is
//! Direct. The default model of Yandex Metrica and of older Google Analytics.

use super::Model;
use crate::channels::DIRECT;
use crate::paths::{PTouch, Path, PathSet};

pub struct LastNonDirect;

impl Model for LastNonDirect {
    fn name(&self) -> &'static str {
        "last-non-direct"
    }
    fn description(&self) -> &'static str {
        "All credit to the last non-Direct touch; Direct only when every touch is Direct."
    }
    fn credits_at_most(&self, _touches: usize, _labels: usize) -> usize {
        1
    }
    fn weights(&self, set: &PathSet, _: &Path, touches: &[PTouch], out: &mut Vec<f64>) {
        out.resize(touches.len(), 0.0);
        let direct = set.data.strings.get(DIRECT);
        let pick = touches.iter().rposition(|t| Some(set.tags(t).channel) != direct).unwrap_or(touches.len() - 1);
        out[pick] = 1.0;
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn skips_direct_unless_all_direct() {
        let cfg = config("");
        let set = pathset(
            &[
                journey("a", &[("Paid Search", 0), ("Email", DAY), ("Direct", 2 * DAY), ("Direct", 3 * DAY)], &[(4 * DAY, 10.0, false)]),
                journey("b", &[("Direct", 0), ("Direct", DAY)], &[(5 * DAY, 10.0, false)]),
                journey("c", &[("Organic Search", 0)], &[(6 * DAY, 10.0, false)]),
            ],
            &cfg,
        );
        assert_credits(&credits(&set, &LastNonDirect, 0), &[("Email", 1.0)]);
        assert_credits(&credits(&set, &LastNonDirect, 1), &[("Direct", 1.0)]);
        assert_credits(&credits(&set, &LastNonDirect, 2), &[("Organic Search", 1.0)]);
    }
}
