//! CSV: the stable long-format schema cron and CI jobs read (header always, even with no rows).

use anyhow::Result;

use super::{neutralize, number, Cell, Column, Options, Table, Writer};

pub struct Csv;

impl Writer for Csv {
    fn write(&self, tables: &[Table], opts: &Options) -> Result<Vec<u8>> {
        let mut w = ::csv::WriterBuilder::new().from_writer(Vec::new());
        for t in tables {
            w.write_record(t.columns.iter().map(|c| c.name.as_str()))?;
            for row in &t.rows {
                write_row(&mut w, row, opts.raw)?;
            }
        }
        Ok(w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)
    }
}

/// Writes one table's rows as they are made (`cells` of each), exactly as [`Csv`] writes the
/// same table: for a file too large to hold as a table (a credit row per touch of every
/// conversion). Rows are formatted on every core.
pub fn stream<T: Send + Sync, R: AsRef<[Cell]>>(
    out: &mut dyn std::io::Write,
    columns: &[Column],
    rows: impl Iterator<Item = T>,
    cells: impl Fn(&T) -> R + Sync,
    opts: &Options,
) -> Result<()> {
    let mut w = ::csv::WriterBuilder::new().from_writer(Vec::new());
    w.write_record(columns.iter().map(|c| c.name.as_str()))?;
    out.write_all(&w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?;
    super::write_rows(out, rows, |_, piece, bytes| {
        let mut w = ::csv::WriterBuilder::new().from_writer(bytes);
        for row in piece {
            write_row(&mut w, cells(row).as_ref(), opts.raw)?;
        }
        w.flush()?;
        Ok(())
    })?;
    Ok(())
}

fn write_row<W: std::io::Write>(w: &mut ::csv::Writer<W>, row: &[Cell], raw: bool) -> Result<()> {
    let cells: Vec<std::borrow::Cow<'_, str>> = row
        .iter()
        .map(|c| match c {
            Cell::Text(s) => neutralize(s, raw),
            Cell::Num(x) => number(*x).into(),
            Cell::Int(i) => i.to_string().into(),
            Cell::Missing => "".into(),
        })
        .collect();
    w.write_record(cells.iter().map(|c| c.as_bytes()))?;
    Ok(())
}
