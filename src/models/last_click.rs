//! `last-click`: the whole conversion goes to the last touch before it.

use super::Model;
use crate::paths::{PTouch, Path, PathSet};

pub struct LastClick;

impl Model for LastClick {
    fn name(&self) -> &'static str {
        "last-click"
    }
    fn description(&self) -> &'static str {
        "All credit to the last touch before the conversion."
    }
    fn credits_at_most(&self, _touches: usize, _labels: usize) -> usize {
        1
    }
    fn weights(&self, _: &PathSet, _: &Path, touches: &[PTouch], out: &mut Vec<f64>) {
        out.resize(touches.len(), 0.0);
        if let Some(last) = out.last_mut() {
            *last = 1.0;
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
        let set = pathset(
            &[
                journey("one", &[("Email", 0)], &[(DAY, 100.0, false)]),
                journey("two", &[("Paid Search", 0), ("Direct", DAY)], &[(2 * DAY, 50.0, false)]),
                journey("none", &[], &[(DAY, 10.0, false)]),
                journey("store", &[], &[(DAY, 10.0, true)]),
            ],
            &cfg,
        );
        // Canonical order is by conversion time, then online first, then id:
        // none-3 and one-1 (day 1, online), store-4 (day 1, offline), two-2 (day 2).
        assert_credits(&credits(&set, &LastClick, 0), &[("Direct", 1.0)]);
        assert_credits(&credits(&set, &LastClick, 1), &[("Email", 1.0)]);
        assert_credits(&credits(&set, &LastClick, 2), &[("(offline, no online touch)", 1.0)]);
        assert_credits(&credits(&set, &LastClick, 3), &[("Direct", 1.0)]);
    }

    #[test]
    fn ties_in_time_and_the_window_edge() {
        let cfg = config("");
        // Two visits at the same second: ordered by channel name, so "Email" is last whatever
        // the input order. A touch exactly 30 days (the lookback) before counts; one a second
        // earlier does not.
        for touches in [[("Email", 5 * DAY), ("Direct", 5 * DAY)], [("Direct", 5 * DAY), ("Email", 5 * DAY)]] {
            let set = pathset(&[journey("tie", &touches, &[(6 * DAY, 1.0, false)])], &cfg);
            assert_credits(&credits(&set, &LastClick, 0), &[("Email", 1.0)]);
        }
        let set = pathset(&[journey("edge", &[("Display", DAY - 1), ("Referral", DAY)], &[(31 * DAY, 1.0, false)])], &cfg);
        assert_credits(&credits(&set, &super::super::first_click::FirstClick, 0), &[("Referral", 1.0)]);
    }
}
