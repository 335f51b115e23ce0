//! JSON: an array of objects with the same keys, in the same order, as the CSV columns.

use anyhow::Result;

use super::{Cell, Column, Options, Table, Writer};

pub struct Json;

impl Writer for Json {
    fn write(&self, tables: &[Table], _: &Options) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        match tables.first() {
            Some(t) => stream(&mut out, &t.columns, t.rows.iter(), |r| *r)?,
            None => out.extend_from_slice(b"[]\n"),
        }
        Ok(out)
    }
}

/// Writes a table's rows as they are made (`cells` of each), exactly as [`Json`] writes the
/// same table: an audit table of millions of rows is never held whole, as text or as cells.
/// Rows are formatted on every core.
pub fn stream<T: Send + Sync, R: AsRef<[Cell]>>(
    out: &mut dyn std::io::Write,
    columns: &[Column],
    rows: impl Iterator<Item = T>,
    cells: impl Fn(&T) -> R + Sync,
) -> Result<()> {
    let keys = columns.iter().map(|c| serde_json::to_string(&c.name)).collect::<Result<Vec<String>, _>>()?;
    out.write_all(b"[")?;
    let n = super::write_rows(out, rows, |first, piece, bytes| {
        let mut line = String::new();
        for (i, row) in piece.iter().enumerate() {
            line.push_str(if first + i > 0 { ",\n  {" } else { "\n  {" });
            for (j, (key, cell)) in keys.iter().zip(cells(row).as_ref()).enumerate() {
                if j > 0 {
                    line.push_str(", ");
                }
                line.push_str(key);
                line.push_str(": ");
                match cell {
                    Cell::Text(s) => line.push_str(&serde_json::to_string(s)?),
                    Cell::Num(x) if x.is_finite() => line.push_str(&serde_json::to_string(x)?),
                    Cell::Num(_) | Cell::Missing => line.push_str("null"),
                    Cell::Int(n) => line.push_str(&n.to_string()),
                }
            }
            line.push('}');
        }
        bytes.extend_from_slice(line.as_bytes());
        Ok(())
    })?;
    out.write_all(if n > 0 { b"\n]\n" } else { b"]\n" })?;
    Ok(())
}
