//! The terminal table (comfy-table): numbers right-aligned and rounded for reading, a totals row,
//! and the table fitted to the terminal's width.

use anyhow::Result;
use comfy_table::{presets, Attribute, Cell as TCell, CellAlignment, ContentArrangement, Table as TTable};

use super::{Cell, Options, Style, Table, Writer};

pub struct Terminal;

/// Groups digits by three with thin spaces, the way both Russian and English readers parse.
fn group(int: u64) -> String {
    let s = int.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(ch);
    }
    out
}

/// A cell as people read it.
pub fn display(c: &Cell, style: Style) -> String {
    match c {
        Cell::Text(s) => s.clone(),
        Cell::Missing => "—".to_string(),
        Cell::Int(i) => group(*i),
        Cell::Num(x) if !x.is_finite() => "—".to_string(),
        Cell::Num(x) => match style {
            Style::Percent => unsigned_zero(format!("{:.1}%", x * 100.0)),
            Style::Money => {
                // Cents first: sums of fractional credits land a hair either side of .5, and the
                // total row and the title must round the same way.
                let r = ((x.abs() * 100.0).round() / 100.0).round();
                let sign = if *x < 0.0 && r > 0.0 { "-" } else { "" };
                format!("{sign}{}", group(r as u64))
            }
            Style::Count => group(x.round().max(0.0) as u64),
            Style::Decimal | Style::Text => unsigned_zero(format!("{x:.2}")),
        },
    }
}

/// A figure that rounds to zero reads `0.00`, not `-0.00` (an empty sum is −0, and a sum of
/// credits can land a hair below zero).
fn unsigned_zero(s: String) -> String {
    match s.strip_prefix('-') {
        Some(rest) if rest.bytes().all(|b| matches!(b, b'0' | b'.' | b'%')) => rest.to_string(),
        _ => s,
    }
}

impl Writer for Terminal {
    fn write(&self, tables: &[Table], opts: &Options) -> Result<Vec<u8>> {
        let mut out = String::new();
        for (i, t) in tables.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            if !t.title.is_empty() {
                out.push_str(&t.title);
                out.push('\n');
            }
            if t.columns.is_empty() {
                continue;
            }
            let mut tt = TTable::new();
            tt.load_preset(presets::UTF8_FULL_CONDENSED);
            if let Some(w) = opts.width {
                tt.set_width(w);
                tt.set_content_arrangement(ContentArrangement::Dynamic);
            } else {
                tt.set_content_arrangement(ContentArrangement::Disabled);
            }
            tt.set_header(t.columns.iter().map(|c| {
                let cell = TCell::new(&c.title).add_attribute(Attribute::Bold);
                if c.style == Style::Text {
                    cell
                } else {
                    cell.set_alignment(CellAlignment::Right)
                }
            }));
            for row in &t.rows {
                tt.add_row(cells(row, t, false));
            }
            if let Some(tot) = &t.totals {
                tt.add_row(cells(tot, t, true));
            }
            out.push_str(&tt.to_string());
            out.push('\n');
        }
        Ok(out.into_bytes())
    }
}

fn cells(row: &[Cell], t: &Table, bold: bool) -> Vec<TCell> {
    row.iter()
        .zip(&t.columns)
        .map(|(c, col)| {
            let mut cell = TCell::new(display(c, col.style));
            if col.style != Style::Text {
                cell = cell.set_alignment(CellAlignment::Right);
            }
            if bold {
                cell = cell.add_attribute(Attribute::Bold);
            }
            cell
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_numbers() {
        assert_eq!(display(&Cell::Num(1234567.4), Style::Money), "1 234 567");
        assert_eq!(display(&Cell::Num(0.1234), Style::Percent), "12.3%");
        assert_eq!(display(&Cell::Num(2.0 / 3.0), Style::Decimal), "0.67");
        assert_eq!(display(&Cell::Int(1000), Style::Count), "1 000");
        assert_eq!(display(&Cell::Missing, Style::Money), "—");
        // An empty sum is −0, and credits can sum a hair below zero: neither reads negative.
        assert_eq!(display(&Cell::Num(-0.0), Style::Decimal), "0.00");
        assert_eq!(display(&Cell::Num(-1e-12), Style::Percent), "0.0%");
        assert_eq!(display(&Cell::Num(-0.5), Style::Decimal), "-0.50");
        assert_eq!(display(&Cell::Num(-0.0), Style::Money), "0");
    }
}
