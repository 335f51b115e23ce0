//! Return on ad spend: the ratios an analyst puts in front of a budget meeting, each undefined
//! (not zero, not infinite) when its denominator is zero.

/// Ratios of one report row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Roi {
    /// Cost per order: cost ÷ credited conversions.
    pub cpo: Option<f64>,
    /// Cost per acquisition: cost ÷ credited first purchases (new customers).
    pub cpa: Option<f64>,
    /// Return on ad spend: revenue ÷ cost.
    pub roas: Option<f64>,
    /// Return on marketing investment: (revenue − cost) ÷ cost.
    pub romi: Option<f64>,
    /// ДРР, the share of advertising costs in revenue: cost ÷ revenue.
    pub drr: Option<f64>,
}

fn ratio(n: f64, d: f64) -> Option<f64> {
    (d != 0.0 && d.is_finite() && n.is_finite()).then(|| n / d)
}

pub fn roi(cost: f64, conversions: f64, first_purchases: f64, revenue: f64) -> Roi {
    Roi {
        cpo: ratio(cost, conversions),
        cpa: ratio(cost, first_purchases),
        roas: ratio(revenue, cost),
        romi: ratio(revenue - cost, cost),
        drr: ratio(cost, revenue),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_ratios() {
        // 10 000 spent, 4 orders of which 1 a new customer, 50 000 revenue.
        let r = roi(10_000.0, 4.0, 1.0, 50_000.0);
        assert_eq!(r, Roi { cpo: Some(2_500.0), cpa: Some(10_000.0), roas: Some(5.0), romi: Some(4.0), drr: Some(0.2) });
        // Fractional credit: 2.5 conversions for 1 000.
        assert_eq!(roi(1_000.0, 2.5, 0.5, 800.0).cpo, Some(400.0));
        assert_eq!(roi(1_000.0, 2.5, 0.5, 800.0).romi, Some(-0.2));
    }

    #[test]
    fn zero_denominators_are_undefined() {
        // No spend (an organic channel): orders cost nothing, return on nothing is undefined.
        let free = roi(0.0, 3.0, 1.0, 900.0);
        assert_eq!(free, Roi { cpo: Some(0.0), cpa: Some(0.0), roas: None, romi: None, drr: Some(0.0) });
        // Spend that bought nothing.
        let lost = roi(500.0, 0.0, 0.0, 0.0);
        assert_eq!(lost, Roi { cpo: None, cpa: None, roas: Some(0.0), romi: Some(-1.0), drr: None });
        assert_eq!(roi(0.0, 0.0, 0.0, 0.0), Roi { cpo: None, cpa: None, roas: None, romi: None, drr: None });
    }
}
