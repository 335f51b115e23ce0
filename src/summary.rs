//! The run summary: what happened to every input row (used, filtered by a named rule, or rejected
//! with a reason), so that the counts of each file add up to the rows it holds.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

/// A row that could not be used, with where it was and why.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reject {
    pub file: String,
    pub line: u64,
    pub column: String,
    pub reason: String,
    pub value: String,
}

/// Row accounting of one input file.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FileSummary {
    pub file: String,
    pub kind: String,
    pub rows_read: u64,
    pub used: u64,
    /// Rule → rows it filtered out (still valid rows, deliberately not used as conversions/touches).
    pub filtered: BTreeMap<String, u64>,
    /// Reason → rows rejected as unusable.
    pub rejected: BTreeMap<String, u64>,
}

impl FileSummary {
    pub fn filter(&mut self, rule: &str) {
        *self.filtered.entry(rule.to_string()).or_default() += 1;
    }

    pub fn reject(&mut self, reason: &str) {
        *self.rejected.entry(reason.to_string()).or_default() += 1;
    }

    /// A row first counted as used turned out to be filtered (a duplicate, an order's receipt).
    pub fn refilter(&mut self, rule: &str, n: u64) {
        if n == 0 {
            return;
        }
        self.used -= n.min(self.used);
        *self.filtered.entry(rule.to_string()).or_default() += n;
    }

    pub fn filtered_total(&self) -> u64 {
        self.filtered.values().sum()
    }

    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    /// The accounting invariant: every row read is in exactly one bucket.
    pub fn balanced(&self) -> bool {
        self.used + self.filtered_total() + self.rejected_total() == self.rows_read
    }
}

/// Everything the run has to say about its inputs.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RunSummary {
    pub files: Vec<FileSummary>,
    #[serde(skip)]
    pub rejects: Vec<Reject>,
    /// Facts worth a line: identifiers ignored, identifiers refused for joining, and so on.
    pub notes: Vec<String>,
}

impl RunSummary {
    pub fn rejected_rows(&self) -> u64 {
        self.files.iter().map(FileSummary::rejected_total).sum()
    }

    /// Human-readable summary for stderr.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "Inputs (rows read = used + filtered + rejected):");
        for f in &self.files {
            let _ = writeln!(
                out,
                "  {} [{}]: {} read, {} used, {} filtered, {} rejected",
                f.file,
                f.kind,
                f.rows_read,
                f.used,
                f.filtered_total(),
                f.rejected_total()
            );
            for (rule, n) in &f.filtered {
                let _ = writeln!(out, "      filtered {n}: {rule}");
            }
            for (reason, n) in &f.rejected {
                let _ = writeln!(out, "      rejected {n}: {reason}");
            }
        }
        for n in &self.notes {
            let _ = writeln!(out, "  note: {n}");
        }
        out
    }
}
