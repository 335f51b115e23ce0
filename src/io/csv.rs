//! CSV exports as business systems write them: any of `,` `;` tab `|`, UTF-8 with or without BOM
//! or Windows-1251, optionally gzip-compressed. Read with the `csv` crate rather than polars' reader
//! because every rejected row must carry its line number and the encoding must be decoded first.

use std::io::Read;

use anyhow::{anyhow, bail, Result};
use polars::prelude::*;

use super::RawTable;
use crate::config::{Encoding, SourceKind};
use crate::summary::Reject;

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
    let (bytes, had_bom) = match bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        Some(rest) => (rest, true),
        None => (bytes, false),
    };
    match encoding {
        Encoding::Cp1251 => Ok((decode_cp1251(bytes), "windows-1251")),
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
            Err(_) => Ok((decode_cp1251(bytes), "windows-1251")),
        },
    }
}

fn decode_cp1251(bytes: &[u8]) -> String {
    // Windows-1251 maps every byte to a character, so decoding cannot fail.
    let (text, _, _) = encoding_rs::WINDOWS_1251.decode(bytes);
    text.into_owned()
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

pub fn load(name: &str, kind: SourceKind, raw: &[u8], delimiter: Option<u8>, encoding: Encoding) -> Result<RawTable> {
    let bytes = gunzip_if_needed(raw)?;
    let (text, enc_name) = decode(&bytes, encoding)?;
    drop(bytes);
    let delimiter = delimiter.unwrap_or_else(|| sniff_delimiter(&text));
    let mut reader = ::csv::ReaderBuilder::new().delimiter(delimiter).has_headers(true).flexible(true).from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| anyhow!("cannot read the header row: {e}"))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    let estimate = text.len() / (headers.len().max(1) * 8 + 1);
    let mut builders: Vec<StringChunkedBuilder> =
        headers.iter().enumerate().map(|(i, _)| StringChunkedBuilder::new(format!("c{i}").into(), estimate)).collect();
    let mut lines = Vec::with_capacity(estimate);
    let mut rejects = Vec::new();
    let mut rows_read = 0u64;
    let mut record = ::csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                rows_read += 1;
                let line = record.position().map_or(0, |p| p.line());
                if record.len() != headers.len() {
                    // A trailing empty field from a line ending in the delimiter is common and harmless.
                    let trailing_empty = record.len() == headers.len() + 1 && record.get(headers.len()) == Some("");
                    if !trailing_empty {
                        rejects.push(Reject {
                            file: name.to_string(),
                            line,
                            column: String::new(),
                            reason: format!("expected {} fields, found {}", headers.len(), record.len()),
                            value: truncate(&record.iter().collect::<Vec<_>>().join(&*(delimiter as char).to_string()), 200),
                        });
                        continue;
                    }
                }
                for (b, v) in builders.iter_mut().zip(record.iter()) {
                    b.append_value(v);
                }
                lines.push(line);
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                bail!("line {line}: {e}");
            }
        }
    }
    let columns: Vec<Column> = builders.into_iter().map(|b| b.finish().into_series().into_column()).collect();
    let frame = DataFrame::new(lines.len(), columns)?;
    Ok(RawTable { name: name.to_string(), kind, headers, frame, lines, rejects, rows_read, delimiter: Some(delimiter), encoding: enc_name })
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
        assert_eq!(t.rows_read, 3);
        assert_eq!(t.height(), 2);
        assert_eq!(t.rejects.len(), 1);
        assert_eq!(t.rejects[0].line, 3);
        assert_eq!(t.lines, vec![2, 4]);
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
