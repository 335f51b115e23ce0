//! The audit table behind a report's totals, a row per credited touch of every conversion:
//! kept as numbers while the models credit (tens of millions of rows on a large run) and turned
//! into text only as each row is written.

use crate::paths::{PConversion, Path, PathSet};

/// One row of the audit table, as written.
#[derive(Clone, Debug, PartialEq)]
pub struct CreditRow<'a> {
    pub conversion_id: &'a str,
    pub kind: &'static str,
    /// `None` when the input has no times (a path table).
    pub converted_at: Option<i64>,
    pub customer: &'a str,
    pub model: &'static str,
    pub value: &'a str,
    /// The credited touch's time; `None` for a bucket.
    pub touch_at: Option<i64>,
    pub credit: f64,
    pub revenue_credit: f64,
}

/// A credited conversion: what every row of its credits repeats.
#[derive(Clone, Debug, PartialEq)]
struct Converted {
    id: String,
    kind: &'static str,
    at: Option<i64>,
    customer: String,
}

/// One credit as a model gave it: its conversion (by position among the selected ones), its
/// value (a label, or a bucket of that model), the credited touch's time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Row {
    pub path: u32,
    pub slot: u32,
    pub touch_at: Option<i64>,
    pub credit: f64,
    pub revenue_credit: f64,
}

/// Every model's credit rows, in path order per model; read back path by path, models in their
/// order within a path.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Credits {
    conversions: Vec<Converted>,
    /// Value names: a slot below their count is a label.
    labels: Vec<String>,
    /// Per model: its name, the names of its bucket slots (after the labels), its rows.
    models: Vec<(&'static str, Vec<&'static str>, Vec<Row>)>,
}

impl Credits {
    /// The selected conversions' texts, and the labels that slots name.
    pub(super) fn new(set: &PathSet, selected: &[(&Path, &PConversion)], customers: Vec<String>, labels: &[String]) -> Credits {
        let conversions = selected
            .iter()
            .zip(customers)
            .map(|((_, conv), customer)| Converted {
                id: set.label(conv.id).to_string(),
                kind: if conv.offline { "offline" } else { "online" },
                at: set.timed.then_some(conv.ts),
                customer,
            })
            .collect();
        Credits { conversions, labels: labels.to_vec(), models: Vec::new() }
    }

    /// Adds the next model's rows (in path order) and the names of its buckets.
    pub(super) fn push(&mut self, model: &'static str, buckets: Vec<&'static str>, rows: Vec<Row>) {
        self.models.push((model, buckets, rows));
    }

    /// How many rows there are.
    pub fn len(&self) -> usize {
        self.models.iter().map(|m| m.2.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many conversions were credited.
    pub fn conversions(&self) -> usize {
        self.conversions.len()
    }

    /// The rows path by path, models in their order within a path.
    pub fn rows(&self) -> impl Iterator<Item = CreditRow<'_>> + '_ {
        self.rows_in(0..self.conversions.len())
    }

    /// The rows of the conversions at `paths` (positions among the credited ones), as
    /// [`Credits::rows`] lists them: ranges one after another list every row once, in order,
    /// so that a file's parts can be listed and written on every core.
    pub fn rows_in(&self, paths: std::ops::Range<usize>) -> impl Iterator<Item = CreditRow<'_>> + '_ {
        let end = paths.end.min(self.conversions.len());
        let start = paths.start.min(end);
        // Each model's rows are in path order: a cursor per model walks them path by path,
        // from the range's first.
        let mut cursors: Vec<usize> = self.models.iter().map(|m| m.2.partition_point(|r| (r.path as usize) < start)).collect();
        let (mut path, mut model) = (start as u32, 0usize);
        std::iter::from_fn(move || loop {
            if path as usize >= end {
                return None;
            }
            let conv = self.conversions.get(path as usize)?;
            let Some((name, buckets, rows)) = self.models.get(model) else {
                (path, model) = (path + 1, 0);
                continue;
            };
            match rows.get(cursors[model]) {
                Some(r) if r.path == path => {
                    cursors[model] += 1;
                    let slot = r.slot as usize;
                    let value = match self.labels.get(slot) {
                        Some(l) => l.as_str(),
                        None => buckets.get(slot - self.labels.len()).copied().unwrap_or(""),
                    };
                    return Some(CreditRow {
                        conversion_id: &conv.id,
                        kind: conv.kind,
                        converted_at: conv.at,
                        customer: &conv.customer,
                        model: name,
                        value,
                        touch_at: r.touch_at,
                        credit: r.credit,
                        revenue_credit: r.revenue_credit,
                    });
                }
                _ => model += 1,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(path: u32, slot: u32, credit: f64) -> Row {
        Row { path, slot, touch_at: Some(i64::from(path) * 60), credit, revenue_credit: credit * 100.0 }
    }

    #[test]
    fn rows_come_path_by_path_models_in_order_within_a_path() {
        let conv = |id: &str| Converted { id: id.into(), kind: "online", at: Some(0), customer: format!("c-{id}") };
        let mut credits = Credits {
            conversions: vec![conv("o1"), conv("o2"), conv("o3"), conv("o4")],
            labels: vec!["Direct".into(), "Organic".into()],
            models: Vec::new(),
        };
        // Model a credits every path but the third; model b has a bucket (slot 2) and skips
        // the first and the last path.
        credits.push("a", vec![], vec![row(0, 0, 0.5), row(0, 1, 0.5), row(1, 1, 1.0), row(3, 0, 1.0)]);
        credits.push("b", vec!["(other)"], vec![row(1, 2, 1.0), row(2, 0, 0.25), row(2, 1, 0.75)]);
        let got: Vec<(&str, &str, &str, f64)> = credits.rows().map(|r| (r.conversion_id, r.model, r.value, r.credit)).collect();
        assert_eq!(
            got,
            [
                ("o1", "a", "Direct", 0.5),
                ("o1", "a", "Organic", 0.5),
                ("o2", "a", "Organic", 1.0),
                ("o2", "b", "(other)", 1.0),
                ("o3", "b", "Direct", 0.25),
                ("o3", "b", "Organic", 0.75),
                ("o4", "a", "Direct", 1.0),
            ]
        );
        assert_eq!(credits.len(), got.len());
        let first = credits.rows().next().unwrap();
        assert_eq!((first.customer, first.touch_at, first.revenue_credit), ("c-o1", Some(0), 50.0));
        assert!(Credits::default().rows().next().is_none() && Credits::default().is_empty());
        // Listed in ranges of conversions, one after another, the rows are the same, in the
        // same order, however the ranges are cut (and past the end, there are none).
        for part in 1..=5 {
            let parts: Vec<(&str, &str, &str, f64)> = (0..credits.conversions().div_ceil(part))
                .flat_map(|p| credits.rows_in(p * part..(p + 1) * part))
                .map(|r| (r.conversion_id, r.model, r.value, r.credit))
                .collect();
            assert_eq!(parts, got, "ranges of {part}");
        }
        assert_eq!(credits.rows_in(2..3).count(), 2);
        assert_eq!(credits.rows_in(4..10).count() + credits.rows_in(std::ops::Range { start: 3, end: 2 }).count(), 0);
    }
}
