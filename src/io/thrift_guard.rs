//! A structural check of a Parquet file's footer (Thrift compact protocol) before the Parquet
//! reader sees it. The reader trusts the list lengths written in the metadata and allocates them
//! up front, so a corrupt or hostile file could ask for hundreds of gigabytes and abort the
//! process. Every element of a list takes at least one byte, so a list claiming more elements
//! than bytes remain is corrupt, and the file is refused with an error instead.
//!
//! The same holds for the page headers inside the column chunks, which the reader trusts while
//! decoding: [`check_pages`] walks them before the reader runs and refuses a page that claims
//! more bytes than its chunk holds or more values than its row group has rows, and a file whose
//! claimed rows could not fit in memory.

use anyhow::{bail, Context as _, Result};

const MAX_DEPTH: usize = 64;

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8> {
        let Some(&x) = self.b.get(self.pos) else { bail!("metadata ends early") };
        self.pos += 1;
        Ok(x)
    }

    fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let x = self.byte()?;
            if shift < 64 {
                v |= u64::from(x & 0x7f) << shift;
            }
            if x & 0x80 == 0 {
                return Ok(v);
            }
        }
        bail!("a number in the metadata is too long")
    }

    fn skip(&mut self, n: u64) -> Result<()> {
        let left = (self.b.len() - self.pos) as u64;
        if n > left {
            bail!("a field claims {n} bytes but only {left} remain");
        }
        self.pos += n as usize;
        Ok(())
    }

    fn remaining(&self) -> u64 {
        (self.b.len() - self.pos) as u64
    }

    fn value(&mut self, ty: u8, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            bail!("the metadata nests deeper than {MAX_DEPTH} levels");
        }
        match ty {
            1 | 2 => Ok(()),
            3 => self.skip(1),
            4..=6 => self.varint().map(|_| ()),
            7 => self.skip(8),
            8 => {
                let n = self.varint()?;
                self.skip(n)
            }
            9 | 10 => {
                let h = self.byte()?;
                let n = if h >> 4 == 15 { self.varint()? } else { u64::from(h >> 4) };
                let elem = h & 0x0f;
                self.elements(n, depth, |r, d| r.value(if elem == 1 || elem == 2 { 3 } else { elem }, d))
            }
            11 => {
                let n = self.varint()?;
                if n == 0 {
                    return Ok(());
                }
                let kv = self.byte()?;
                let (k, v) = (kv >> 4, kv & 0x0f);
                self.elements(n, depth, |r, d| {
                    r.value(k, d)?;
                    r.value(v, d)
                })
            }
            12 => self.fields(depth + 1),
            other => bail!("unknown value type {other} in the metadata"),
        }
    }

    fn zigzag(&mut self) -> Result<i64> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    /// Decodes integers, lists and structures (what the page checks read); skips the rest.
    fn decode(&mut self, ty: u8, depth: usize) -> Result<Val> {
        match ty {
            4..=6 => Ok(Val::Int(self.zigzag()?)),
            9 | 10 => {
                if depth > MAX_DEPTH {
                    bail!("the metadata nests deeper than {MAX_DEPTH} levels");
                }
                let h = self.byte()?;
                let n = if h >> 4 == 15 { self.varint()? } else { u64::from(h >> 4) };
                let elem = h & 0x0f;
                let elem = if elem == 1 || elem == 2 { 3 } else { elem };
                let mut out = Vec::new();
                self.elements(n, depth, |r, d| {
                    out.push(r.decode(elem, d)?);
                    Ok(())
                })?;
                Ok(Val::List(out))
            }
            12 => Ok(Val::Struct(self.decode_struct(depth + 1)?)),
            other => self.value(other, depth).map(|_| Val::Other),
        }
    }

    fn decode_struct(&mut self, depth: usize) -> Result<Vec<(i16, Val)>> {
        if depth > MAX_DEPTH {
            bail!("the metadata nests deeper than {MAX_DEPTH} levels");
        }
        let (mut out, mut last) = (Vec::new(), 0i16);
        loop {
            let h = self.byte()?;
            if h == 0 {
                return Ok(out);
            }
            let id = match h >> 4 {
                0 => self.zigzag()? as i16,
                delta => last.wrapping_add(i16::from(delta)),
            };
            last = id;
            let ty = h & 0x0f;
            // A boolean field carries its value in the type; there is nothing after it.
            let v = if ty == 1 || ty == 2 { Val::Other } else { self.decode(ty, depth)? };
            out.push((id, v));
        }
    }

    fn elements(&mut self, n: u64, depth: usize, mut each: impl FnMut(&mut Self, usize) -> Result<()>) -> Result<()> {
        if n > self.remaining() {
            bail!("a list claims {n} elements but only {} bytes remain", self.remaining());
        }
        for _ in 0..n {
            each(self, depth + 1)?;
        }
        Ok(())
    }

    fn fields(&mut self, depth: usize) -> Result<()> {
        loop {
            let h = self.byte()?;
            if h == 0 {
                return Ok(());
            }
            if h >> 4 == 0 {
                self.varint()?;
            }
            self.value(h & 0x0f, depth)?;
        }
    }
}

/// Checks the footer of a whole Parquet file: magic bytes, metadata length, and the metadata's
/// structure with every length within bounds.
pub fn check_footer(file: &[u8]) -> Result<()> {
    let n = file.len();
    if n < 12 || &file[..4] != b"PAR1" || &file[n - 4..] != b"PAR1" {
        bail!("not a Parquet file (no PAR1 marks at both ends)");
    }
    let len = u32::from_le_bytes([file[n - 8], file[n - 7], file[n - 6], file[n - 5]]) as usize;
    if len > n - 12 {
        bail!("the footer claims {len} bytes of metadata in a {n}-byte file");
    }
    let mut r = Reader { b: &file[n - 8 - len..n - 8], pos: 0 };
    r.fields(0)
}

/// The rows a Parquet file declares (`FileMetaData.num_rows`), from its metadata: the bytes
/// before the footer's length and closing marks. `None` where the metadata cannot be read.
pub fn declared_rows(metadata: &[u8]) -> Option<u64> {
    let meta = Reader { b: metadata, pos: 0 }.decode_struct(0).ok()?;
    int(&meta, 3).and_then(|n| u64::try_from(n).ok())
}

/// A Thrift value as far as the page checks need it.
enum Val {
    Int(i64),
    List(Vec<Val>),
    Struct(Vec<(i16, Val)>),
    Other,
}

fn field(s: &[(i16, Val)], id: i16) -> Option<&Val> {
    s.iter().rev().find(|(i, _)| *i == id).map(|(_, v)| v)
}

fn int(s: &[(i16, Val)], id: i16) -> Option<i64> {
    match field(s, id) {
        Some(Val::Int(v)) => Some(*v),
        _ => None,
    }
}

fn structure(s: &[(i16, Val)], id: i16) -> Option<&[(i16, Val)]> {
    match field(s, id) {
        Some(Val::Struct(v)) => Some(v),
        _ => None,
    }
}

fn list(s: &[(i16, Val)], id: i16) -> &[Val] {
    match field(s, id) {
        Some(Val::List(v)) => v,
        _ => &[],
    }
}

/// What a field of the metadata must be, where the reader trusts it: it reads a field by its
/// number, not by the type the file writes, so a list written as a number would have the
/// reader take the bytes after it for a list header (and allocate for the count it finds there).
#[derive(Clone, Copy)]
enum Shape {
    Structure,
    List,
    ListOfStructures,
    /// An `i64` or `i16`; an enum or `i32` is [`Shape::Int32`].
    Int,
    Int32,
}

fn require_shapes(s: &[(i16, Val)], fields: &[(i16, Shape)], what: &str) -> Result<()> {
    for &(id, shape) in fields {
        let ok = match (field(s, id), shape) {
            (None, _) | (Some(Val::Struct(_)), Shape::Structure) | (Some(Val::List(_)), Shape::List) => true,
            (Some(Val::List(items)), Shape::ListOfStructures) => items.iter().all(|v| matches!(v, Val::Struct(_))),
            (Some(Val::Int(_)), Shape::Int) => true,
            (Some(Val::Int(v)), Shape::Int32) => i32::try_from(*v).is_ok(),
            _ => false,
        };
        if !ok {
            bail!("field {id} of the {what} is not of the type the format gives it");
        }
    }
    Ok(())
}

fn structures<'a>(s: &'a [(i16, Val)], id: i16) -> impl Iterator<Item = &'a [(i16, Val)]> + 'a {
    list(s, id).iter().filter_map(|v| match v {
        Val::Struct(x) => Some(x.as_slice()),
        _ => None,
    })
}

/// Checks the shape of every structure and list field the reader decodes (Parquet's
/// `parquet.thrift`: FileMetaData, SchemaElement, RowGroup, ColumnChunk, ColumnMetaData).
fn check_shapes(meta: &[(i16, Val)]) -> Result<()> {
    use Shape::*;
    require_shapes(
        meta,
        &[(1, Int32), (2, ListOfStructures), (3, Int), (4, ListOfStructures), (5, ListOfStructures), (7, ListOfStructures), (8, Structure)],
        "file metadata",
    )?;
    // Integer fields too: a reader that takes a field by its number reads the bytes of any
    // other type as an integer and loses its place in the rest of the footer.
    for schema in structures(meta, 2) {
        require_shapes(
            schema,
            &[(1, Int32), (2, Int32), (3, Int32), (5, Int32), (6, Int32), (7, Int32), (8, Int32), (9, Int32), (10, Structure)],
            "schema",
        )?;
    }
    for rg in structures(meta, 4) {
        require_shapes(rg, &[(1, ListOfStructures), (2, Int), (3, Int), (4, ListOfStructures), (5, Int), (6, Int), (7, Int)], "row group")?;
        for chunk in structures(rg, 1) {
            require_shapes(chunk, &[(2, Int), (3, Structure), (4, Int), (5, Int32), (6, Int), (7, Int32), (8, Structure)], "column chunk")?;
            if let Some(md) = structure(chunk, 3) {
                require_shapes(
                    md,
                    &[
                        (1, Int32),
                        (2, List),
                        (3, List),
                        (4, Int32),
                        (5, Int),
                        (6, Int),
                        (7, Int),
                        (8, ListOfStructures),
                        (9, Int),
                        (10, Int),
                        (11, Int),
                        (12, Structure),
                        (13, ListOfStructures),
                        (14, Int),
                        (15, Int32),
                        (16, Structure),
                    ],
                    "column metadata",
                )?;
            }
        }
    }
    Ok(())
}

/// The shapes of a page header's fields (`PageHeader` and the headers it holds).
fn check_page_shapes(h: &[(i16, Val)]) -> Result<()> {
    use Shape::*;
    require_shapes(
        h,
        &[(1, Int32), (2, Int32), (3, Int32), (4, Int32), (5, Structure), (6, Structure), (7, Structure), (8, Structure)],
        "page header",
    )?;
    if let Some(d) = structure(h, 5) {
        require_shapes(d, &[(1, Int32), (2, Int32), (3, Int32), (4, Int32), (5, Structure)], "data page header")?;
    }
    if let Some(d) = structure(h, 7) {
        require_shapes(d, &[(1, Int32), (2, Int32)], "dictionary page header")?;
    }
    if let Some(d) = structure(h, 8) {
        require_shapes(d, &[(1, Int32), (2, Int32), (3, Int32), (4, Int32), (5, Int32), (6, Int32), (8, Structure)], "data page header")?;
    }
    Ok(())
}

/// Bytes each value of a column takes once read, at the least (a string view).
const BYTES_PER_VALUE: u128 = 16;

/// Walks every page header of every column chunk (after [`check_footer`] has passed). A page
/// must lie inside its chunk and the chunk inside the file; a page may not claim more values
/// than its row group has rows (touchpath reads flat tables, where a page holds one value per
/// row at most); and the rows all row groups claim must fit in `memory` bytes once read.
pub fn check_pages(file: &[u8], memory: u64) -> Result<()> {
    let n = file.len();
    let len = match file.get(n.saturating_sub(8)..n.saturating_sub(4)) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]) as usize,
        _ => bail!("not a Parquet file (too short)"),
    };
    let Some(footer) = n.checked_sub(12 + len).map(|x| x + 4) else {
        bail!("the footer claims {len} bytes of metadata in a {n}-byte file")
    };
    let meta = Reader { b: &file[footer..n - 8], pos: 0 }.decode_struct(0)?;
    check_shapes(&meta)?;
    let mut cells: u128 = 0;
    for (g, rg) in list(&meta, 4).iter().enumerate() {
        let Val::Struct(rg) = rg else { bail!("row group {g} is not a structure") };
        let rows = int(rg, 3).unwrap_or(0);
        if rows < 0 {
            bail!("row group {g} claims {rows} rows");
        }
        let columns = list(rg, 1);
        cells += rows as u128 * columns.len() as u128;
        for (c, chunk) in columns.iter().enumerate() {
            let Val::Struct(chunk) = chunk else { bail!("row group {g}, column {c} is not a structure") };
            let Some(md) = structure(chunk, 3) else { continue };
            let where_ = || format!("row group {g}, column {c}");
            let data = int(md, 9).unwrap_or(-1);
            let start = match int(md, 11) {
                Some(d) if d > 0 && d < data => d,
                _ => data,
            };
            let size = int(md, 7).unwrap_or(-1);
            if start < 4 || size < 0 || start.checked_add(size).is_none_or(|e| e as u64 > footer as u64) {
                bail!("{}: its pages ({size} bytes from byte {start}) lie outside the file's data", where_());
            }
            let (mut pos, end) = (start as usize, (start + size) as usize);
            while pos < end {
                let mut r = Reader { b: &file[pos..end], pos: 0 };
                let h = r.decode_struct(0).with_context(|| format!("{}: a page header at byte {pos}", where_()))?;
                check_page_shapes(&h).with_context(|| format!("{}: the page header at byte {pos}", where_()))?;
                let (raw, packed) = (int(&h, 2).unwrap_or(-1), int(&h, 3).unwrap_or(-1));
                if packed < 0 || packed as u64 > r.remaining() || raw < 0 {
                    bail!("{}: a page at byte {pos} claims {packed} bytes ({raw} unpacked) where {} remain", where_(), r.remaining());
                }
                if raw as u64 > memory {
                    bail!("{}: a page at byte {pos} unpacks to {raw} bytes, more than the memory available", where_());
                }
                for header in [5, 7, 8] {
                    let values = structure(&h, header).and_then(|s| int(s, 1)).unwrap_or(0);
                    if values < 0 || values > rows {
                        bail!("{}: a page at byte {pos} claims {values} values in a row group of {rows} rows", where_());
                    }
                }
                pos += r.pos + packed as usize;
            }
        }
    }
    if cells * BYTES_PER_VALUE > u128::from(memory) {
        bail!("the file claims {cells} values, more than the memory available can hold");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(meta: &[u8]) -> Vec<u8> {
        let mut f = b"PAR1".to_vec();
        f.extend_from_slice(meta);
        f.extend_from_slice(&(meta.len() as u32).to_le_bytes());
        f.extend_from_slice(b"PAR1");
        f
    }

    /// A Thrift compact writer, just enough for hand-made Parquet files.
    struct W {
        b: Vec<u8>,
        last: Vec<i16>,
    }

    impl W {
        fn varint(&mut self, mut v: u64) {
            while v >= 0x80 {
                self.b.push((v as u8) | 0x80);
                v >>= 7;
            }
            self.b.push(v as u8);
        }
        fn field(&mut self, id: i16, ty: u8) {
            let last = self.last.last_mut().unwrap();
            let d = id - *last;
            *last = id;
            if (1..=15).contains(&d) {
                self.b.push(((d as u8) << 4) | ty);
            } else {
                self.b.push(ty);
                self.varint(((id << 1) ^ (id >> 15)) as u16 as u64);
            }
        }
        fn int(&mut self, id: i16, v: i64) {
            self.field(id, 6);
            self.varint(((v << 1) ^ (v >> 63)) as u64);
        }
        fn begin(&mut self, id: i16) {
            self.field(id, 12);
            self.last.push(0);
        }
        fn list(&mut self, id: i16, n: u8) {
            self.field(id, 9);
            self.b.push((n << 4) | 12);
        }
        fn element(&mut self) {
            self.last.push(0);
        }
        fn end(&mut self) {
            self.b.push(0);
            self.last.pop();
        }
    }

    /// One row group of `rows` rows, one column, one data page claiming `values` values and
    /// `packed` bytes, of which `present` follow it.
    fn parquet(rows: i64, values: i64, packed: i64, present: usize, chunk_extra: i64) -> Vec<u8> {
        let mut page = W { b: Vec::new(), last: vec![0] };
        page.int(1, 0);
        page.int(2, packed);
        page.int(3, packed);
        page.begin(5);
        page.int(1, values);
        page.end();
        page.b.push(0);
        page.b.extend(std::iter::repeat_n(0u8, present));
        let mut f = b"PAR1".to_vec();
        let chunk = page.b.len() as i64 + chunk_extra;
        f.extend_from_slice(&page.b);
        let mut m = W { b: Vec::new(), last: vec![0] };
        m.int(1, 1);
        m.int(3, rows);
        m.list(4, 1);
        m.element();
        m.list(1, 1);
        m.element();
        m.int(2, 4);
        m.begin(3);
        m.int(7, chunk);
        m.int(9, 4);
        m.end();
        m.end();
        m.int(3, rows);
        m.end();
        m.b.push(0);
        f.extend_from_slice(&m.b);
        f.extend_from_slice(&(m.b.len() as u32).to_le_bytes());
        f.extend_from_slice(b"PAR1");
        f
    }

    fn pages(f: &[u8], memory: u64) -> Result<()> {
        check_footer(f)?;
        check_pages(f, memory)
    }

    #[test]
    fn sane_pages_pass_and_page_bombs_fail() {
        assert!(pages(&parquet(3, 3, 8, 8, 0), 1 << 30).is_ok());
        assert!(check_pages(b"PAR1", 1 << 30).is_err());
        let err = |f: Vec<u8>, memory: u64| pages(&f, memory).unwrap_err().to_string();
        let e = err(parquet(3, 1 << 20, 8, 8, 0), 1 << 30);
        assert!(e.contains("claims 1048576 values in a row group of 3 rows"), "{e}");
        // A count past the 32 bits the format gives it is refused before it is compared.
        let e = format!("{:#}", pages(&parquet(3, 1 << 40, 8, 8, 0), 1 << 30).unwrap_err());
        assert!(e.contains("field 1 of the data page header is not of the type the format gives it"), "{e}");
        let e = err(parquet(3, 3, 1 << 30, 8, 0), 1 << 40);
        assert!(e.contains("claims 1073741824 bytes"), "{e}");
        let e = err(parquet(3, 3, 8, 8, 1 << 20), 1 << 30);
        assert!(e.contains("outside the file"), "{e}");
        let e = err(parquet(1 << 40, 3, 8, 8, 0), 1 << 30);
        assert!(e.contains("more than the memory available"), "{e}");
        let e = err(parquet(3, 3, 1 << 20, 1 << 20, 0), 1 << 10);
        assert!(e.contains("unpacks to 1048576 bytes"), "{e}");
    }

    #[test]
    fn sane_metadata_passes_and_list_bombs_fail() {
        // field 1 (i32) = 1, field 2: list of 2 i32, then stop.
        assert!(check_footer(&file(&[0x15, 0x02, 0x19, 0x25, 0x02, 0x04, 0x00])).is_ok());
        // field 2: a list claiming 2^40 elements.
        let err = check_footer(&file(&[0x19, 0xf5, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0x00])).unwrap_err();
        assert!(err.to_string().contains("claims"), "{err}");
        assert!(check_footer(b"PAR1PAR1").is_err());
        assert!(check_footer(&file(&[0x19])).is_err());
    }
}
