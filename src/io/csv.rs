//! CSV exports as business systems write them: any of `,` `;` tab `|`, UTF-8 with or without BOM,
//! Windows-1251 or UTF-16 with its BOM (Excel's "Unicode text"), optionally gzip-compressed.
//! Read with the `csv` crate rather than polars' reader because every rejected row must carry
//! its line number and the encoding must be decoded first.

use std::io::Read;

use super::RawTable;
use crate::config::{Encoding, SourceKind};
use crate::summary::Reject;
use anyhow::{anyhow, bail, Result};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Undoes gzip when the bytes start with its magic number.
pub fn gunzip_if_needed(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>> {
    if bytes.starts_with(&GZIP_MAGIC) {
        let mut out = Vec::with_capacity(bytes.len() * 4);
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(|e| anyhow!("the file looks gzip-compressed but cannot be decompressed: {e}"))?;
        Ok(std::borrow::Cow::Owned(out))
    } else {
        Ok(std::borrow::Cow::Borrowed(bytes))
    }
}

/// Decodes to UTF-8 text; returns the text and the encoding's name.
pub fn decode(bytes: &[u8], encoding: Encoding) -> Result<(String, &'static str)> {
    if let Some((utf16, name)) = utf16_bom(bytes) {
        return Ok((utf16.decode_with_bom_removal(bytes).0.into_owned(), name));
    }
    let (bytes, had_bom) = match bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        Some(rest) => (rest, true),
        None => (bytes, false),
    };
    match encoding {
        Encoding::Cp1251 => Ok((windows_1251(bytes), "windows-1251")),
        Encoding::Utf8 => match std::str::from_utf8(bytes) {
            Ok(s) => Ok((s.to_string(), if had_bom { "utf-8 (BOM)" } else { "utf-8" })),
            Err(e) => bail!(
                "the file is not valid UTF-8 (first bad byte at offset {}); if it is a Windows-1251 export, set `encoding = \"cp1251\"`",
                e.valid_up_to()
            ),
        },
        Encoding::Auto => match std::str::from_utf8(bytes) {
            Ok(s) => Ok((s.to_string(), if had_bom { "utf-8 (BOM)" } else { "utf-8" })),
            Err(_) if had_bom => bail!("the file starts with a UTF-8 byte order mark but is not valid UTF-8"),
            Err(_) => Ok((windows_1251(bytes), "windows-1251")),
        },
    }
}

/// The UTF-16 a file's byte-order mark declares, if it starts with one. It is taken whatever
/// encoding is configured (a byte-order mark is the file saying what it is); the two bytes
/// would be `яю` in Windows-1251 and cannot begin UTF-8.
fn utf16_bom(start: &[u8]) -> Option<(&'static encoding_rs::Encoding, &'static str)> {
    match start {
        [0xFF, 0xFE, ..] => Some((encoding_rs::UTF_16LE, "utf-16le")),
        [0xFE, 0xFF, ..] => Some((encoding_rs::UTF_16BE, "utf-16be")),
        _ => None,
    }
}

/// A UTF-16 stream read as the UTF-8 the splitter takes, its byte-order mark dropped. Malformed
/// UTF-16 (a lone surrogate) becomes U+FFFD, as any UTF-16 reader shows it.
struct Utf16<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    output: Vec<u8>,
    /// How much of `output` was handed out.
    at: usize,
    done: bool,
}

impl<R: Read> Utf16<R> {
    fn new(inner: R, encoding: &'static encoding_rs::Encoding) -> Utf16<R> {
        Utf16 { inner, decoder: encoding.new_decoder_with_bom_removal(), input: vec![0; 1 << 16], output: Vec::new(), at: 0, done: false }
    }
}

impl<R: Read> Read for Utf16<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.output.len() && !self.done {
            let n = self.inner.read(&mut self.input)?;
            self.done = n == 0;
            // Room for the most this input can decode to, so that all of it is taken: the
            // decoder keeps a code unit or surrogate cut at the end for the next call.
            let room = self.decoder.max_utf8_buffer_length(n).unwrap_or(3 * n + 16);
            self.output.resize(room, 0);
            let (_, _, written, _) = self.decoder.decode_to_utf8(&self.input[..n], &mut self.output, self.done);
            self.output.truncate(written);
            self.at = 0;
        }
        let n = buf.len().min(self.output.len() - self.at);
        buf[..n].copy_from_slice(&self.output[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Windows-1251 text as UTF-8, as encoding_rs decodes it without looking for a byte-order
/// mark. Call-tracking and 1C exports are mostly ASCII with Cyrillic words between: runs of
/// ASCII are copied eight bytes at a time and each other byte is looked up in a table of what
/// encoding_rs makes of it, where encoding_rs's decoder pays for every switch between the two.
pub(crate) fn windows_1251(raw: &[u8]) -> String {
    static TABLE: std::sync::OnceLock<[([u8; 3], u8); 128]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [([0u8; 3], 0u8); 128];
        for (i, e) in t.iter_mut().enumerate() {
            let byte = [0x80 + i as u8];
            let utf8 = encoding_rs::WINDOWS_1251.decode_without_bom_handling(&byte).0;
            let n = utf8.len().min(3);
            e.0[..n].copy_from_slice(&utf8.as_bytes()[..n]);
            e.1 = n as u8;
        }
        t
    });
    // Cyrillic takes two bytes in UTF-8: room for a third of the text being Cyrillic.
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 3);
    let mut i = 0;
    while i < raw.len() {
        let start = i;
        while let Some(word) = raw.get(i..i + 8) {
            if u64::from_le_bytes(word.try_into().unwrap_or([0x80; 8])) & 0x8080_8080_8080_8080 != 0 {
                break;
            }
            i += 8;
        }
        while raw.get(i).is_some_and(|&b| b < 0x80) {
            i += 1;
        }
        out.extend_from_slice(&raw[start..i]);
        while let Some(&b) = raw.get(i).filter(|&&b| b >= 0x80) {
            // Two or three bytes: pushed one by one, cheaper than a copy of unknown length.
            let ([b0, b1, b2], n) = table[usize::from(b - 0x80)];
            out.push(b0);
            out.push(b1);
            if n == 3 {
                out.push(b2);
            }
            i += 1;
        }
    }
    // Every piece is ASCII or a character's whole UTF-8 encoding.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Picks the delimiter that splits the header into the most fields, preferring one that splits
/// the next lines into the same number.
pub fn sniff_delimiter(text: &str) -> u8 {
    const CANDIDATES: [u8; 4] = [b';', b',', b'\t', b'|'];
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).take(20).collect();
    let Some(header) = lines.first() else {
        return b',';
    };
    let mut best = (b',', 0usize, false);
    for &d in &CANDIDATES {
        let n = count_outside_quotes(header, d);
        if n == 0 {
            continue;
        }
        let consistent = lines[1..].iter().all(|l| count_outside_quotes(l, d) == n);
        let better = (consistent && !best.2) || (consistent == best.2 && n > best.1);
        if better {
            best = (d, n, consistent);
        }
    }
    best.0
}

fn count_outside_quotes(line: &str, d: u8) -> usize {
    let mut in_quotes = false;
    let mut n = 0;
    for &b in line.as_bytes() {
        if b == b'"' {
            in_quotes = !in_quotes;
        } else if b == d && !in_quotes {
            n += 1;
        }
    }
    n
}

/// Bytes per block: large enough that per-block work is negligible, small enough that a few
/// blocks in flight per core keep memory flat.
static BLOCK_BYTES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(4 << 20);

/// Sets the block size. Results never depend on it; tests use tiny blocks to prove that.
#[doc(hidden)]
pub fn set_block_bytes(n: usize) {
    BLOCK_BYTES.store(n.max(1), std::sync::atomic::Ordering::Relaxed);
}

pub(crate) fn block_bytes() -> usize {
    BLOCK_BYTES.load(std::sync::atomic::Ordering::Relaxed)
}

/// A buffer for `want` bytes of a block from the pool, with a sixteenth more for the record cut
/// at its end, so that filling it does not grow it.
fn block_buffer(want: usize) -> Vec<u8> {
    super::pool::bytes(want + (want >> 4))
}

/// A record longer than this is a broken file (an unclosed quote), not data.
const MAX_RECORD: usize = 1 << 31;

/// Reads a stream in blocks cut after the last complete record.
struct Blocks<'a> {
    reader: Box<dyn Read + Send + 'a>,
    buf: Vec<u8>,
    eof: bool,
    delimiter: u8,
    /// Line number of the first line of the next block.
    line: u64,
    /// Byte offset (after decompression) of the next block.
    offset: u64,
}

impl Blocks<'_> {
    /// Reads until the buffer holds `want` bytes or the stream ends.
    fn fill(&mut self, want: usize) -> Result<()> {
        while self.buf.len() < want && !self.eof {
            let n = (&mut self.reader)
                .take((want - self.buf.len()) as u64)
                .read_to_end(&mut self.buf)
                .map_err(|e| anyhow!("reading at byte {}: {e}", self.offset + self.buf.len() as u64))?;
            if n == 0 {
                self.eof = true;
            }
        }
        Ok(())
    }

    fn next_block(&mut self) -> Result<Option<super::Block>> {
        let mut want = block_bytes();
        loop {
            self.fill(want)?;
            if self.buf.is_empty() {
                return Ok(None);
            }
            // The buffer may hold more than a block (the first read is larger, for sniffing).
            let cut = if self.eof && self.buf.len() <= want {
                Some(self.buf.len())
            } else {
                record_boundary(&self.buf[..want.min(self.buf.len())], self.delimiter)
            };
            if let Some(cut) = cut {
                let mut rest = block_buffer(want);
                rest.extend_from_slice(&self.buf[cut..]);
                self.buf.truncate(cut);
                let bytes = std::mem::replace(&mut self.buf, rest);
                let first_line = self.line;
                let breaks = memchr::memchr_iter(b'\n', &bytes).count() as u64;
                self.line += breaks;
                let offset = self.offset;
                self.offset += bytes.len() as u64;
                return Ok(Some(super::Block::Text { bytes, first_line, breaks, offset }));
            }
            if want >= MAX_RECORD {
                bail!("line {}: a record longer than {} MB (an unclosed quote?)", self.line, MAX_RECORD >> 20);
            }
            want *= 2;
        }
    }
}

impl Iterator for Blocks<'_> {
    type Item = Result<super::Block>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_block().transpose()
    }
}

/// The end of the last complete record: just after the last line break outside quotes. A quote
/// opens a quoted field only at a field's start, as the tokenizer reads it.
fn record_boundary(b: &[u8], delimiter: u8) -> Option<usize> {
    if memchr::memchr(b'"', b).is_none() {
        return memchr::memrchr(b'\n', b).map(|i| i + 1);
    }
    let (mut i, mut in_quotes, mut last) = (0, false, None);
    while let Some(off) = memchr::memchr2(b'"', b'\n', &b[i..]) {
        let p = i + off;
        i = p + 1;
        if b[p] == b'\n' {
            if !in_quotes {
                last = Some(p + 1);
            }
        } else if in_quotes {
            if b.get(p + 1) == Some(&b'"') {
                i = p + 2;
            } else {
                in_quotes = false;
            }
        } else if p == 0 || b[p - 1] == delimiter || b[p - 1] == b'\n' {
            in_quotes = true;
        }
    }
    last
}

/// Splits the records of one text in turn. Nearly every record has no quote before its line
/// break: one pass sixty-four bytes at a time finds its delimiters and its end together, each
/// one a set bit, so the loop runs once per field rather than once per byte. The bits left when
/// a record ends are the next record's, so the text is scanned once, not once more from each
/// record's start. A quote sends the record to the general splitter.
struct Splitter {
    find: Scanner,
    delimiter: u8,
    /// The 64 bytes of the text from `at` as bits (past the text's end, none): delimiters, and
    /// line breaks or quotes. `at` is `usize::MAX` when no window is held. A splitter serves one
    /// text: a window is taken up again by the next record that starts in it.
    at: usize,
    delimiters: u64,
    stops: u64,
}

impl Splitter {
    fn new(delimiter: u8) -> Splitter {
        Splitter { find: Scanner::new(delimiter), delimiter, at: usize::MAX, delimiters: 0, stops: 0 }
    }

    fn window(&mut self, b: &[u8], at: usize) {
        self.at = at;
        (self.delimiters, self.stops) = match b.get(at..at.saturating_add(64)).and_then(|c| <&[u8; 64]>::try_from(c).ok()) {
            Some(chunk) => self.find.masks64(chunk),
            None => {
                // The bits of the padding are masked off.
                let rest = b.get(at..).unwrap_or_default();
                let mut last = [0; 64];
                last[..rest.len()].copy_from_slice(rest);
                let (d, s) = self.find.masks64(&last);
                let live = (1u64 << rest.len()) - 1;
                (d & live, s & live)
            }
        };
    }

    /// Splits the record starting at `pos`, pushing each field's start and end to `spans`. A
    /// field is a span of the text itself unless its quotes had to be undone (an escaped quote,
    /// text after the closing quote): then it is written to `extra`, its span indexes `extra`,
    /// and its place in `spans` is noted in `moved`. Returns where the next record starts and
    /// counts the line breaks consumed.
    fn split(&mut self, b: &[u8], pos: usize, out: &mut Fields, lines: &mut u64) -> usize {
        let mark = out.spans.len();
        // The window held is of this text; the bits before `pos` belong to records already read.
        match pos.checked_sub(self.at) {
            Some(skip) if skip < 64 => {
                self.delimiters &= !0 << skip;
                self.stops &= !0 << skip;
            }
            _ => self.window(b, pos),
        }
        let mut start = pos;
        loop {
            let (at, delimiters, stops) = (self.at, self.delimiters, self.stops);
            let stop = stops.trailing_zeros();
            let mut hits = if stop < 64 { delimiters & ((1 << stop) - 1) } else { delimiters };
            while hits != 0 {
                let i = at + hits.trailing_zeros() as usize;
                out.push(start, i);
                start = i + 1;
                hits &= hits - 1;
            }
            if stop < 64 {
                let p = at + stop as usize;
                if b[p] == b'\n' {
                    out.push(start, without_cr(b, start, p));
                    *lines += 1;
                    return p + 1;
                }
                // A quote: the record is read again from its start.
                self.at = usize::MAX;
                out.spans.truncate(mark);
                return split_fields(b, pos, self.delimiter, out, lines);
            }
            if at + 64 >= b.len() {
                // No line break: the record runs to the text's end.
                self.at = usize::MAX;
                out.push(start, without_cr(b, start, b.len()));
                return b.len();
            }
            self.window(b, at + 64);
        }
    }
}

/// The end of a record's last field ending at `end`: a carriage return before the line break
/// is not part of it.
fn without_cr(b: &[u8], start: usize, end: usize) -> usize {
    if end > start && b[end - 1] == b'\r' {
        end - 1
    } else {
        end
    }
}

/// [`Splitter::split`] for any record, quoted fields included.
fn split_fields(b: &[u8], mut pos: usize, delimiter: u8, out: &mut Fields, lines: &mut u64) -> usize {
    let n = b.len();
    loop {
        let mut quoted = None;
        let mut copied = false;
        let extra_start = out.extra.len();
        if pos < n && b[pos] == b'"' {
            pos += 1;
            let open = pos;
            loop {
                match memchr::memchr(b'"', &b[pos..]) {
                    None => {
                        *lines += memchr::memchr_iter(b'\n', &b[pos..]).count() as u64;
                        if copied {
                            out.extra.extend_from_slice(&b[pos..]);
                        } else {
                            quoted = Some((open, n));
                        }
                        pos = n;
                        break;
                    }
                    Some(off) => {
                        let q = pos + off;
                        *lines += memchr::memchr_iter(b'\n', &b[pos..q]).count() as u64;
                        if b.get(q + 1) == Some(&b'"') {
                            copied = true;
                            out.extra.extend_from_slice(&b[pos..q]);
                            out.extra.push(b'"');
                            pos = q + 2;
                        } else {
                            if copied {
                                out.extra.extend_from_slice(&b[pos..q]);
                            } else {
                                quoted = Some((open, q));
                            }
                            pos = q + 1;
                            break;
                        }
                    }
                }
            }
        }
        // Unquoted text, or what follows a closing quote up to the delimiter, is taken as written.
        // Fields are short, but a vector search still beats a byte loop whose exit branch
        // mispredicts once per field.
        let start = pos;
        pos = memchr::memchr2(delimiter, b'\n', &b[pos..]).map_or(n, |o| pos + o);
        let end = if pos > start && b[pos - 1] == b'\r' && (pos == n || b[pos] == b'\n') { pos - 1 } else { pos };
        match quoted {
            None if !copied => out.push(start, end),
            Some((qs, qe)) if start == end => out.push(qs, qe),
            _ => {
                if let Some((qs, qe)) = quoted {
                    out.extra.extend_from_slice(&b[qs..qe]);
                }
                out.extra.extend_from_slice(&b[start..end]);
                out.moved.push(out.spans.len() as u32);
                out.push(extra_start, out.extra.len());
            }
        }
        if pos < n && b[pos] == delimiter {
            pos += 1;
            continue;
        }
        if pos < n {
            pos += 1;
            *lines += 1;
        }
        return pos;
    }
}

/// Finds a record's delimiters and its end (a line break or a quote) in sixteen bytes at once:
/// bit `i` of a mask is set when byte `i` is one of them.
struct Scanner {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    splats: [safe_arch::m128i; 3],
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    delimiter: u8,
}

impl Scanner {
    fn new(delimiter: u8) -> Scanner {
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        {
            let splat = |b: u8| safe_arch::set_splat_i8_m128i(b as i8);
            Scanner { splats: [splat(delimiter), splat(b'\n'), splat(b'"')] }
        }
        #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
        {
            Scanner { delimiter }
        }
    }

    /// The delimiters, and the line breaks and quotes. SSE2 is part of every x86-64 processor:
    /// three compares and two masks per sixteen bytes.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    fn masks(&self, chunk: &[u8; 16]) -> (u32, u32) {
        use safe_arch::{bitor_m128i, cmp_eq_mask_i8_m128i, m128i, move_mask_i8_m128i};
        let c = m128i::from(*chunk);
        let [d, n, q] = self.splats;
        let stops = bitor_m128i(cmp_eq_mask_i8_m128i(c, n), cmp_eq_mask_i8_m128i(c, q));
        (move_mask_i8_m128i(cmp_eq_mask_i8_m128i(c, d)) as u32, move_mask_i8_m128i(stops) as u32)
    }

    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    fn masks(&self, chunk: &[u8; 16]) -> (u32, u32) {
        (mask_bytewise(chunk, self.delimiter), mask_bytewise(chunk, b'\n') | mask_bytewise(chunk, b'"'))
    }

    /// [`Scanner::masks`] of sixty-four bytes, byte `i` as bit `i`.
    fn masks64(&self, chunk: &[u8; 64]) -> (u64, u64) {
        let (mut delimiters, mut stops) = (0, 0);
        for (k, part) in chunk.as_chunks::<16>().0.iter().enumerate() {
            let (d, s) = self.masks(part);
            delimiters |= u64::from(d) << (16 * k);
            stops |= u64::from(s) << (16 * k);
        }
        (delimiters, stops)
    }
}

/// [`Scanner::masks`] a byte at a time: the reference it is tested against, and the code on
/// other processors.
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
fn mask_bytewise(chunk: &[u8; 16], byte: u8) -> u32 {
    chunk.iter().enumerate().fold(0, |m, (i, &c)| m | ((c == byte) as u32) << i)
}

/// The fields of a block as they are split: spans of the block's text, and the text of fields
/// whose quotes had to be undone.
#[derive(Default)]
struct Fields {
    spans: Vec<[u32; 2]>,
    extra: Vec<u8>,
    moved: Vec<u32>,
}

impl Fields {
    fn push(&mut self, start: usize, end: usize) {
        // Blocks are refused past 2 GB (see `tokenize`), so offsets fit.
        self.spans.push([start as u32, end as u32]);
    }

    /// Drops the fields from the `mark`-th span on (a rejected or blank row).
    fn truncate(&mut self, mark: usize, extra_mark: usize) {
        self.spans.truncate(mark);
        self.extra.truncate(extra_mark);
        while self.moved.last().is_some_and(|&m| m as usize >= mark) {
            self.moved.pop();
        }
    }

    fn len(&self) -> usize {
        self.spans.len()
    }

    /// Field `i`'s bytes; `b` is what the spans were taken from.
    fn get<'a>(&'a self, b: &'a [u8], i: usize) -> &'a [u8] {
        let [s, e] = self.spans[i].map(|x| x as usize);
        if self.moved.binary_search(&(i as u32)).is_ok() {
            &self.extra[s..e]
        } else {
            &b[s..e]
        }
    }

    fn is_empty(&self, field: usize) -> bool {
        self.spans[field][0] == self.spans[field][1]
    }
}

/// Whether the record at `start..end` is an empty line.
fn blank(b: &[u8]) -> bool {
    matches!(b, [] | [b'\n'] | [b'\r', b'\n'] | [b'\r'])
}

/// A block of an auto-detected UTF-8 file that is not all UTF-8: each record that is not is
/// decoded as Windows-1251, the only other encoding these exports come in. Records end at the
/// same bytes in both encodings (quotes, delimiters and line breaks are ASCII in both), so the
/// text splits as the bytes did. Returns the text and the start of each record decoded.
fn decode_mixed(raw: &[u8], delimiter: u8) -> (String, Vec<usize>) {
    let mut text = String::with_capacity(raw.len() + raw.len() / 2);
    let mut decoded = Vec::new();
    let mut scratch = Fields::default();
    let mut splitter = Splitter::new(delimiter);
    let (mut pos, mut lines) = (0, 0);
    while pos < raw.len() {
        let start = pos;
        pos = splitter.split(raw, pos, &mut scratch, &mut lines);
        scratch.truncate(0, 0);
        match std::str::from_utf8(&raw[start..pos]) {
            Ok(row) => text.push_str(row),
            Err(_) => {
                decoded.push(text.len());
                text.push_str(&windows_1251(&raw[start..pos]));
            }
        }
    }
    (text, decoded)
}

/// Splits a block of whole records into a batch; rows with the wrong number of fields become
/// rejects with their line. Fields are spans of the block's own text: nothing is copied but the
/// few fields whose quotes had to be undone.
/// `breaks` is how many line breaks the block holds (counted as it was cut), so that its rows
/// have room at once.
pub fn tokenize(name: &str, raw: Vec<u8>, first_line: u64, breaks: u64, offset: u64, layout: &super::Layout) -> Result<super::Batch> {
    use super::Decode;
    // Spans are 32-bit and fields moved out of the block can add up to its size again.
    if raw.len() > (u32::MAX / 2) as usize {
        bail!("line {first_line}: a block of more than 2 GB of text (a single record this long is not an export row)");
    }
    let raw_len = raw.len() as u64;
    let (text, decoded) = match layout.decode {
        Decode::Cp1251 => {
            let text = windows_1251(&raw);
            super::pool::give_bytes(raw);
            (text, Vec::new())
        }
        Decode::Utf8 => match String::from_utf8(raw) {
            Ok(text) => (text, Vec::new()),
            Err(e) => bail!(
                "the file is not valid UTF-8 (first bad byte at offset {}); if it is a Windows-1251 export, set `encoding = \"cp1251\"`",
                offset + e.utf8_error().valid_up_to() as u64
            ),
        },
        Decode::Utf8Lenient => match String::from_utf8(raw) {
            Ok(text) => (text, Vec::new()),
            Err(e) => {
                let raw = e.into_bytes();
                let mixed = decode_mixed(&raw, layout.delimiter);
                super::pool::give_bytes(raw);
                mixed
            }
        },
    };
    if text.len() > (u32::MAX / 2) as usize {
        bail!("line {first_line}: a block of more than 2 GB of text (a single record this long is not an export row)");
    }
    let bytes = text.as_bytes();
    let width = layout.width.max(1);
    // A row per line at most, and a field ends at a byte of its own (a delimiter or a line
    // break) but for the block's last: room for them all at once rather than a dozen copies as
    // the lists grow.
    let rows = usize::try_from(breaks).unwrap_or(0).min(bytes.len()) + 1;
    let mut batch = super::Batch::new(width, rows.saturating_mul(width).min(bytes.len() + width));
    batch.lines.reserve(rows);
    batch.bytes = raw_len;
    let mut out = Fields { spans: std::mem::take(&mut batch.spans), ..Default::default() };
    let (mut pos, mut line, mut next_decoded) = (0, first_line, decoded.iter().peekable());
    let mut splitter = Splitter::new(layout.delimiter);
    while pos < bytes.len() {
        let (start, row_line, mark, extra_mark) = (pos, line, out.spans.len(), out.extra.len());
        pos = splitter.split(bytes, pos, &mut out, &mut line);
        let was_decoded = next_decoded.next_if(|&&d| d == start).is_some();
        let mut fields = out.len() - mark;
        if fields == 1 && out.is_empty(mark) && blank(&bytes[start..pos]) {
            out.truncate(mark, extra_mark);
            continue;
        }
        batch.rows_read += 1;
        // A trailing empty field from a line ending in the delimiter is common and harmless.
        if fields == width + 1 && out.is_empty(out.len() - 1) {
            out.truncate(out.spans.len() - 1, out.extra.len());
            fields -= 1;
        }
        if fields != width {
            let text = &text[start..pos];
            batch.rejects.push(Reject {
                file: name.to_string(),
                line: row_line,
                column: String::new(),
                reason: format!("expected {width} fields, found {fields}"),
                value: truncate(text.strip_suffix('\n').unwrap_or(text).trim_end_matches('\r'), 200),
            });
            out.truncate(mark, extra_mark);
            continue;
        }
        if was_decoded {
            batch.cp1251_rows += 1;
        }
        batch.lines.push(row_line);
    }
    // The moved fields go after the block's text, so every span indexes one string. They are
    // pieces of the text cut at ASCII bytes, so they are text too.
    let base = text.len() as u32;
    let mut text = text;
    if !out.extra.is_empty() {
        text.push_str(std::str::from_utf8(&out.extra).map_err(|e| anyhow!("{name}: text is not UTF-8 after decoding: {e}"))?);
        for &m in &out.moved {
            out.spans[m as usize][0] += base;
            out.spans[m as usize][1] += base;
        }
    }
    batch.text = text;
    batch.spans = out.spans;
    Ok(batch)
}

/// The first two bytes of a stream (fewer if it is shorter), and the stream from its start.
fn peek<'a>(mut reader: Box<dyn Read + Send + 'a>) -> std::io::Result<(Vec<u8>, Box<dyn Read + Send + 'a>)> {
    let mut start = Vec::with_capacity(2);
    (&mut reader).take(2).read_to_end(&mut start)?;
    Ok((start.clone(), Box::new(std::io::Cursor::new(start).chain(reader))))
}

/// Opens a CSV stream: undoes gzip, detects the encoding and the delimiter from the first block,
/// and reads the header row.
pub fn open<'a>(
    name: &str,
    kind: SourceKind,
    reader: Box<dyn Read + Send + 'a>,
    delimiter: Option<u8>,
    encoding: Encoding,
) -> Result<super::Source<'a>> {
    let (magic, reader) = peek(reader).map_err(|e| anyhow!("reading: {e}"))?;
    let gzip = magic.as_slice() == GZIP_MAGIC;
    let unzipping = |e: &dyn std::fmt::Display| match gzip {
        true => anyhow!("the file looks gzip-compressed but cannot be decompressed: {e}"),
        false => anyhow!("{e}"),
    };
    let reader: Box<dyn Read + Send + 'a> = if gzip { Box::new(flate2::read::MultiGzDecoder::new(reader)) } else { reader };
    let (start, reader) = peek(reader).map_err(|e| if gzip { unzipping(&e) } else { anyhow!("reading: {e}") })?;
    let utf16 = utf16_bom(&start);
    let reader: Box<dyn Read + Send + 'a> = match utf16 {
        Some((encoding, _)) => Box::new(Utf16::new(reader, encoding)),
        None => reader,
    };
    let first = block_bytes().max(1 << 16);
    let mut blocks = Blocks { reader, buf: block_buffer(first), eof: false, delimiter: delimiter.unwrap_or(b','), line: 1, offset: 0 };
    blocks.fill(first).map_err(|e| unzipping(&e))?;
    let had_bom = blocks.buf.starts_with(&[0xEF, 0xBB, 0xBF]);
    if had_bom {
        blocks.buf.drain(..3);
        blocks.offset = 3;
    }
    // The first block is valid UTF-8 when it is, except for a character cut at its end.
    let utf8 = match std::str::from_utf8(&blocks.buf) {
        Ok(_) => Ok(()),
        Err(e) if e.error_len().is_none() && blocks.buf.len() - e.valid_up_to() < 4 && !blocks.eof => Ok(()),
        Err(e) => Err(e.valid_up_to()),
    };
    let (decode, enc_name) = match (utf16, encoding, utf8) {
        // Decoded from UTF-16 already: any error in it is a U+FFFD.
        (Some((_, name)), _, _) => (super::Decode::Utf8, name),
        (None, Encoding::Cp1251, _) => (super::Decode::Cp1251, "windows-1251"),
        (None, Encoding::Utf8, Err(at)) => bail!(
            "the file is not valid UTF-8 (first bad byte at offset {}); if it is a Windows-1251 export, set `encoding = \"cp1251\"`",
            at + if had_bom { 3 } else { 0 }
        ),
        (None, Encoding::Auto, Err(_)) if had_bom => bail!("the file starts with a UTF-8 byte order mark but is not valid UTF-8"),
        (None, Encoding::Auto, Err(_)) => (super::Decode::Cp1251, "windows-1251"),
        (None, Encoding::Utf8, Ok(())) => (super::Decode::Utf8, if had_bom { "utf-8 (BOM)" } else { "utf-8" }),
        (None, Encoding::Auto, Ok(())) => (super::Decode::Utf8Lenient, if had_bom { "utf-8 (BOM)" } else { "utf-8" }),
    };
    let sample = |b: &[u8]| -> String {
        let b = &b[..b.len().min(1 << 16)];
        match decode {
            super::Decode::Cp1251 => windows_1251(b),
            _ => String::from_utf8_lossy(b).into_owned(),
        }
    };
    let delimiter = delimiter.unwrap_or_else(|| sniff_delimiter(&sample(&blocks.buf)));
    blocks.delimiter = delimiter;
    // Blank lines before the header are skipped, as everywhere else.
    let mut lines = 0u64;
    while let Some(skip) = blocks.buf.iter().position(|&c| c != b'\n' && c != b'\r') {
        lines += blocks.buf[..skip].iter().filter(|&&c| c == b'\n').count() as u64;
        blocks.buf.drain(..skip);
        blocks.offset += skip as u64;
        // A header cut by the block's end is read whole.
        if record_boundary(&blocks.buf, delimiter).is_some() || blocks.eof {
            break;
        }
        let want = blocks.buf.len() * 2;
        if want > MAX_RECORD {
            bail!("cannot read the header row: it is longer than {} MB", MAX_RECORD >> 20);
        }
        blocks.fill(want)?;
    }
    let mut out = Fields::default();
    let consumed = if blocks.buf.iter().all(|&c| c == b'\n' || c == b'\r') {
        blocks.buf.len()
    } else {
        Splitter::new(delimiter).split(&blocks.buf, 0, &mut out, &mut lines)
    };
    let mut headers = Vec::with_capacity(out.len());
    for i in 0..out.len() {
        let field = out.get(&blocks.buf, i);
        headers.push(match decode {
            super::Decode::Cp1251 => windows_1251(field),
            _ => String::from_utf8(field.to_vec()).map_err(|_| anyhow!("cannot read the header row: it is not valid UTF-8"))?,
        });
    }
    blocks.buf.drain(..consumed);
    blocks.offset += consumed as u64;
    blocks.line = 1 + lines;
    let headers: Vec<String> = headers.iter().map(|h| h.trim().trim_start_matches('\u{feff}').to_string()).collect();
    let layout = super::Layout { delimiter, width: headers.len(), decode };
    let head = super::Head { name: name.to_string(), kind, headers, delimiter: Some(delimiter), encoding: enc_name };
    Ok(super::Source { head, layout, blocks: Box::new(blocks) })
}

/// Loads a whole CSV export from bytes.
pub fn load(name: &str, kind: SourceKind, raw: &[u8], delimiter: Option<u8>, encoding: Encoding) -> Result<RawTable> {
    RawTable::collect(open(name, kind, Box::new(raw), delimiter, encoding)?)
}

/// Shortens a value for messages without cutting a character in half.
pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out one byte per read, so that every code unit and surrogate pair is cut.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((&b, rest)), Some(slot)) => {
                    *slot = b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn utf16_is_read_as_utf8_however_its_bytes_arrive() {
        let text = "Визит\tClientID\r\nv1\tc1 😀 €\n";
        for (big_endian, bom) in [(false, [0xFF, 0xFE]), (true, [0xFE, 0xFF])] {
            let mut bytes = bom.to_vec();
            for unit in text.encode_utf16() {
                bytes.extend_from_slice(&if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
            }
            let (encoding, name) = utf16_bom(&bytes).unwrap();
            assert_eq!(name, if big_endian { "utf-16be" } else { "utf-16le" });
            for chunk in [1, 3, 1 << 16] {
                let mut got = Vec::new();
                let mut reader = Utf16::new(Trickle(&bytes), encoding);
                let mut buf = vec![0; chunk];
                loop {
                    let n = reader.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                assert_eq!(String::from_utf8(got).unwrap(), text, "big-endian {big_endian}, reads of {chunk}");
            }
            assert_eq!(decode(&bytes, Encoding::Utf8).unwrap(), (text.to_string(), name));
        }
        // A lone surrogate, and an odd byte at the end, are U+FFFD.
        let mut reader = Utf16::new(Trickle(&[0xFF, 0xFE, b'a', 0, 0x00, 0xD8, b'b', 0, b'c']), encoding_rs::UTF_16LE);
        let mut got = String::new();
        reader.read_to_string(&mut got).unwrap();
        assert_eq!(got, "a\u{FFFD}b\u{FFFD}");
        // Without the mark, the same bytes are not UTF-16.
        assert!(utf16_bom(b"a\0b\0").is_none() && utf16_bom(&[0xFF]).is_none());
    }

    #[test]
    fn sniffs_common_delimiters() {
        assert_eq!(sniff_delimiter("a;b;c\n1;2;3\n"), b';');
        assert_eq!(sniff_delimiter("a,b,c\n1,2,3\n"), b',');
        assert_eq!(sniff_delimiter("a\tb\n1\t2\n"), b'\t');
        assert_eq!(sniff_delimiter("a|b\n1|2\n"), b'|');
        // Decimal commas inside a `;` file must not win.
        assert_eq!(sniff_delimiter("id;sum\n1;12,5\n2;3,75\n"), b';');
        assert_eq!(sniff_delimiter("\"a;x\",b\n1,2\n"), b',');
    }

    #[test]
    fn decodes_cp1251_and_bom() {
        let (cp, _, _) = encoding_rs::WINDOWS_1251.encode("Сумма;Дата");
        let (text, name) = decode(&cp, Encoding::Auto).unwrap();
        assert_eq!(text, "Сумма;Дата");
        assert_eq!(name, "windows-1251");
        let (text, name) = decode("\u{feff}a;b".as_bytes(), Encoding::Auto).unwrap();
        assert_eq!(text, "a;b");
        assert_eq!(name, "utf-8 (BOM)");
        assert!(decode(&cp, Encoding::Utf8).is_err());
    }

    #[test]
    fn rejects_rows_with_wrong_field_count() {
        let t = load("t.csv", SourceKind::Visits, b"a;b\n1;2\n3\n4;5;\n", None, Encoding::Auto).unwrap();
        assert_eq!(t.rows_read(), 3);
        assert_eq!(t.height(), 2);
        let rejects: Vec<_> = t.rejects().collect();
        assert_eq!(rejects.len(), 1);
        assert_eq!(rejects[0].line, 3);
        assert_eq!(t.batches[0].lines, vec![2, 4]);
    }

    /// Splits `text` record by record with one [`Splitter`] and with the general path, and
    /// checks that they agree on every record's end, every field and every line break.
    fn split_both_ways(text: &[u8]) -> Result<(), proptest::test_runner::TestCaseError> {
        let (mut fast, mut slow) = (Fields::default(), Fields::default());
        let (mut fast_lines, mut slow_lines) = (0, 0);
        let (mut p, mut q) = (0, 0);
        // One splitter for the whole text: each record starts in the bits the one before left.
        let mut splitter = Splitter::new(b';');
        while p < text.len() {
            p = splitter.split(text, p, &mut fast, &mut fast_lines);
            q = split_fields(text, q, b';', &mut slow, &mut slow_lines);
            proptest::prop_assert_eq!(p, q);
        }
        proptest::prop_assert_eq!(fast.spans, slow.spans);
        proptest::prop_assert_eq!(fast.extra, slow.extra);
        proptest::prop_assert_eq!(fast.moved, slow.moved);
        proptest::prop_assert_eq!(fast_lines, slow_lines);
        Ok(())
    }

    proptest::proptest! {
        /// Records without quotes take the sixty-four-bytes-at-once path; it must split them as
        /// the general one does: delimiters at every place in a window, runs of them, empty
        /// fields, carriage returns inside and at the end, a last record without a line break;
        /// and a record with a quote after some of its fields were found must be read again
        /// from its start, and the record after it from its own.
        #[test]
        fn records_split_as_the_general_path_splits_them(
            text in proptest::collection::vec(proptest::sample::select(b";;;,aaaaaa\r\n\xd0\x9c \"".to_vec()), 0..300),
        ) {
            split_both_ways(&text)?;
        }

        /// Records longer than a window, and records that end in the window's last byte.
        #[test]
        fn long_records_split_as_the_general_path_splits_them(
            records in proptest::collection::vec((0usize..150, 0usize..4, proptest::bool::ANY), 0..6),
        ) {
            let mut text = Vec::new();
            for (len, semis, cr) in records {
                text.extend((0..len).map(|k| if semis > 0 && k % (semis * 7 + 1) == 0 { b';' } else { b'a' }));
                if cr {
                    text.push(b'\r');
                }
                text.push(b'\n');
            }
            split_both_ways(&text)?;
            text.pop();
            split_both_ways(&text)?;
        }
    }

    proptest::proptest! {
        /// Runs of ASCII of every length around the eight-byte steps, and every byte above it.
        #[test]
        fn windows_1251_reads_as_encoding_rs_reads_it(
            runs in proptest::collection::vec((0usize..20, proptest::collection::vec(0x80u8..=0xff, 0..4)), 0..8),
        ) {
            let mut raw = Vec::new();
            for (ascii, high) in &runs {
                raw.extend((0..*ascii).map(|k| b"a;1 \n"[k % 5]));
                raw.extend(high);
            }
            let expected = encoding_rs::WINDOWS_1251.decode_without_bom_handling(&raw).0.into_owned();
            proptest::prop_assert_eq!(windows_1251(&raw), expected);
        }

        #[test]
        fn sixty_four_bytes_at_once_find_what_one_at_a_time_finds(chunk in proptest::array::uniform32(proptest::sample::select(b";,a\n\"".to_vec())), tail in proptest::array::uniform32(proptest::sample::select(b";a\n".to_vec()))) {
            let mut whole = [0u8; 64];
            whole[..32].copy_from_slice(&chunk);
            whole[32..].copy_from_slice(&tail);
            let bitwise = |byte: u8| whole.iter().enumerate().fold(0u64, |m, (i, &c)| m | u64::from(c == byte) << i);
            proptest::prop_assert_eq!(Scanner::new(b';').masks64(&whole), (bitwise(b';'), bitwise(b'\n') | bitwise(b'"')));
        }

        #[test]
        fn sixteen_bytes_at_once_find_what_one_at_a_time_finds(chunk in proptest::array::uniform16(proptest::sample::select(b";,a\x00\xff\x3b\xbb\n\"".to_vec())), byte in proptest::sample::select(b";,\x00\xff\t".to_vec())) {
            let stops = mask_bytewise(&chunk, b'\n') | mask_bytewise(&chunk, b'"');
            proptest::prop_assert_eq!(Scanner::new(byte).masks(&chunk), (mask_bytewise(&chunk, byte), stops));
        }
    }

    #[test]
    fn splits_quotes_escapes_newlines_and_crlf() {
        let t = load(
            "t.csv",
            SourceKind::Visits,
            b"a,b\r\n\"x,1\",\"say \"\"hi\"\"\"\r\n\r\n\"multi\nline\",z\r\nlast,row",
            None,
            Encoding::Auto,
        )
        .unwrap();
        assert_eq!(t.headers, vec!["a", "b"]);
        let b = &t.batches[0];
        assert_eq!((b.get(0, 0), b.get(0, 1)), ("x,1", "say \"hi\""));
        assert_eq!((b.get(1, 0), b.get(1, 1)), ("multi\nline", "z"));
        assert_eq!((b.get(2, 0), b.get(2, 1)), ("last", "row"));
        // Blank lines are skipped; a quoted line break still counts as a line.
        assert_eq!(b.lines, vec![2, 4, 6]);
    }

    #[test]
    fn quoted_fields_that_must_be_rewritten_sit_beside_those_that_need_not() {
        // Header with an escaped quote; text after a closing quote; an empty quoted field; a
        // trailing delimiter; an unclosed quote running to the end.
        let t = load(
            "t.csv",
            SourceKind::Visits,
            b"\"a \"\"1\"\"\";b;c\n\"ab\"cd;\"\";plain;\n\"q\"\"\";\"x\"\r\n1;2;3\n\"open;end",
            None,
            Encoding::Auto,
        )
        .unwrap();
        assert_eq!(t.headers, vec!["a \"1\"", "b", "c"]);
        let b = &t.batches[0];
        assert_eq!((b.get(0, 0), b.get(0, 1), b.get(0, 2)), ("abcd", "", "plain"));
        assert_eq!(b.lines, vec![2, 4]);
        assert_eq!((b.get(1, 0), b.get(1, 1), b.get(1, 2)), ("1", "2", "3"));
        let reasons: Vec<(u64, &str)> = b.rejects.iter().map(|r| (r.line, r.reason.as_str())).collect();
        assert_eq!(reasons, vec![(3, "expected 3 fields, found 2"), (5, "expected 3 fields, found 1")]);
    }

    #[test]
    fn rows_of_a_utf8_file_that_are_not_utf8_are_read_as_cp1251() {
        // Auto-detection found the file's start to be UTF-8; this block is not all UTF-8.
        let mut raw = b"\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0;1\n".to_vec();
        raw.extend_from_slice(b"\xcc\xee\xf1\xea\xe2\xe0;2\n\"\xcc\"\"\xee\";3\n\xcc;4;5\n");
        let layout = super::super::Layout { delimiter: b';', width: 2, decode: super::super::Decode::Utf8Lenient };
        let b = &tokenize("t.csv", raw, 2, 0, 0, &layout).unwrap();
        let rows: Vec<(&str, &str)> = (0..b.height()).map(|r| (b.get(r, 0), b.get(r, 1))).collect();
        assert_eq!(rows, vec![("Москва", "1"), ("Москва", "2"), ("М\"о", "3")]);
        assert_eq!(b.cp1251_rows, 2, "the rejected row is not counted as read");
        assert_eq!(b.rejects.len(), 1);
        assert_eq!(b.rejects[0].value, "М;4;5");
    }

    #[test]
    fn block_boundaries_respect_quotes() {
        // A line break inside quotes is no boundary; a quote inside an unquoted field opens nothing.
        assert_eq!(record_boundary(b"a,\"x\ny\nz", b','), None);
        assert_eq!(record_boundary(b"a,\"x\ny\",1\nb", b','), Some(10));
        assert_eq!(record_boundary(b"12\" tv,1\nnext", b','), Some(9));
        assert_eq!(record_boundary(b"\"a\"\"\nb\",1\nc", b','), Some(10));
    }

    #[test]
    fn reads_gzip() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"a,b\n1,2\n").unwrap();
        let gz = enc.finish().unwrap();
        let t = load("t.csv.gz", SourceKind::Visits, &gz, None, Encoding::Auto).unwrap();
        assert_eq!(t.height(), 1);
        assert_eq!(t.headers, vec!["a", "b"]);
    }
}
