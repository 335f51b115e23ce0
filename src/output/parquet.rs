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
            let cells = t.rows.iter().map(|r| r.get(j).unwrap_or(&Cell::Missing));
            let is_text = t.rows.iter().any(|r| matches!(r.get(j), Some(Cell::Text(_)))) || col.style == super::Style::Text;
            let is_int = !is_text && t.rows.iter().all(|r| matches!(r.get(j), Some(Cell::Int(_)) | Some(Cell::Missing)));
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
            } else if is_int && col.style == super::Style::Count {
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
            columns.push(series.into_column());
        }
        let mut df = DataFrame::new(t.rows.len(), columns)?;
        let mut buf = Vec::new();
        ParquetWriter::new(&mut buf).finish(&mut df)?;
        Ok(buf)
    }
}
