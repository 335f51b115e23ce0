//! Parquet exports (warehouse dumps, GA4 BigQuery extracts), read by polars and turned into text
//! columns so that one normalization path serves every format.

use std::io::Cursor;

use anyhow::{anyhow, Result};
use polars::prelude::*;

use std::sync::Arc;

use super::{Batch, Block, Decode, Head, Layout, RawTable, Source};
use crate::config::SourceKind;

/// Rows per block of a Parquet file.
const ROWS_PER_BLOCK: usize = 1 << 16;

pub fn open(name: &str, kind: SourceKind, bytes: &[u8]) -> Result<Source<'static>> {
    super::thrift_guard::check_footer(bytes).map_err(|e| anyhow!("not a readable Parquet file: {e}"))?;
    super::thrift_guard::check_pages(bytes, memory_total()).map_err(|e| anyhow!("not a readable Parquet file: {e}"))?;
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
    for col in df.columns() {
        headers.push(col.name().to_string());
        let text =
            col.cast(&DataType::String).map_err(|e| anyhow!("column `{}` ({}) cannot be read as text: {e}", col.name(), col.dtype()))?;
        columns.push(text.str()?.clone());
    }
    drop(df);
    let layout = Layout { delimiter: 0, width: headers.len(), decode: Decode::Utf8 };
    let head = Head { name: name.to_string(), kind, headers, delimiter: None, encoding: "parquet" };
    let columns = Arc::new(columns);
    let blocks = (0..height)
        .step_by(ROWS_PER_BLOCK)
        .map(move |start| Ok(Block::Rows { columns: columns.clone(), start, len: ROWS_PER_BLOCK.min(height - start) }));
    Ok(Source { head, layout, blocks: Box::new(blocks) })
}

/// The machine's memory in bytes (unbounded where it cannot be read): a file claiming more rows
/// than it could ever hold is refused before the reader allocates for them.
fn memory_total() -> u64 {
    super::meminfo("MemTotal").unwrap_or(u64::MAX)
}

/// Rows `start..start + len` as a batch (a null is an empty field).
pub fn rows(columns: &[StringChunked], start: usize, len: usize) -> Batch {
    let width = columns.len().max(1);
    let mut batch = Batch::new(width, len * width * 8);
    let mut text = String::new();
    let slices: Vec<StringChunked> = columns.iter().map(|c| c.slice(start as i64, len)).collect();
    let mut values: Vec<_> = slices.iter().map(|c| c.iter()).collect();
    for row in 0..len {
        for v in values.iter_mut() {
            text.push_str(v.next().flatten().unwrap_or(""));
            batch.ends.push(text.len() as u32);
        }
        batch.lines.push((start + row + 1) as u64);
    }
    batch.rows_read = len as u64;
    batch.bytes = text.len() as u64;
    batch.text = text;
    batch
}

pub fn load(name: &str, kind: SourceKind, bytes: &[u8]) -> Result<RawTable> {
    RawTable::collect(open(name, kind, bytes)?)
}
