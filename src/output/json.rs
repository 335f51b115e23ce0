//! JSON: an array of objects with the same keys, in the same order, as the CSV columns.

use anyhow::{bail, Result};

use super::{Cell, Column, Fields, Options, Table, Writer};

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

/// A document (a snapshot, a comparison) as indented JSON, its numbers written as the report
/// files write them: `141`, not `141.0`.
pub fn pretty<T: serde::Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut bytes, Numbers(serde_json::ser::PrettyFormatter::new()));
    value.serialize(&mut ser)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// `serde_json`'s indented layout with the report files' numbers.
struct Numbers<'a>(serde_json::ser::PrettyFormatter<'a>);

impl serde_json::ser::Formatter for Numbers<'_> {
    fn write_f64<W: ?Sized + std::io::Write>(&mut self, w: &mut W, x: f64) -> std::io::Result<()> {
        let mut text = String::new();
        super::push_number(&mut text, x);
        w.write_all(text.as_bytes())
    }

    fn write_f32<W: ?Sized + std::io::Write>(&mut self, w: &mut W, x: f32) -> std::io::Result<()> {
        self.write_f64(w, f64::from(x))
    }

    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }

    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }

    fn begin_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }

    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }

    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }

    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }

    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
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
                    Cell::Num(x) if x.is_finite() => super::push_number(&mut line, *x),
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

/// One part's rows as JSON objects, a field at a time (see [`Fields`]), written as [`stream`]
/// writes the same cells: each row begins `,` and a line break, which the file's first row
/// drops.
pub struct Part<'a> {
    keys: &'a [String],
    at: usize,
    bytes: &'a mut Vec<u8>,
    scratch: String,
}

impl Part<'_> {
    fn key(&mut self) -> Result<()> {
        let Some(key) = self.keys.get(self.at) else {
            bail!("a row of more than {} fields where the table has {} columns", self.keys.len(), self.keys.len());
        };
        self.bytes.extend_from_slice(if self.at == 0 { b",\n  {" } else { b", " });
        self.bytes.extend_from_slice(key.as_bytes());
        self.bytes.extend_from_slice(b": ");
        self.at += 1;
        Ok(())
    }
}

impl Fields for Part<'_> {
    fn text(&mut self, s: &str) -> Result<()> {
        self.key()?;
        Ok(serde_json::to_writer(&mut *self.bytes, s)?)
    }

    fn plain(&mut self, s: &str) -> Result<()> {
        self.text(s)
    }

    /// As the CSV writes a number (the shortest digits that read back to it: `1` for one), and
    /// `null` for one that is not finite.
    fn num(&mut self, x: f64) -> Result<()> {
        self.key()?;
        if x.is_finite() {
            self.scratch.clear();
            super::push_number(&mut self.scratch, x);
            self.bytes.extend_from_slice(self.scratch.as_bytes());
        } else {
            self.bytes.extend_from_slice(b"null");
        }
        Ok(())
    }

    fn missing(&mut self) -> Result<()> {
        self.key()?;
        self.bytes.extend_from_slice(b"null");
        Ok(())
    }

    fn end(&mut self) -> Result<()> {
        if self.at != self.keys.len() {
            bail!("a row of {} fields where the table has {} columns", self.at, self.keys.len());
        }
        self.bytes.push(b'}');
        self.at = 0;
        Ok(())
    }
}

/// [`stream`] for rows listed in parts (`rows_of(part)`, for `parts` parts in order), each listed
/// and written on its own core, a row written field by field (`record` writes one row): no cell
/// or `String` is made per value, for tens of millions of credit rows.
pub fn stream_parts<T, I: Iterator<Item = T>>(
    out: &mut (dyn std::io::Write + Send),
    columns: &[Column],
    parts: usize,
    rows_of: impl Fn(usize) -> I + Sync,
    record: impl Fn(&T, &mut Part) -> Result<()> + Sync,
) -> Result<()> {
    let keys = columns.iter().map(|c| serde_json::to_string(&c.name)).collect::<Result<Vec<String>, _>>()?;
    out.write_all(b"[")?;
    let mut any = false;
    super::in_waves(
        parts,
        4 * rayon::current_num_threads(),
        |part, bytes: &mut Vec<u8>| {
            bytes.clear();
            let mut w = Part { keys: &keys, at: 0, bytes, scratch: String::new() };
            for row in rows_of(part) {
                record(&row, &mut w)?;
            }
            Ok(())
        },
        |bytes| {
            // The file's first row has no comma before it.
            let skip = usize::from(!any && !bytes.is_empty());
            any |= !bytes.is_empty();
            Ok(out.write_all(&bytes[skip..])?)
        },
    )?;
    out.write_all(if any { b"\n]\n" } else { b"]\n" })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::Style;

    /// Rows of every kind of value: text to escape, none, whole and fractional numbers, NaN;
    /// each with the part it goes to.
    fn rows() -> Vec<(usize, Vec<Cell>)> {
        (0..50)
            .map(|i| {
                let text = if i % 7 == 3 { Cell::Missing } else { Cell::Text(format!("r{i} \"q\" \\ \u{1} ё")) };
                let num = match i % 4 {
                    0 => Cell::Num(i as f64),
                    1 => Cell::Num(1.0 / (i as f64 + 0.5)),
                    2 => Cell::Num(f64::NAN),
                    _ => Cell::Missing,
                };
                (i / 6 + 1, vec![text, num])
            })
            .collect()
    }

    fn fields(r: &&(usize, Vec<Cell>), w: &mut Part) -> Result<()> {
        for c in &r.1 {
            match c {
                Cell::Text(s) => w.text(s)?,
                Cell::Num(x) => w.num(*x)?,
                _ => w.missing()?,
            }
        }
        w.end()
    }

    #[test]
    fn parts_write_what_cells_write() {
        let columns = [Column::new("id", Style::Text), Column::new("x", Style::Decimal)];
        let rows = rows();
        let mut cells = Vec::new();
        stream(&mut cells, &columns, rows.iter(), |r| r.1.clone()).unwrap();
        let cells = String::from_utf8(cells).unwrap();
        assert_eq!(serde_json::from_str::<serde_json::Value>(&cells).unwrap().as_array().map(Vec::len), Some(50));
        // Parts of several rows, the first and a middle one empty.
        let of = |p: usize| rows.iter().filter(move |r| r.0 == p && p != 4);
        let mut parts = Vec::new();
        stream_parts(&mut parts, &columns, 11, of, fields).unwrap();
        assert_eq!(String::from_utf8(parts).unwrap(), stream_of(&columns, rows.iter().filter(|r| r.0 != 4)));
        // A row per part.
        let mut one = Vec::new();
        stream_parts(&mut one, &columns, 50, |p| rows.get(p).into_iter(), fields).unwrap();
        assert_eq!(String::from_utf8(one).unwrap(), cells);
        let mut none = Vec::new();
        stream_parts(&mut none, &columns, 3, |_| std::iter::empty::<&(usize, Vec<Cell>)>(), fields).unwrap();
        assert_eq!(none, b"[]\n");
    }

    fn stream_of<'a>(columns: &[Column], rows: impl Iterator<Item = &'a (usize, Vec<Cell>)>) -> String {
        let mut out = Vec::new();
        stream(&mut out, columns, rows, |r| r.1.clone()).unwrap();
        String::from_utf8(out).unwrap()
    }
}
