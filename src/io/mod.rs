//! Loading: turns each configured export (CSV, gzip CSV, Parquet, or a demo file) into batches of
//! text fields, so that normalization sees one shape whatever the file format was. Files are read
//! in blocks cut at record boundaries, so large exports stream through bounded memory and the
//! blocks can be tokenized and normalized on every core.

pub mod csv;
pub mod demo;
pub mod parquet;
pub mod pool;
pub mod schema;
pub mod thrift_guard;

use std::io::Read;

use anyhow::{bail, Context as _, Result};
use rayon::prelude::*;

use crate::config::{FileFormat, Location, SourceKind, SourceSpec};
use crate::summary::Reject;

/// What is known about a file once its header is read.
#[derive(Clone, Debug)]
pub struct Head {
    pub name: String,
    pub kind: SourceKind,
    pub headers: Vec<String>,
    /// What was detected, for `inspect` and messages.
    pub delimiter: Option<u8>,
    pub encoding: &'static str,
}

/// A Parquet file's text column, as decoded (values of up to 12 bytes sit in the column's own
/// slots, longer ones in shared buffers).
pub(crate) type TextColumn = <polars::prelude::StringType as polars::prelude::PolarsDataType>::Array;

/// Rows of one block, every field as text: one buffer and the span of each field in it, or the
/// decoded columns of a Parquet row group read in place.
#[derive(Debug, Default)]
pub struct Batch {
    /// A Parquet piece: the row group's columns, whole (shared between its pieces; `None` for
    /// a column nothing reads, never decoded), and the piece's first row in them. Empty for CSV.
    pub(crate) columns: Vec<Option<TextColumn>>,
    pub(crate) first: usize,
    pub(crate) text: String,
    /// `spans[i]` is the start and end of field `i` (row-major) in `text`.
    pub(crate) spans: Vec<[u32; 2]>,
    width: usize,
    /// Line (CSV, header included) or row number (Parquet) of each row, 1-based.
    pub lines: Vec<u64>,
    /// Rows that could not be split into fields at all.
    pub rejects: Vec<Reject>,
    /// Every data row seen, kept or rejected.
    pub rows_read: u64,
    /// Rows of an auto-detected UTF-8 file that were not UTF-8 and were read as Windows-1251.
    pub cp1251_rows: u64,
    /// Bytes of input the block covered, for progress.
    pub bytes: u64,
}

impl Batch {
    /// A batch of rows of `width` fields, with room for `fields` fields.
    pub(crate) fn new(width: usize, fields: usize) -> Batch {
        Batch { text: String::new(), spans: pool::ends(fields), width, ..Default::default() }
    }

    pub fn height(&self) -> usize {
        self.lines.len()
    }

    /// Fields per row.
    pub(crate) fn width(&self) -> usize {
        self.width
    }

    /// Hands the buffers back to this thread's pool for the next block.
    pub fn recycle(self) {
        pool::give_bytes(self.text.into_bytes());
        pool::give_ends(self.spans);
    }

    /// Field `col` of row `row`, exactly as written (quotes removed).
    #[inline]
    pub fn get(&self, row: usize, col: usize) -> &str {
        if !self.columns.is_empty() {
            return match self.columns.get(col) {
                Some(Some(c)) => c.get(self.first + row).unwrap_or(""),
                _ => "",
            };
        }
        match self.spans.get(row * self.width + col) {
            Some(&[a, b]) => self.text.get(a as usize..b as usize).unwrap_or(""),
            None => "",
        }
    }
}

/// A piece of a file not yet split into fields: raw bytes starting at a record boundary, or a
/// range of rows of a Parquet file.
pub enum Block {
    Text { bytes: Vec<u8>, first_line: u64, breaks: u64, offset: u64 },
    Parquet(parquet::Group),
}

/// How a block's bytes are turned into text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decode {
    /// UTF-8; a block that is not is an error naming the offset.
    Utf8,
    /// UTF-8; a row that is not is read as Windows-1251 (auto-detection decided UTF-8).
    Utf8Lenient,
    Cp1251,
}

/// How to split a block: what `open` learned from the file's start.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    pub delimiter: u8,
    pub width: usize,
    pub decode: Decode,
}

impl Block {
    /// Splits the block into fields: one batch for a CSV block, and batches of a CSV block's
    /// size for a Parquet row group. `read` says which columns will be read (all when `None`):
    /// a Parquet file decodes only those, and the others read as empty; text is split whole.
    pub fn parse(self, name: &str, layout: &Layout, read: Option<&[bool]>) -> Result<Vec<Batch>> {
        match self {
            Block::Text { bytes, first_line, breaks, offset } => Ok(vec![csv::tokenize(name, bytes, first_line, breaks, offset, layout)?]),
            Block::Parquet(group) => group.rows(layout.width, csv::block_bytes(), read),
        }
    }
}

/// An opened export: its header and its blocks, read on demand.
pub struct Source<'a> {
    pub head: Head,
    pub layout: Layout,
    pub blocks: Box<dyn Iterator<Item = Result<Block>> + Send + 'a>,
}

/// A whole export in memory (for `inspect`, `init`, the tests and the fuzzers).
pub struct RawTable {
    pub name: String,
    pub kind: SourceKind,
    pub headers: Vec<String>,
    pub batches: Vec<Batch>,
    pub delimiter: Option<u8>,
    pub encoding: &'static str,
}

impl RawTable {
    /// Reads every block of an opened source, tokenizing blocks in parallel.
    pub fn collect(source: Source<'_>) -> Result<RawTable> {
        let Source { head, layout, blocks } = source;
        let blocks = blocks.collect::<Result<Vec<_>>>()?;
        let batches: Vec<Batch> =
            blocks.into_par_iter().map(|b| b.parse(&head.name, &layout, None)).collect::<Result<Vec<_>>>()?.into_iter().flatten().collect();
        let encoding = if batches.iter().any(|b| b.cp1251_rows > 0) { "utf-8, some rows windows-1251" } else { head.encoding };
        Ok(RawTable { name: head.name, kind: head.kind, headers: head.headers, batches, delimiter: head.delimiter, encoding })
    }

    pub fn height(&self) -> usize {
        self.batches.iter().map(Batch::height).sum()
    }

    pub fn rows_read(&self) -> u64 {
        self.batches.iter().map(|b| b.rows_read).sum()
    }

    pub fn rejects(&self) -> impl Iterator<Item = &Reject> {
        self.batches.iter().flat_map(|b| &b.rejects)
    }

    /// Every value of a column, by header position.
    pub fn column(&self, col: usize) -> impl Iterator<Item = &str> {
        self.batches.iter().flat_map(move |b| (0..b.height()).map(move |r| b.get(r, col)))
    }

    /// The head and the already-parsed batches, for normalization.
    pub fn head(&self) -> Head {
        Head { name: self.name.clone(), kind: self.kind, headers: self.headers.clone(), delimiter: self.delimiter, encoding: self.encoding }
    }
}

/// Opens a source's bytes as a stream: a file from disk or a demo file from the binary.
fn reader(loc: &Location) -> Result<Box<dyn Read + Send>> {
    match loc {
        Location::File(p) => {
            let f = std::fs::File::open(p).map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    anyhow::anyhow!("input file {} does not exist", p.display())
                } else {
                    anyhow::anyhow!("reading {}: {e}", p.display())
                }
            })?;
            Ok(Box::new(f))
        }
        Location::Embedded { bytes, .. } => Ok(Box::new(std::io::Cursor::new(*bytes))),
    }
}

/// Reads the raw bytes of a source: a file from disk or a demo file from the binary.
pub fn read_bytes(loc: &Location) -> Result<std::borrow::Cow<'static, [u8]>> {
    match loc {
        Location::File(_) => {
            let mut bytes = Vec::new();
            reader(loc)?.read_to_end(&mut bytes).with_context(|| format!("reading {}", loc.display_name()))?;
            Ok(std::borrow::Cow::Owned(bytes))
        }
        Location::Embedded { bytes, .. } => Ok(std::borrow::Cow::Borrowed(bytes)),
    }
}

/// Opens one configured source: reads its header and prepares its blocks.
pub fn open(spec: &SourceSpec) -> Result<Source<'static>> {
    let name = spec.location.display_name();
    let source = match spec.format {
        FileFormat::Csv => reader(&spec.location).and_then(|r| csv::open(&name, spec.kind, r, spec.delimiter, spec.encoding)),
        FileFormat::Parquet => read_bytes(&spec.location).and_then(|b| parquet::open(&name, spec.kind, b)),
    }
    .with_context(|| format!("reading {name} ({})", spec.kind))?;
    if source.head.headers.is_empty() {
        bail!("reading {name}: the file has no header row");
    }
    Ok(source)
}

/// Loads one configured source whole.
pub fn load(spec: &SourceSpec) -> Result<RawTable> {
    let name = spec.location.display_name();
    RawTable::collect(open(spec)?).with_context(|| format!("reading {name} ({})", spec.kind))
}

/// A figure of the system's memory from `/proc/meminfo` (`MemTotal`, `MemAvailable`), in bytes;
/// `None` where it cannot be read.
pub fn meminfo(key: &str) -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.strip_prefix(key).is_some_and(|rest| rest.starts_with(':')))?;
    line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kb| kb.saturating_mul(1024))
}
