//! `ropo` (research online, purchase offline): an offline purchase is credited to the online
//! touches in the ROPO window before it, by an inner rule (last touch, or linear); with no online
//! touch in the window it goes to `(offline, no online touch)`. Online orders are credited by the
//! same inner rule over the normal lookback.

use std::ops::Range;

use super::{no_touch, push_weights, Credit, Model};
use crate::config::{Duration, RopoInner};
use crate::paths::{PTouch, Path, PathSet};

pub struct Ropo {
    pub window: Duration,
    pub inner: RopoInner,
}

/// Touches of an offline conversion's ROPO window: from `window` before the purchase up to it,
/// never before the customer's previous conversion. May reach further back than the lookback.
pub fn window(set: &PathSet, path: &Path, window: Duration) -> Range<usize> {
    let Some(conv) = set.conversion_of(path) else {
        return path.range();
    };
    let from = conv.ts - window.seconds();
    let floor = path.floor as usize;
    let end = path.end as usize;
    let start = floor + set.touches[floor..end].partition_point(|t| t.ts < from);
    start..end
}

impl Model for Ropo {
    fn name(&self) -> &'static str {
        "ropo"
    }
    fn description(&self) -> &'static str {
        "Offline purchases credited to online touches within the ROPO window before them (else to the offline bucket); online orders by the inner rule."
    }
    fn parameters(&self) -> Vec<(&'static str, String)> {
        vec![("ropo-window", self.window.to_string()), ("ropo-inner", self.inner.name().to_string())]
    }
    fn applicable(&self, set: &PathSet) -> Result<(), String> {
        if set.data.has_offline_source {
            Ok(())
        } else {
            Err("it needs offline purchases (a `receipts` source)".into())
        }
    }
    fn needs_timestamps(&self) -> bool {
        true
    }
    fn weights(&self, _: &PathSet, _: &Path, touches: &[PTouch], out: &mut Vec<f64>) {
        out.resize(touches.len(), 0.0);
        match self.inner {
            RopoInner::Last => {
                if let Some(l) = out.last_mut() {
                    *l = 1.0;
                }
            }
            RopoInner::Linear => {
                let n = touches.len() as f64;
                out.iter_mut().for_each(|w| *w = 1.0 / n);
            }
        }
    }
    fn credit(&self, set: &PathSet, path: &Path, out: &mut Vec<Credit>) {
        let offline = set.conversion_of(path).is_some_and(|c| c.offline);
        let range = if offline { window(set, path, self.window) } else { path.range() };
        if range.is_empty() {
            out.push(no_touch(set, path));
            return;
        }
        let mut w = Vec::with_capacity(range.len());
        self.weights(set, path, &set.touches[range.clone()], &mut w);
        push_weights(range.start as u32, &w, out);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn offline_purchase_with_and_without_online_touch() {
        let cfg = config("");
        let set = pathset(
            &[
                // Touch 5 days before (outside a 2-day window) and 1 day before (inside).
                journey("a", &[("Email", 0), ("Paid Search", 4 * DAY)], &[(5 * DAY, 100.0, true)]),
                // Only a touch 3 days before: no online touch in the window.
                journey("b", &[("Display", 10 * DAY)], &[(13 * DAY, 50.0, true)]),
                // Online order: inner rule over the normal lookback.
                journey("c", &[("Email", 10 * DAY), ("Direct", 20 * DAY)], &[(21 * DAY, 10.0, false)]),
                // Touch exactly at the window edge counts.
                journey("d", &[("Referral", 28 * DAY)], &[(30 * DAY, 5.0, true)]),
            ],
            &cfg,
        );
        let last = Ropo { window: Duration(2 * DAY), inner: RopoInner::Last };
        assert_credits(&credits(&set, &last, 0), &[("Paid Search", 1.0)]);
        assert_credits(&credits(&set, &last, 1), &[("(offline, no online touch)", 1.0)]);
        assert_credits(&credits(&set, &last, 2), &[("Direct", 1.0)]);
        assert_credits(&credits(&set, &last, 3), &[("Referral", 1.0)]);
        let linear = Ropo { window: Duration(7 * DAY), inner: RopoInner::Linear };
        assert_credits(&credits(&set, &linear, 0), &[("Email", 0.5), ("Paid Search", 0.5)]);
        assert_credits(&credits(&set, &linear, 2), &[("Direct", 0.5), ("Email", 0.5)]);
        // A window longer than the lookback still finds the touches.
        let long = Ropo { window: Duration(40 * DAY), inner: RopoInner::Linear };
        let cfg = config("lookback = \"1d\"");
        let set = pathset(&[journey("e", &[("Email", 0), ("Display", 10 * DAY)], &[(20 * DAY, 1.0, true)])], &cfg);
        assert_credits(&credits(&set, &long, 0), &[("Display", 0.5), ("Email", 0.5)]);
    }
}
