//! JSON: an array of objects with the same keys, in the same order, as the CSV columns.

use anyhow::Result;

use super::{Cell, Options, Table, Writer};

pub struct Json;

impl Writer for Json {
    fn write(&self, tables: &[Table], _: &Options) -> Result<Vec<u8>> {
        let mut out = String::from("[");
        for t in tables {
            for (i, row) in t.rows.iter().enumerate() {
                out.push_str(if i == 0 { "\n  {" } else { ",\n  {" });
                for (j, (col, cell)) in t.columns.iter().zip(row).enumerate() {
                    if j > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&serde_json::to_string(&col.name)?);
                    out.push_str(": ");
                    match cell {
                        Cell::Text(s) => out.push_str(&serde_json::to_string(s)?),
                        Cell::Num(x) if x.is_finite() => out.push_str(&serde_json::to_string(x)?),
                        Cell::Num(_) | Cell::Missing => out.push_str("null"),
                        Cell::Int(n) => out.push_str(&n.to_string()),
                    }
                }
                out.push('}');
            }
            if !t.rows.is_empty() {
                out.push('\n');
            }
        }
        out.push_str("]\n");
        Ok(out.into_bytes())
    }
}
