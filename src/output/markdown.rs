//! Markdown: tables for pull-request comments and wikis, every section with its title.

use anyhow::Result;

use super::terminal::display;
use super::{neutralize, Cell, Options, Style, Table, Writer};

pub struct Markdown;

fn escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

impl Writer for Markdown {
    fn write(&self, tables: &[Table], opts: &Options) -> Result<Vec<u8>> {
        let mut out = String::new();
        for t in tables {
            if !t.title.is_empty() {
                out.push_str(&format!("### {}\n\n", escape(&t.title)));
            }
            if t.columns.is_empty() {
                continue;
            }
            let header: Vec<String> = t.columns.iter().map(|c| escape(&c.title.replace('\n', " "))).collect();
            out.push_str(&format!("| {} |\n", header.join(" | ")));
            let align: Vec<&str> = t.columns.iter().map(|c| if c.style == Style::Text { "---" } else { "---:" }).collect();
            out.push_str(&format!("| {} |\n", align.join(" | ")));
            for row in t.rows.iter().chain(t.totals.iter()) {
                let cells: Vec<String> = row
                    .iter()
                    .zip(&t.columns)
                    .map(|(c, col)| match c {
                        Cell::Text(s) => escape(&neutralize(s, opts.raw)),
                        other => display(other, col.style),
                    })
                    .collect();
                out.push_str(&format!("| {} |\n", cells.join(" | ")));
            }
            out.push('\n');
        }
        Ok(out.into_bytes())
    }
}
