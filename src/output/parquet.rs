//! Parquet: the long-format report as typed columns (text, f64, u64) for warehouses and notebooks.

use anyhow::{anyhow, bail, Result};
use polars::prelude::*;

use super::{Cell, Fields, Options, Table, Writer};

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

/// One part of a table's rows being made into columns, a field at a time (see [`Fields`]):
/// each column's values go straight into its builder, with no cell made per value. A column's
/// type comes from its style (text, counts, numbers), as for [`Parquet`]: a text column takes
/// a number as its text, a number column takes no text.
pub struct Part {
    builders: Vec<Builder>,
    at: usize,
    rows: usize,
}

enum Builder {
    Text(StringChunkedBuilder),
    Count(PrimitiveChunkedBuilder<UInt64Type>),
    Number(PrimitiveChunkedBuilder<Float64Type>),
}

impl Part {
    fn new(columns: &[super::Column]) -> Part {
        let builders = columns
            .iter()
            .map(|c| {
                let name: PlSmallStr = c.name.as_str().into();
                match c.style {
                    super::Style::Text => Builder::Text(StringChunkedBuilder::new(name, 0)),
                    super::Style::Count => Builder::Count(PrimitiveChunkedBuilder::new(name, 0)),
                    _ => Builder::Number(PrimitiveChunkedBuilder::new(name, 0)),
                }
            })
            .collect();
        Part { builders, at: 0, rows: 0 }
    }

    fn next(&mut self) -> Result<&mut Builder> {
        let at = self.at;
        self.at += 1;
        self.builders.get_mut(at).ok_or_else(|| anyhow!("a row of more than {at} fields where the table has {at} columns"))
    }

    fn finish(self) -> Result<DataFrame> {
        let columns = self
            .builders
            .into_iter()
            .map(|b| match b {
                Builder::Text(b) => b.finish().into_series().into_column(),
                Builder::Count(b) => b.finish().into_series().into_column(),
                Builder::Number(b) => b.finish().into_series().into_column(),
            })
            .collect();
        Ok(DataFrame::new(self.rows, columns)?)
    }
}

impl Fields for Part {
    fn text(&mut self, s: &str) -> Result<()> {
        match self.next()? {
            Builder::Text(b) => b.append_value(s),
            Builder::Count(b) => b.append_null(),
            Builder::Number(b) => b.append_null(),
        }
        Ok(())
    }

    fn plain(&mut self, s: &str) -> Result<()> {
        self.text(s)
    }

    fn num(&mut self, x: f64) -> Result<()> {
        match self.next()? {
            Builder::Text(b) => b.append_value(super::number(x)),
            Builder::Count(b) => b.append_null(),
            Builder::Number(b) => b.append_value(x),
        }
        Ok(())
    }

    fn missing(&mut self) -> Result<()> {
        match self.next()? {
            Builder::Text(b) => b.append_null(),
            Builder::Count(b) => b.append_null(),
            Builder::Number(b) => b.append_null(),
        }
        Ok(())
    }

    fn end(&mut self) -> Result<()> {
        if self.at != self.builders.len() {
            bail!("a row of {} fields where the table has {} columns", self.at, self.builders.len());
        }
        self.at = 0;
        self.rows += 1;
        Ok(())
    }
}

/// Writes a table whose rows are listed in parts (`rows_of(part)`, for `parts` parts in order),
/// each part a row group, listed and made into columns on its own core (`record` writes one
/// row), so that a table of tens of millions of rows (a credit row per touch of every
/// conversion) is never held whole, nor as a cell per value. A row group is written while the
/// next ones are made; the file depends on the parts alone, not on the number of threads. A
/// file with no rows still has its columns.
pub fn stream_parts<T, I: Iterator<Item = T>>(
    out: &mut (dyn std::io::Write + Send),
    columns: &[super::Column],
    parts: usize,
    rows_of: impl Fn(usize) -> I + Sync,
    record: impl Fn(&T, &mut Part) -> Result<()> + Sync,
) -> Result<()> {
    let schema = Part::new(columns).finish()?.schema().clone();
    let mut w = ParquetWriter::new(out).batched(&schema)?;
    // A part is a row group of about a million rows: one per core at a time, not the few per
    // core that small parts take.
    super::in_waves(
        parts,
        rayon::current_num_threads(),
        |part, slot: &mut Option<DataFrame>| {
            let mut p = Part::new(columns);
            for row in rows_of(part) {
                record(&row, &mut p)?;
            }
            *slot = Some(p.finish()?);
            Ok(())
        },
        |slot| {
            if let Some(df) = slot.take() {
                w.write_batch(&df)?;
            }
            Ok(())
        },
    )?;
    w.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::{Column, Style};

    fn columns() -> Vec<Column> {
        vec![Column::new("id", Style::Text), Column::new("n", Style::Count), Column::new("x", Style::Decimal)]
    }

    /// Part `p` of 7: `p` rows, each a text (or none), a count slot given text, a number.
    fn write(threads: usize) -> Vec<u8> {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let mut out = Vec::new();
        pool.install(|| {
            stream_parts(
                &mut out,
                &columns(),
                7,
                |p| (0..p).map(move |i| (p, i)),
                |&(p, i), w| {
                    if i % 3 == 0 {
                        w.missing()?;
                    } else {
                        w.text(&format!("p{p}r{i}"))?;
                    }
                    w.text("not a count")?;
                    w.num(p as f64 + i as f64 / 10.0)?;
                    w.end()
                },
            )
        })
        .unwrap();
        out
    }

    #[test]
    fn parts_are_row_groups_in_order_whatever_the_threads() {
        let one = write(1);
        assert_eq!(one, write(3), "the file does not depend on the number of threads");
        let df = ParquetReader::new(std::io::Cursor::new(one)).finish().unwrap();
        assert_eq!(df.height(), (0..7).sum::<usize>());
        let ids = df.column("id").unwrap().str().unwrap().clone();
        let xs = df.column("x").unwrap().f64().unwrap().clone();
        let (mut row, mut expected) = (0, Vec::new());
        for p in 0..7 {
            for i in 0..p {
                expected.push((if i % 3 == 0 { None } else { Some(format!("p{p}r{i}")) }, p as f64 + i as f64 / 10.0));
            }
        }
        for (id, x) in expected {
            assert_eq!(ids.get(row).map(str::to_string), id);
            assert_eq!(xs.get(row), Some(x));
            row += 1;
        }
        assert_eq!(df.column("n").unwrap().null_count(), row, "text given to a count column is no value");
        assert_eq!(df.column("n").unwrap().dtype(), &DataType::UInt64);
    }

    #[test]
    fn no_rows_still_give_the_columns() {
        let mut out = Vec::new();
        stream_parts(&mut out, &columns(), 0, |_| std::iter::empty::<()>(), |_, w| w.end()).unwrap();
        let df = ParquetReader::new(std::io::Cursor::new(out)).finish().unwrap();
        assert_eq!(df.height(), 0);
        assert_eq!(df.get_column_names().iter().map(|c| c.as_str()).collect::<Vec<_>>(), ["id", "n", "x"]);
    }

    #[test]
    fn a_row_of_the_wrong_width_is_an_error() {
        let mut out = Vec::new();
        let short = stream_parts(
            &mut out,
            &columns(),
            1,
            |_| std::iter::once(()),
            |_, w| {
                w.text("a")?;
                w.end()
            },
        );
        assert!(short.unwrap_err().to_string().contains("a row of 1 fields where the table has 3 columns"));
        let mut out = Vec::new();
        let long = stream_parts(
            &mut out,
            &columns(),
            1,
            |_| std::iter::once(()),
            |_, w| {
                for _ in 0..4 {
                    w.missing()?;
                }
                w.end()
            },
        );
        assert!(long.unwrap_err().to_string().contains("more than 3 fields"));
    }
}
