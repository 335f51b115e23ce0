//! Loading: turns each configured export (CSV, gzip CSV, Parquet, or a demo file) into a table
//! of text columns, so that normalization sees one shape whatever the file format was.

pub mod csv;
pub mod demo;
pub mod parquet;
pub mod schema;
pub mod thrift_guard;

use anyhow::{bail, Context as _, Result};
use polars::prelude::*;

use crate::config::{FileFormat, Location, SourceKind, SourceSpec};
use crate::summary::Reject;

/// A loaded export: every column as text, with the source line of each row for messages.
pub struct RawTable {
    pub name: String,
    pub kind: SourceKind,
    pub headers: Vec<String>,
    pub frame: DataFrame,
    /// Line (CSV) or row number (Parquet) of each row, 1-based, header included for CSV.
    pub lines: Vec<u64>,
    /// Rows that could not be split into fields at all.
    pub rejects: Vec<Reject>,
    /// Every data row seen in the file, kept or rejected.
    pub rows_read: u64,
    /// What was detected, for `inspect` and messages.
    pub delimiter: Option<u8>,
    pub encoding: &'static str,
}

impl RawTable {
    pub fn height(&self) -> usize {
        self.frame.height()
    }

    /// The column as text, by header position.
    pub fn text_column(&self, idx: usize) -> Result<&StringChunked> {
        let col = &self.frame.columns()[idx];
        col.str().map_err(|e| anyhow::anyhow!("{}: column `{}` is not text: {e}", self.name, self.headers[idx]))
    }
}

/// Reads the raw bytes of a source: a file from disk or a demo file from the binary.
pub fn read_bytes(loc: &Location) -> Result<std::borrow::Cow<'static, [u8]>> {
    match loc {
        Location::File(p) => {
            let bytes = std::fs::read(p).map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    anyhow::anyhow!("input file {} does not exist", p.display())
                } else {
                    anyhow::anyhow!("reading {}: {e}", p.display())
                }
            })?;
            Ok(std::borrow::Cow::Owned(bytes))
        }
        Location::Embedded { bytes, .. } => Ok(std::borrow::Cow::Borrowed(bytes)),
    }
}

/// Loads one configured source.
pub fn load(spec: &SourceSpec) -> Result<RawTable> {
    let name = spec.location.display_name();
    let bytes = read_bytes(&spec.location)?;
    let table = match spec.format {
        FileFormat::Csv => csv::load(&name, spec.kind, &bytes, spec.delimiter, spec.encoding),
        FileFormat::Parquet => parquet::load(&name, spec.kind, &bytes),
    }
    .with_context(|| format!("reading {name} ({})", spec.kind))?;
    if table.headers.is_empty() {
        bail!("reading {name}: the file has no header row");
    }
    Ok(table)
}
