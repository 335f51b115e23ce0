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
pub use terminal::display;

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

/// A row's fields, one call each in column order, then [`Fields::end`]: the one way a large
/// file's rows are written, so that its CSV, its JSON and its Parquet hold the same values by
/// construction.
pub trait Fields {
    /// A text field.
    fn text(&mut self, s: &str) -> Result<()>;
    /// A text field known to need no neutralizing (ASCII digits and punctuation: a timestamp).
    fn plain(&mut self, s: &str) -> Result<()>;
    /// A number.
    fn num(&mut self, x: f64) -> Result<()>;
    /// A field with no value.
    fn missing(&mut self) -> Result<()>;
    /// Ends the row.
    fn end(&mut self) -> Result<()>;
}

/// Writes a file made of `parts` parts in order, formatting them on every core a few at a
/// time (`format(part, bytes)`): where the rows can be listed from any point (see
/// [`crate::reports::credits::Credits::rows_in`]), listing them is shared out too, not only
/// their formatting as in [`write_rows`].
pub(crate) fn write_parts(
    out: &mut (dyn std::io::Write + Send),
    parts: usize,
    format: impl Fn(usize, &mut Vec<u8>) -> Result<()> + Sync,
) -> Result<()> {
    in_waves(
        parts,
        4 * rayon::current_num_threads(),
        |part, bytes: &mut Vec<u8>| {
            bytes.clear();
            format(part, bytes)
        },
        |bytes| Ok(out.write_all(bytes)?),
    )
}

/// Makes `parts` parts in order on every core, a wave of `wave` at a time (`fill(part, slot)`),
/// and hands each to `take` in order. A wave is taken while the next is made, so that neither
/// core waits on the other's writes. Each slot is used again for the wave after next: a buffer
/// grown once, and its pages faulted in once, rather than for every part.
pub(crate) fn in_waves<P: Default + Send>(
    parts: usize,
    wave: usize,
    fill: impl Fn(usize, &mut P) -> Result<()> + Sync,
    mut take: impl FnMut(&mut P) -> Result<()> + Send,
) -> Result<()> {
    use rayon::prelude::*;
    let wave = wave.max(1);
    let fill_wave = |first: usize, mut slots: Vec<P>| -> Result<Vec<P>> {
        let last = (first + wave).min(parts);
        slots.resize_with(last.saturating_sub(first), P::default);
        slots.par_iter_mut().enumerate().try_for_each(|(i, slot)| fill(first + i, slot))?;
        Ok(slots)
    };
    let (mut ready, mut spare) = (fill_wave(0, Vec::new())?, Vec::new());
    let mut first = 0;
    loop {
        let next = first + wave;
        let (taken, filled) = rayon::join(
            || -> Result<Vec<P>> {
                for slot in &mut ready {
                    take(slot)?;
                }
                Ok(std::mem::take(&mut ready))
            },
            || if next < parts { fill_wave(next, std::mem::take(&mut spare)).map(Some) } else { Ok(None) },
        );
        spare = taken?;
        match filled? {
            Some(filled) => (ready, first) = (filled, next),
            None => return Ok(()),
        }
    }
}

/// Writes bytes to `path` atomically: a temporary file in the same folder, then a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |f| Ok(f.write_all(bytes)?))
}

/// [`write_atomic`] for output written as it is made (`fill` writes it, buffered), so that a
/// large file is never held whole in memory.
pub fn write_atomic_with(path: &Path, fill: impl FnOnce(&mut (dyn std::io::Write + Send)) -> Result<()>) -> Result<()> {
    // `-o /dev/null`, `/dev/stdout`, a named pipe: written into as they are. Renaming a file
    // over one would replace the device itself (as root, `/dev/null` would become a file).
    if is_special(path) {
        let result = (|| -> Result<()> {
            let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::OpenOptions::new().write(true).open(path)?);
            fill(&mut f)?;
            f.into_inner().map_err(|e| e.into_error())?;
            Ok(())
        })();
        return result.with_context(|| format!("writing {}", path.display()));
    }
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

/// Whether `path` is something other than a file or a folder: a device or a named pipe, which
/// outputs write into rather than replace (and need no lock beside them).
pub fn is_special(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
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

/// [`number`] appended to `s`. The digits are `ryu`'s, the same shortest round-trip digits
/// as `Display` finds, laid out as `Display` lays them out (never an exponent): a credit file
/// writes two numbers per row for tens of millions of rows, and `Display`'s search for the
/// digits took longer than the rest of the row.
pub fn push_number(s: &mut String, x: f64) {
    if x == 0.0 {
        // Avoid "-0", which some readers treat as text.
        s.push('0');
        return;
    }
    if x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0 {
        // A whole number below 2^53 is written exactly, as `Display` writes it.
        s.push_str(itoa::Buffer::new().format(x as i64));
        return;
    }
    if !x.is_finite() || exact_digits_at_most_18(x) {
        // `ryu` and `Display` may part only where `x` lies exactly halfway between two
        // candidates of the shortest length (`ryu` rounds such a tie to even, `Display` up),
        // which needs a decimal expansion that short: those, and infinities, go to `Display`.
        use std::fmt::Write;
        let _ = write!(s, "{x}");
        return;
    }
    let mut buf = ryu::Buffer::new();
    let text = buf.format_finite(x);
    let (negative, text) = match text.strip_prefix('-') {
        Some(t) => (true, t),
        None => (false, text),
    };
    // `ryu` writes `1.5`, `1.0`, `0.001`, `1e16` or `1.5e-7`: the digits, and where the point
    // goes among them.
    let (mantissa, exponent) = match text.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (text, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut digits = [0u8; 40];
    let mut n = 0;
    for &d in int.as_bytes().iter().chain(frac.as_bytes()) {
        if n < digits.len() {
            digits[n] = d;
            n += 1;
        }
    }
    let mut point = int.len() as i32 + exponent;
    // Leading zeros move the point; trailing ones are dropped.
    let lead = digits[..n].iter().take_while(|&&d| d == b'0').count();
    let digits = &digits[lead..n];
    point -= lead as i32;
    let digits = &digits[..digits.len() - digits.iter().rev().take_while(|&&d| d == b'0').count()];
    if negative {
        s.push('-');
    }
    fn ascii(b: &[u8]) -> &str {
        std::str::from_utf8(b).unwrap_or("")
    }
    if point <= 0 {
        s.push_str("0.");
        s.extend(std::iter::repeat_n('0', (-point) as usize));
        s.push_str(ascii(digits));
    } else if point as usize >= digits.len() {
        s.push_str(ascii(digits));
        s.extend(std::iter::repeat_n('0', point as usize - digits.len()));
    } else {
        s.push_str(ascii(&digits[..point as usize]));
        s.push('.');
        s.push_str(ascii(&digits[point as usize..]));
    }
}

/// Whether the exact decimal value of a finite `x` has at most 18 significant digits.
fn exact_digits_at_most_18(x: f64) -> bool {
    let bits = x.abs().to_bits();
    let (biased, fraction) = ((bits >> 52) as i32, bits & ((1 << 52) - 1));
    let (mut m, mut e) = if biased == 0 { (fraction, -1074) } else { (fraction | 1 << 52, biased - 1075) };
    if m == 0 {
        return true;
    }
    let zeros = m.trailing_zeros();
    m >>= zeros;
    e += zeros as i32;
    const LIMIT: u128 = 1_000_000_000_000_000_000;
    if e >= 0 {
        // A whole number: its digits, less the zeros that end it.
        if e > 64 {
            return false;
        }
        let Some(mut n) = (m as u128).checked_shl(e as u32).filter(|n| n >> e == m as u128) else {
            return false;
        };
        while n % 10 == 0 {
            n /= 10;
        }
        return n < LIMIT;
    }
    // m / 2^k with m odd is m * 5^k / 10^k: the digits of m * 5^k, which ends in 5.
    let k = (-e) as u32;
    if k > 26 {
        return false;
    }
    (m as u128) * 5u128.pow(k) < LIMIT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_is_written_into_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("r.csv");
        std::fs::write(&file, "x").unwrap();
        assert!(!is_special(&file) && !is_special(dir.path()) && !is_special(&dir.path().join("none.csv")));
        #[cfg(unix)]
        {
            let null = Path::new("/dev/null");
            assert!(is_special(null));
            write_atomic(null, b"model,channel\n").unwrap();
            assert!(is_special(null), "/dev/null is still a device");
            let leftovers =
                std::fs::read_dir("/dev").unwrap().flatten().filter(|e| e.file_name().to_string_lossy().starts_with(".null.tmp"));
            assert_eq!(leftovers.count(), 0, "no temporary file beside the device");
        }
    }

    #[test]
    fn numbers_round_trip() {
        for x in [0.1, 1.0 / 3.0, 1234567.891, 1e-12, 2.0] {
            assert_eq!(number(x).parse::<f64>().unwrap(), x);
        }
        assert_eq!(number(2.0), "2");
        assert_eq!(number(-0.0), "0");
    }

    /// `number` writes what `Display` writes, digit for digit, for every kind of `f64`: the
    /// shares and revenues of credit files, and values near every power of ten.
    #[test]
    fn numbers_are_written_as_display_writes_them() {
        let display = |x: f64| if x == 0.0 { "0".to_string() } else { format!("{x}") };
        let mut values = vec![
            1.0,
            0.5,
            1.0 / 3.0,
            2.0 / 3.0,
            0.1 + 0.2,
            1e16,
            1e17,
            1.5e-7,
            123456789012345680.0,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
            0.001,
            100.0,
            3993.0,
            f64::NAN,
            f64::INFINITY,
        ];
        for e in -30..=30 {
            let p = 10f64.powi(e);
            values.extend([p, p * 1.5, p * 0.999_999_999, p * 1.000_000_001, p * 7.0 / 3.0]);
        }
        // A simple generator over the whole range of bit patterns, and over shares and revenue.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..300_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            values.push(f64::from_bits(state));
            values.push((state >> 11) as f64 / (1u64 << 53) as f64);
            values.push((state % 10_000_000) as f64 / 100.0 * ((state >> 40) % 7 + 1) as f64 / 7.0);
        }
        for x in values.into_iter().flat_map(|x| [x, -x]) {
            assert_eq!(number(x), display(x), "bits {:#x}", x.to_bits());
        }
    }

    #[test]
    fn formulas_are_neutralized() {
        assert_eq!(neutralize("=HYPERLINK(\"x\")", false), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralize("-5", false), "'-5");
        assert_eq!(neutralize("=1", true), "=1");
        assert_eq!(neutralize("Paid Search", false), "Paid Search");
    }

    #[test]
    fn parts_are_written_in_order_across_waves() {
        // More parts than one wave holds, of unequal sizes, and an empty one.
        for parts in [0, 1, 7, 37, 100] {
            let mut out: Vec<u8> = Vec::new();
            write_parts(&mut out, parts, |p, b| {
                b.extend(std::iter::repeat_n(b'a' + (p % 26) as u8, p % 5));
                b.extend_from_slice(format!("{p};").as_bytes());
                Ok(())
            })
            .unwrap();
            let want: String = (0..parts).map(|p| format!("{}{p};", ((b'a' + (p % 26) as u8) as char).to_string().repeat(p % 5))).collect();
            assert_eq!(String::from_utf8(out).unwrap(), want, "{parts} parts");
        }
        let mut out: Vec<u8> = Vec::new();
        let err = write_parts(&mut out, 50, |p, _| if p == 30 { Err(anyhow!("part {p} failed")) } else { Ok(()) });
        assert_eq!(err.unwrap_err().to_string(), "part 30 failed");
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
