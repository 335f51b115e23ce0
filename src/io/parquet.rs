//! Parquet exports (warehouse dumps, GA4 BigQuery extracts), read by polars and turned into text
//! columns so that one normalization path serves every format.

use std::io::Cursor;

use anyhow::{anyhow, Result};
use polars::prelude::*;

use super::RawTable;
use crate::config::SourceKind;

pub fn load(name: &str, kind: SourceKind, bytes: &[u8]) -> Result<RawTable> {
    super::thrift_guard::check_footer(bytes).map_err(|e| anyhow!("not a readable Parquet file: {e}"))?;
    // The Parquet reader panics on some malformed metadata instead of returning an error: a
    // broken file must be an error like any other, never a crash.
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ParquetReader::new(Cursor::new(bytes)).set_rechunk(true).finish()));
    let df = match read {
        Ok(r) => r.map_err(|e| anyhow!("not a readable Parquet file: {e}"))?,
        Err(p) => {
            let why = p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_default();
            return Err(anyhow!("not a readable Parquet file (its metadata is malformed: {why})"));
        }
    };
    let height = df.height();
    let mut headers = Vec::with_capacity(df.width());
    let mut columns = Vec::with_capacity(df.width());
    for (i, col) in df.columns().iter().enumerate() {
        headers.push(col.name().to_string());
        let text =
            col.cast(&DataType::String).map_err(|e| anyhow!("column `{}` ({}) cannot be read as text: {e}", col.name(), col.dtype()))?;
        columns.push(text.with_name(format!("c{i}").into()));
    }
    let frame = DataFrame::new(height, columns)?;
    Ok(RawTable {
        name: name.to_string(),
        kind,
        headers,
        frame,
        lines: (1..=height as u64).collect(),
        rejects: Vec::new(),
        rows_read: height as u64,
        delimiter: None,
        encoding: "parquet",
    })
}
