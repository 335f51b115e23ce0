//! `position-based` (U-shaped): a share to the first touch, a share to the last, the rest split
//! evenly over the middle touches. 40/20/40 by default; 20/20/60 gives the J shape.

use super::Model;
use crate::paths::{PTouch, Path, PathSet};

pub struct PositionBased {
    /// First, middle, last; sum to 1.
    pub weights: [f64; 3],
}

impl Model for PositionBased {
    fn name(&self) -> &'static str {
        "position-based"
    }
    fn description(&self) -> &'static str {
        "First and last touches get fixed shares (the weights: 40% each by default), the middle touches share the rest; 2 touches split first:last, 1 touch gets all."
    }
    fn parameters(&self) -> Vec<(&'static str, String)> {
        let [f, m, l] = self.weights;
        vec![("position-weights", format!("{},{},{}", pct(f), pct(m), pct(l)))]
    }
    fn weights(&self, _: &PathSet, _: &Path, touches: &[PTouch], out: &mut Vec<f64>) {
        let [f, m, l] = self.weights;
        let n = touches.len();
        out.resize(n, 0.0);
        match n {
            1 => out[0] = 1.0,
            2 => {
                // No middle: the ends split the whole conversion in proportion to their shares.
                out[0] = f / (f + l);
                out[1] = l / (f + l);
            }
            _ => {
                out[0] = f;
                out[n - 1] = l;
                let each = m / (n - 2) as f64;
                for w in &mut out[1..n - 1] {
                    *w = each;
                }
            }
        }
    }
}

fn pct(x: f64) -> String {
    let p = (x * 1e6).round() / 1e4;
    format!("{p}")
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn u_shape_and_short_paths() {
        let cfg = config("");
        let set = pathset(
            &[
                journey("one", &[("A", 0)], &[(DAY, 1.0, false)]),
                journey("two", &[("A", 0), ("B", DAY)], &[(2 * DAY, 1.0, false)]),
                journey("four", &[("A", 0), ("B", DAY), ("C", 2 * DAY), ("D", 3 * DAY)], &[(4 * DAY, 1.0, false)]),
            ],
            &cfg,
        );
        let m = PositionBased { weights: [0.4, 0.2, 0.4] };
        assert_credits(&credits(&set, &m, 0), &[("A", 1.0)]);
        assert_credits(&credits(&set, &m, 1), &[("A", 0.5), ("B", 0.5)]);
        assert_credits(&credits(&set, &m, 2), &[("A", 0.4), ("B", 0.1), ("C", 0.1), ("D", 0.4)]);
        // J-shaped 20/20/60: two touches split 25/75, three touches 20/20/60.
        let j = PositionBased { weights: [0.2, 0.2, 0.6] };
        assert_credits(&credits(&set, &j, 1), &[("A", 0.25), ("B", 0.75)]);
        assert_credits(&credits(&set, &j, 2), &[("A", 0.2), ("B", 0.1), ("C", 0.1), ("D", 0.6)]);
    }
}
