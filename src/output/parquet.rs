//! Parquet: the long-format report as typed columns (text, f64, u64) for warehouses and notebooks.

use anyhow::{anyhow, Result};
use polars::prelude::*;

use super::{Cell, Options, Table, Writer};

pub struct Parquet;

impl Writer for Parquet {
    fn write(&self, tables: &[Table], _: &Options) -> Result<Vec<u8>> {
        let t = tables.first().ok_or_else(|| anyhow!("nothing to write"))?;
        let mut columns = Vec::with_capacity(t.columns.len());
        for (j, col) in t.columns.iter().enumerate() {
            let is_text = t.rows.iter().any(|r| matches!(r.get(j), Some(Cell::Text(_)))) || col.style == super::Style::Text;
            let is_int = !is_text && t.rows.iter().all(|r| matches!(r.get(j), Some(Cell::Int(_)) | Some(Cell::Missing)));
            columns.push(column(col, &t.rows, j, is_text, is_int && col.style == super::Style::Count));
        }
        let mut df = DataFrame::new(t.rows.len(), columns)?;
        let mut buf = Vec::new();
        ParquetWriter::new(&mut buf).finish(&mut df)?;
        Ok(buf)
    }
}

/// Column `j` of rows as text, as counts or as numbers.
fn column<R: AsRef<[Cell]>>(col: &super::Column, rows: &[R], j: usize, is_text: bool, is_count: bool) -> polars::prelude::Column {
    let cells = rows.iter().map(|r| r.as_ref().get(j).unwrap_or(&Cell::Missing));
    let name: PlSmallStr = col.name.as_str().into();
    let series = if is_text {
        let v: Vec<Option<String>> = cells
            .map(|c| match c {
                Cell::Text(s) => Some(s.clone()),
                Cell::Num(x) => Some(super::number(*x)),
                Cell::Int(i) => Some(i.to_string()),
                Cell::Missing => None,
            })
            .collect();
        Series::new(name, v)
    } else if is_count {
        let v: Vec<Option<u64>> = cells
            .map(|c| match c {
                Cell::Int(i) => Some(*i),
                _ => None,
            })
            .collect();
        Series::new(name, v)
    } else {
        let v: Vec<Option<f64>> = cells
            .map(|c| match c {
                Cell::Num(x) => Some(*x),
                Cell::Int(i) => Some(*i as f64),
                _ => None,
            })
            .collect();
        Series::new(name, v)
    };
    series.into_column()
}

/// Writes a table's rows as they are made (`cells` of each), a million rows at a time, so that
/// an audit table of tens of millions of rows is never held whole. Each column's type comes
/// from its style (text, counts, numbers), the same for every row group.
pub fn stream<T, R: AsRef<[Cell]>>(
    out: &mut dyn std::io::Write,
    columns: &[super::Column],
    rows: impl Iterator<Item = T>,
    cells: impl Fn(&T) -> R,
) -> Result<()> {
    const GROUP: usize = 1 << 20;
    let mut rows = rows;
    let mut next = || rows.by_ref().take(GROUP).map(|r| cells(&r)).collect::<Vec<R>>();
    let frame = |chunk: &[R]| -> Result<DataFrame> {
        let cols = columns
            .iter()
            .enumerate()
            .map(|(j, col)| column(col, chunk, j, col.style == super::Style::Text, col.style == super::Style::Count))
            .collect();
        Ok(DataFrame::new(chunk.len(), cols)?)
    };
    // The first row group, empty or not, gives the file its schema.
    let mut chunk = next();
    let df = frame(&chunk)?;
    let mut w = ParquetWriter::new(out).batched(df.schema())?;
    w.write_batch(&df)?;
    while chunk.len() == GROUP {
        chunk = next();
        if chunk.is_empty() {
            break;
        }
        w.write_batch(&frame(&chunk)?)?;
    }
    w.finish()?;
    Ok(())
}
