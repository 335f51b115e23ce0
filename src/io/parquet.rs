//! Parquet exports (warehouse dumps, GA4 BigQuery extracts), read by polars one row group at a
//! time and turned into text columns, so that one normalization path serves every format and a
//! file is decoded on every core without being held whole as columns.

use std::borrow::Cow;
use std::io::Cursor;
use std::sync::Arc;

use anyhow::{anyhow, Result};
use polars::io::parquet::read::FileMetadata;
use polars::prelude::*;

use super::{Batch, Block, Decode, Head, Layout, RawTable, Source};
use crate::config::SourceKind;

/// An opened Parquet file: its bytes and its metadata, decoded once.
pub struct File {
    bytes: Cow<'static, [u8]>,
    metadata: Arc<FileMetadata>,
}

/// Row groups are what the format lets a reader decode on their own; a block is one of them.
pub struct Group {
    file: Arc<File>,
    /// The first row of the group in the file, and its row count.
    start: usize,
    len: usize,
}

/// The Parquet reader panics on some malformed files instead of returning an error: a broken
/// file must be an error like any other, never a crash.
fn guarded<T>(what: impl FnOnce() -> PolarsResult<T>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(what)) {
        Ok(r) => r.map_err(|e| anyhow!("not a readable Parquet file: {e}")),
        Err(p) => {
            let why = p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_default();
            Err(anyhow!("not a readable Parquet file (its metadata is malformed: {why})"))
        }
    }
}

pub fn open(name: &str, kind: SourceKind, bytes: Cow<'static, [u8]>) -> Result<Source<'static>> {
    super::thrift_guard::check_footer(&bytes).map_err(|e| anyhow!("not a readable Parquet file: {e}"))?;
    super::thrift_guard::check_pages(&bytes, memory_total()).map_err(|e| anyhow!("not a readable Parquet file: {e}"))?;
    let (metadata, schema) = guarded(|| {
        let mut reader = ParquetReader::new(Cursor::new(&bytes[..]));
        Ok((reader.get_metadata()?.clone(), reader.schema()?))
    })?;
    let headers: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
    let sizes: Vec<usize> = metadata.row_groups.iter().map(|g| g.num_rows()).collect();
    check_group_sizes(&sizes, headers.len(), super::meminfo("MemAvailable").unwrap_or(u64::MAX))?;
    let mut groups = Vec::with_capacity(metadata.row_groups.len());
    let mut start = 0usize;
    for g in &metadata.row_groups {
        if g.num_rows() > 0 {
            groups.push((start, g.num_rows()));
        }
        start = start.saturating_add(g.num_rows());
    }
    let file = Arc::new(File { bytes, metadata });
    let layout = Layout { delimiter: 0, width: headers.len(), decode: Decode::Utf8 };
    let head = Head { name: name.to_string(), kind, headers, delimiter: None, encoding: "parquet" };
    let blocks = groups.into_iter().map(move |(start, len)| Ok(Block::Parquet(Group { file: file.clone(), start, len })));
    Ok(Source { head, layout, blocks: Box::new(blocks) })
}

/// A row group is decoded whole (slicing one re-decodes it from its start), so one that would
/// not fit is refused with a clear error before the reader allocates for it: a few kilobytes of
/// run-length-encoded nulls can declare a billion rows. Per row and column, the decoder's value
/// (16 bytes for text) and the batch's field end (4 bytes), plus the row's line number.
fn check_group_sizes(rows: &[usize], width: usize, available: u64) -> Result<()> {
    let per_row = 8 + 20 * width.max(1) as u64;
    for (i, &n) in rows.iter().enumerate() {
        let need = (n as u64).saturating_mul(per_row);
        if need > available / 4 {
            let gb = |b: u64| b as f64 / 1e9;
            return Err(anyhow!(
                "not a readable Parquet file: row group {} holds {n} rows of {width} columns, about {:.1} GB once decoded, more than a quarter of the {:.1} GB of memory available; write the file with smaller row groups",
                i + 1,
                gb(need),
                gb(available)
            ));
        }
    }
    Ok(())
}

/// The machine's memory in bytes (unbounded where it cannot be read): a file claiming more rows
/// than it could ever hold is refused before the reader allocates for them.
fn memory_total() -> u64 {
    super::meminfo("MemTotal").unwrap_or(u64::MAX)
}

/// The rows a Parquet file on disk declares, read from its footer alone (the file itself is
/// read later, when its turn comes): sizing the run's arrays for a file before its rows arrive.
/// `None` where the footer cannot be read; the file's own reading then says why.
pub fn declared_rows(path: &std::path::Path) -> Option<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    let n = f.metadata().ok()?.len();
    if n < 12 {
        return None;
    }
    let mut end = [0u8; 8];
    f.seek(SeekFrom::Start(n - 8)).ok()?;
    f.read_exact(&mut end).ok()?;
    let len = u64::from(u32::from_le_bytes([end[0], end[1], end[2], end[3]]));
    if &end[4..] != b"PAR1" || len > n - 12 {
        return None;
    }
    let mut metadata = vec![0u8; len as usize];
    f.seek(SeekFrom::Start(n - 8 - len)).ok()?;
    f.read_exact(&mut metadata).ok()?;
    super::thrift_guard::declared_rows(&metadata)
}

impl Group {
    /// Decodes the row group's columns that `read` asks for (all when `None`) as text and
    /// cuts its rows into batches of about `piece` bytes of text each on average, which read
    /// the columns in place (a null, or a column not decoded, is an empty field). A row group
    /// is decoded whole, but writers make them large (a million rows is common): cut like a CSV
    /// file's blocks, its rows are normalized on every core, with per-batch tables small enough
    /// to stay in the processor's caches.
    pub fn rows(self, width: usize, piece: usize, read: Option<&[bool]>) -> Result<Vec<Batch>> {
        let (file, start, len) = (&self.file, self.start, self.len);
        // Decompressing and decoding a column is most of reading one: a column no field reads
        // (a visit's id, a device) is left compressed.
        let wanted: Vec<usize> = (0..width).filter(|&c| read.is_none_or(|r| r.get(c).copied().unwrap_or(false))).collect();
        let mut columns: Vec<Option<super::TextColumn>> = vec![None; width];
        if !wanted.is_empty() {
            let df = guarded(|| {
                let mut reader = ParquetReader::new(Cursor::new(&file.bytes[..]))
                    .with_slice(Some((start, len)))
                    .with_projection((wanted.len() < width).then(|| wanted.clone()));
                reader.set_metadata(file.metadata.clone());
                reader.finish()
            })?;
            if df.width() != wanted.len() || df.height() != len {
                return Err(anyhow!(
                    "not a readable Parquet file: rows {}–{} (one row group) read as {} rows of {} columns; the file declares {len} rows of {}",
                    start + 1,
                    start + len,
                    df.height(),
                    df.width(),
                    wanted.len()
                ));
            }
            for (&c, col) in wanted.iter().zip(df.columns()) {
                let text = col
                    .cast(&DataType::String)
                    .map_err(|e| anyhow!("column `{}` ({}) cannot be read as text: {e}", col.name(), col.dtype()))?;
                // One chunk per column, so that a field is found by its row number alone.
                let chunk = text.str()?.rechunk().downcast_iter().next().cloned();
                if chunk.as_ref().is_none_or(|a| a.len() != len) {
                    return Err(anyhow!(
                        "not a readable Parquet file: column `{}` of rows {}–{} holds {} values; the file declares {len}",
                        col.name(),
                        start + 1,
                        start + len,
                        chunk.as_ref().map_or(0, |a| a.len())
                    ));
                }
                columns[c] = chunk;
            }
        }
        // Pieces share the decoded columns (a clone is a reference count): no text is copied.
        // They take equal numbers of rows, as many as hold about `piece` bytes of text on
        // average: the columns know their total length, so no row is measured on its own.
        let text: usize = columns.iter().flatten().map(text_bytes).sum();
        let rows_per_piece = (len as u128 * piece.max(1) as u128).div_ceil(text.max(1) as u128).clamp(1, len.max(1) as u128) as usize;
        let mut batches = Vec::with_capacity(len.div_ceil(rows_per_piece));
        let mut row = 0;
        while row < len {
            let first = row;
            row = (row + rows_per_piece).min(len);
            batches.push(Batch {
                columns: columns.clone(),
                first,
                width: width.max(1),
                lines: (start + first + 1..start + row + 1).map(|l| l as u64).collect(),
                rows_read: (row - first) as u64,
                bytes: (text as u128 * (row - first) as u128 / len as u128) as u64,
                ..Default::default()
            });
        }
        Ok(batches)
    }
}

/// About how many bytes of text a column holds: summed over at most 4096 evenly spaced rows
/// and scaled, as sizing pieces needs no more (the exact sum walks every value).
fn text_bytes(c: &super::TextColumn) -> usize {
    const SAMPLE: usize = 4096;
    let n = c.len();
    let step = n.div_ceil(SAMPLE).max(1);
    let seen: usize = (0..n).step_by(step).map(|i| c.get(i).map_or(0, str::len)).sum();
    (seen as u128 * n as u128 / n.div_ceil(step).max(1) as u128) as usize
}

pub fn load(name: &str, kind: SourceKind, bytes: &[u8]) -> Result<RawTable> {
    RawTable::collect(open(name, kind, Cow::Owned(bytes.to_vec()))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(row_group: usize) -> Vec<u8> {
        let id: Vec<Option<&str>> = vec![Some("a"), Some("b"), None, Some("d"), Some("e"), Some("f"), Some("g"), Some("h")];
        let n: Vec<Option<i64>> = vec![Some(1), None, Some(3), Some(4), Some(5), Some(6), Some(7), Some(-8)];
        let x: Vec<Option<f64>> = vec![Some(0.5); 8];
        let mut df = DataFrame::new(
            8,
            vec![
                Series::new("id".into(), id).into_column(),
                Series::new("n".into(), n).into_column(),
                Series::new("x".into(), x).into_column(),
            ],
        )
        .unwrap();
        let mut buf = Vec::new();
        ParquetWriter::new(&mut buf).with_row_group_size(Some(row_group)).finish(&mut df).unwrap();
        buf
    }

    #[test]
    fn declared_rows_are_read_from_the_footer_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        std::fs::write(&path, file(3)).unwrap();
        assert_eq!(declared_rows(&path), Some(8));
        // Not Parquet, cut short, or a footer longer than the file: no figure, no panic.
        std::fs::write(&path, b"date;source\n01.02.2026;yandex\n").unwrap();
        assert_eq!(declared_rows(&path), None);
        let mut cut = file(3);
        cut.drain(..cut.len() - 20);
        std::fs::write(&path, &cut).unwrap();
        assert_eq!(declared_rows(&path), None);
        assert_eq!(declared_rows(&dir.path().join("missing.parquet")), None);
    }

    #[test]
    fn a_row_group_too_large_for_memory_is_refused() {
        // 12 columns: 248 bytes a row once decoded.
        assert!(check_group_sizes(&[1_000_000, 1_000_000], 12, 4_000_000_000).is_ok());
        let err = check_group_sizes(&[1_000_000, 20_000_000], 12, 4_000_000_000).unwrap_err().to_string();
        assert!(err.contains("row group 2 holds 20000000 rows of 12 columns"), "{err}");
        assert!(err.contains("smaller row groups"), "{err}");
    }

    #[test]
    fn reads_row_groups_as_batches_in_order() {
        let t = load("t.parquet", SourceKind::Visits, &file(3)).unwrap();
        assert_eq!(t.headers, vec!["id", "n", "x"]);
        // The writer evens the groups out; what matters is that there are several.
        assert!(t.batches.len() > 1);
        assert_eq!(t.batches.iter().map(|b| b.height()).sum::<usize>(), 8);
        let rows: Vec<(String, String, u64)> = t
            .batches
            .iter()
            .flat_map(|b| (0..b.height()).map(move |r| (b.get(r, 0).to_string(), b.get(r, 1).to_string(), b.lines[r])))
            .collect();
        assert_eq!(rows[1], ("b".to_string(), String::new(), 2), "a null is an empty field");
        assert_eq!(rows[2], (String::new(), "3".to_string(), 3));
        assert_eq!(rows[7], ("h".to_string(), "-8".to_string(), 8), "rows are numbered across row groups");
        assert_eq!(t.batches[1].get(1, 2), "0.5");
        // One row group or many: the same rows.
        let whole = load("t.parquet", SourceKind::Visits, &file(100)).unwrap();
        assert_eq!(whole.batches.len(), 1);
        let flat = |t: &RawTable| -> Vec<String> {
            t.batches.iter().flat_map(|b| (0..b.height()).flat_map(move |r| (0..3).map(move |c| b.get(r, c).to_string()))).collect()
        };
        assert_eq!(flat(&t), flat(&whole));
    }

    #[test]
    fn only_the_columns_read_are_decoded() {
        let group = || match open("t.parquet", SourceKind::Visits, Cow::Owned(file(100))).unwrap().blocks.next() {
            Some(Ok(Block::Parquet(g))) => g,
            _ => panic!("one row group"),
        };
        let all = group().rows(3, 1000, None).unwrap();
        let pieces = group().rows(3, 1000, Some(&[true, false, true])).unwrap();
        let b = &pieces[0];
        assert!(b.columns[1].is_none() && all[0].columns[1].is_some(), "the unread column is not decoded");
        let rows = |b: &Batch| -> Vec<[String; 3]> { (0..b.height()).map(|r| [0, 1, 2].map(|c| b.get(r, c).to_string())).collect() };
        let want: Vec<[String; 3]> = rows(&all[0]).into_iter().map(|[a, _, c]| [a, String::new(), c]).collect();
        assert_eq!(rows(b), want);
        assert_eq!(rows(b)[3], ["d".to_string(), String::new(), "0.5".to_string()]);
        // Nothing read at all: the rows are still there, each field empty.
        let pieces = group().rows(3, 1000, Some(&[false, false, false])).unwrap();
        assert_eq!((pieces.iter().map(Batch::height).sum::<usize>(), pieces[0].get(7, 0)), (8, ""));
        assert_eq!(pieces[0].lines, (1..=8).collect::<Vec<u64>>());
    }

    #[test]
    fn a_row_group_is_cut_into_pieces_of_the_block_size() {
        let group = || {
            let mut blocks = open("t.parquet", SourceKind::Visits, Cow::Owned(file(100))).unwrap().blocks;
            match (blocks.next(), blocks.next()) {
                (Some(Ok(Block::Parquet(g))), None) => g,
                _ => panic!("one row group"),
            }
        };
        // The 8 rows hold 39 bytes of text ("a" "1" "0.5"...), about 4.9 a row: pieces of 7
        // bytes take 2 rows, pieces of 12 take 3 (and the last what is left).
        let pieces = group().rows(3, 7, None).unwrap();
        let heights: Vec<usize> = pieces.iter().map(Batch::height).collect();
        assert_eq!(heights, [2, 2, 2, 2]);
        let heights: Vec<usize> = group().rows(3, 12, None).unwrap().iter().map(Batch::height).collect();
        assert_eq!(heights, [3, 3, 2]);
        assert_eq!(group().rows(3, 1000, None).unwrap().len(), 1, "a piece larger than the group takes it whole");
        let lines: Vec<u64> = pieces.iter().flat_map(|b| b.lines.clone()).collect();
        assert_eq!(lines, (1..=8).collect::<Vec<u64>>(), "rows keep their numbers across pieces");
        assert_eq!(pieces.iter().map(|b| b.rows_read).sum::<u64>(), 8);
        assert_eq!((pieces[1].get(0, 0), pieces[1].get(0, 1), pieces[3].get(1, 1)), ("", "3", "-8"));
        // A piece smaller than one row still takes a row.
        assert_eq!(group().rows(3, 1, None).unwrap().len(), 8);
    }
}
