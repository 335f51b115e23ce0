//! Writing results: every report becomes one or more [`Table`]s, and each output format is one
//! file behind the [`Writer`] trait. Files are written atomically so an interrupted run never
//! leaves half a report behind.

pub mod csv;
mod html;
pub mod json;
pub mod lock;
mod markdown;
pub mod parquet;
mod terminal;

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};

/// A value in a table.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    Num(f64),
    Int(u64),
    /// No value (a metric that cannot be computed): empty in CSV, `null` in JSON, `—` on screen.
    Missing,
}

/// How a column is shown to people; machine formats write full-precision values regardless.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Text,
    Count,
    /// Fractional conversions.
    Decimal,
    Money,
    Percent,
}

#[derive(Clone, Debug)]
pub struct Column {
    pub name: String,
    /// Header shown on screen (may span two lines); defaults to `name`.
    pub title: String,
    pub style: Style,
}

impl Column {
    pub fn new(name: &str, style: Style) -> Column {
        Column { name: name.to_string(), title: name.to_string(), style }
    }
    pub fn titled(name: &str, title: &str, style: Style) -> Column {
        Column { name: name.to_string(), title: title.to_string(), style }
    }
}

/// A titled table. The last row is a totals row when `totals` is set (shown on screen only).
/// A table without columns is a note: people's formats show its title alone.
#[derive(Clone, Debug)]
pub struct Table {
    pub title: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    pub totals: Option<Vec<Cell>>,
    /// How the HTML page charts this table, if at all.
    pub chart: Option<Chart>,
}

impl Table {
    pub fn new(title: &str, columns: Vec<Column>) -> Table {
        Table { title: title.to_string(), columns, rows: Vec::new(), totals: None, chart: None }
    }

    /// Asks the HTML page for a chart of these columns (by index) against the label column.
    pub fn charted(mut self, kind: ChartKind, label: usize, series: Vec<usize>) -> Table {
        self.chart = Some(Chart { kind, label, series });
        self
    }
}

/// A chart of a table's columns, drawn by the HTML writer.
#[derive(Clone, Debug)]
pub struct Chart {
    pub kind: ChartKind,
    /// Column with the category labels.
    pub label: usize,
    /// Columns drawn as series.
    pub series: Vec<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChartKind {
    /// Horizontal bars, one group per row (categories such as channels).
    Bars,
    /// Vertical columns of the first series (ordered buckets: a histogram).
    Columns,
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Csv,
    Json,
    Parquet,
    Markdown,
    Html,
}

impl Format {
    pub fn parse(s: &str) -> Result<Format> {
        Ok(match s.trim() {
            "table" => Format::Table,
            "csv" => Format::Csv,
            "json" => Format::Json,
            "parquet" => Format::Parquet,
            "markdown" | "md" => Format::Markdown,
            "html" => Format::Html,
            other => {
                bail!("`{other}` is not an output format (table, csv, json, parquet, markdown, html)")
            }
        })
    }

    /// The format a file name suggests, for `--output` without `--format`.
    pub fn from_path(p: &Path) -> Option<Format> {
        let ext = p.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "csv" => Format::Csv,
            "json" => Format::Json,
            "parquet" | "pq" => Format::Parquet,
            "md" | "markdown" => Format::Markdown,
            "html" | "htm" => Format::Html,
            "txt" => Format::Table,
            _ => return None,
        })
    }

    /// Machine formats carry one data table; human formats carry every section.
    pub fn is_machine(self) -> bool {
        matches!(self, Format::Csv | Format::Json | Format::Parquet)
    }
}

/// Settings that change how cells are written.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Keep text cells that look like spreadsheet formulas as they are.
    pub raw: bool,
    /// Terminal width to fit, when known.
    pub width: Option<u16>,
}

/// One output format.
pub trait Writer {
    /// Serializes the tables. Machine formats receive exactly one table.
    fn write(&self, tables: &[Table], opts: &Options) -> Result<Vec<u8>>;
}

fn writer(format: Format) -> Box<dyn Writer> {
    match format {
        Format::Table => Box::new(terminal::Terminal),
        Format::Csv => Box::new(csv::Csv),
        Format::Json => Box::new(json::Json),
        Format::Parquet => Box::new(parquet::Parquet),
        Format::Markdown => Box::new(markdown::Markdown),
        Format::Html => Box::new(html::Html),
    }
}

/// Renders tables in a format. Machine formats take the first table only.
pub fn render(tables: &[Table], format: Format, opts: &Options) -> Result<Vec<u8>> {
    let tables = if format.is_machine() { &tables[..tables.len().min(1)] } else { tables };
    writer(format).write(tables, opts)
}

/// Formats rows on every core and writes them in order: rows are gathered a run at a time, the
/// run's pieces are formatted side by side (`format(index of the piece's first row, piece,
/// bytes)`), and the pieces' bytes are written in turn, so the output is byte for byte what
/// formatting the rows one by one gives, in a fraction of the time for tens of millions of rows.
/// Returns how many rows there were.
pub(crate) fn write_rows<T: Send + Sync>(
    out: &mut dyn std::io::Write,
    rows: impl Iterator<Item = T>,
    format: impl Fn(usize, &[T], &mut Vec<u8>) -> Result<()> + Sync,
) -> Result<usize> {
    use rayon::prelude::*;
    const PIECE: usize = 4096;
    let mut rows = rows;
    let run_len = PIECE * 4 * rayon::current_num_threads().max(1);
    let (mut run, mut start) = (Vec::with_capacity(run_len), 0);
    loop {
        run.clear();
        run.extend(rows.by_ref().take(run_len));
        if run.is_empty() {
            return Ok(start);
        }
        let pieces: Vec<Result<Vec<u8>>> = run
            .par_chunks(PIECE)
            .enumerate()
            .map(|(i, piece)| {
                let mut bytes = Vec::with_capacity(piece.len() * 128);
                format(start + i * PIECE, piece, &mut bytes)?;
                Ok(bytes)
            })
            .collect();
        for bytes in pieces {
            out.write_all(&bytes?)?;
        }
        start += run.len();
    }
}

/// Writes bytes to `path` atomically: a temporary file in the same folder, then a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |f| Ok(f.write_all(bytes)?))
}

/// [`write_atomic`] for output written as it is made (`fill` writes it, buffered), so that a
/// large file is never held whole in memory.
pub fn write_atomic_with(path: &Path, fill: impl FnOnce(&mut dyn std::io::Write) -> Result<()>) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    if !dir.is_dir() {
        bail!("cannot write {}: folder {} does not exist", path.display(), dir.display());
    }
    let name = path.file_name().ok_or_else(|| anyhow!("{} is not a file name", path.display()))?;
    let tmp = dir.join(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
    let result = (|| -> Result<()> {
        let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
        fill(&mut f)?;
        let f = f.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        Ok(std::fs::rename(&tmp, path)?)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

/// A cell as shown on screen (thousands grouped, shares as percentages).
pub fn terminal_display(c: &Cell, style: Style) -> String {
    terminal::display(c, style)
}

/// Text cells starting like a spreadsheet formula get a leading `'` so that opening the file
/// in a spreadsheet never runs them.
pub fn neutralize(s: &str, raw: bool) -> std::borrow::Cow<'_, str> {
    if !raw && s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{s}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// Shortest text that parses back to the same number (Rust's `Display` for `f64`).
pub fn number(x: f64) -> String {
    let mut s = String::new();
    push_number(&mut s, x);
    s
}

/// [`number`] appended to `s`.
pub fn push_number(s: &mut String, x: f64) {
    if x == 0.0 {
        // Avoid "-0", which some readers treat as text.
        s.push('0');
    } else {
        use std::fmt::Write;
        let _ = write!(s, "{x}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        for x in [0.1, 1.0 / 3.0, 1234567.891, 1e-12, 2.0] {
            assert_eq!(number(x).parse::<f64>().unwrap(), x);
        }
        assert_eq!(number(2.0), "2");
        assert_eq!(number(-0.0), "0");
    }

    #[test]
    fn formulas_are_neutralized() {
        assert_eq!(neutralize("=HYPERLINK(\"x\")", false), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralize("-5", false), "'-5");
        assert_eq!(neutralize("=1", true), "=1");
        assert_eq!(neutralize("Paid Search", false), "Paid Search");
    }

    #[test]
    fn atomic_write_replaces_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.csv");
        write_atomic(&p, b"a").unwrap();
        write_atomic(&p, b"b").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"b");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(write_atomic(&dir.path().join("nope/r.csv"), b"x").is_err());
    }
}
