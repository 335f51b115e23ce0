//! A structural check of a Parquet file's footer (Thrift compact protocol) before the Parquet
//! reader sees it. The reader trusts the list lengths written in the metadata and allocates them
//! up front, so a corrupt or hostile file could ask for hundreds of gigabytes and abort the
//! process. Every element of a list takes at least one byte, so a list claiming more elements
//! than bytes remain is corrupt, and the file is refused with an error instead.

use anyhow::{bail, Result};

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
