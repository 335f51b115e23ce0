//! CSV: the stable long-format schema cron and CI jobs read (header always, even with no rows).

use anyhow::Result;

use super::{neutralize, number, Cell, Options, Table, Writer};

pub struct Csv;

impl Writer for Csv {
    fn write(&self, tables: &[Table], opts: &Options) -> Result<Vec<u8>> {
        let mut w = ::csv::WriterBuilder::new().from_writer(Vec::new());
        for t in tables {
            w.write_record(t.columns.iter().map(|c| c.name.as_str()))?;
            for row in &t.rows {
                let cells: Vec<String> = row
                    .iter()
                    .map(|c| match c {
                        Cell::Text(s) => neutralize(s, opts.raw).into_owned(),
                        Cell::Num(x) => number(*x),
                        Cell::Int(i) => i.to_string(),
                        Cell::Missing => String::new(),
                    })
                    .collect();
                w.write_record(&cells)?;
            }
        }
        Ok(w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)
    }
}
