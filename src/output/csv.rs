//! CSV: the stable long-format schema cron and CI jobs read (header always, even with no rows).

use anyhow::Result;

use super::{neutralize, Cell, Column, Fields, Options, Table, Writer};

pub struct Csv;

impl Writer for Csv {
    fn write(&self, tables: &[Table], opts: &Options) -> Result<Vec<u8>> {
        let mut w = Record::new(Vec::new(), opts.raw);
        for t in tables {
            w.w.write_record(t.columns.iter().map(|c| c.name.as_str()))?;
            for row in &t.rows {
                w.record(row)?;
            }
        }
        w.w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
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
    stream_records(out, columns, rows, |row, w| w.record(cells(row).as_ref()), opts)
}

/// [`stream`] with each row written field by field (`record` writes one row), so that a row of
/// borrowed text and numbers needs no cells made for it: tens of millions of credit rows spent
/// more time making and dropping their cells' strings than writing them.
pub fn stream_records<T: Send + Sync>(
    out: &mut dyn std::io::Write,
    columns: &[Column],
    rows: impl Iterator<Item = T>,
    record: impl Fn(&T, &mut Record<&mut Vec<u8>>) -> Result<()> + Sync,
    opts: &Options,
) -> Result<()> {
    let mut w = ::csv::WriterBuilder::new().from_writer(Vec::new());
    w.write_record(columns.iter().map(|c| c.name.as_str()))?;
    out.write_all(&w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?;
    super::write_rows(out, rows, |_, piece, bytes| {
        let mut w = Record::new(bytes, opts.raw);
        for row in piece {
            record(row, &mut w)?;
        }
        w.w.flush()?;
        Ok(())
    })?;
    Ok(())
}

/// [`stream_records`] for rows listed in parts (`rows_of(part)`, for `parts` parts in order),
/// each listed and written on its own core.
pub fn stream_parts<T, I: Iterator<Item = T>>(
    out: &mut (dyn std::io::Write + Send),
    columns: &[Column],
    parts: usize,
    rows_of: impl Fn(usize) -> I + Sync,
    record: impl Fn(&T, &mut Record<&mut Vec<u8>>) -> Result<()> + Sync,
    opts: &Options,
) -> Result<()> {
    let mut w = ::csv::WriterBuilder::new().from_writer(Vec::new());
    w.write_record(columns.iter().map(|c| c.name.as_str()))?;
    out.write_all(&w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?;
    super::write_parts(out, parts, |part, bytes| {
        let mut w = Record::new(bytes, opts.raw);
        for row in rows_of(part) {
            record(&row, &mut w)?;
        }
        w.w.flush()?;
        Ok(())
    })
}

/// A CSV writer that takes a row's fields one at a time, written as [`Csv`] writes cells.
pub struct Record<W: std::io::Write> {
    w: ::csv::Writer<W>,
    raw: bool,
    /// Room for a number's text, kept between fields.
    scratch: String,
}

impl<W: std::io::Write> Record<W> {
    fn new(out: W, raw: bool) -> Record<W> {
        Record { w: ::csv::WriterBuilder::new().from_writer(out), raw, scratch: String::new() }
    }

    /// A whole row of cells.
    pub fn record(&mut self, row: &[Cell]) -> Result<()> {
        for c in row {
            match c {
                Cell::Text(s) => self.text(s)?,
                Cell::Num(x) => self.num(*x)?,
                Cell::Int(i) => self.plain(&i.to_string())?,
                Cell::Missing => self.missing()?,
            }
        }
        self.end()
    }
}

impl<W: std::io::Write> Fields for Record<W> {
    /// Neutralized unless raw (see [`neutralize`]).
    fn text(&mut self, s: &str) -> Result<()> {
        Ok(self.w.write_field(neutralize(s, self.raw).as_bytes())?)
    }

    fn plain(&mut self, s: &str) -> Result<()> {
        Ok(self.w.write_field(s.as_bytes())?)
    }

    /// As [`super::number`] writes it.
    fn num(&mut self, x: f64) -> Result<()> {
        self.scratch.clear();
        super::push_number(&mut self.scratch, x);
        Ok(self.w.write_field(self.scratch.as_bytes())?)
    }

    fn missing(&mut self) -> Result<()> {
        Ok(self.w.write_field(b"")?)
    }

    fn end(&mut self) -> Result<()> {
        Ok(self.w.write_record(None::<&[u8]>)?)
    }
}
