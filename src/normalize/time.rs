//! Timestamps as exports write them (`dd.mm.yyyy HH:MM[:SS]`, ISO 8601 with or without offset,
//! Unix seconds or milliseconds), read in the source's time zone and kept as UTC Unix seconds.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone};
use chrono_tz::Tz;

/// Parses timestamps of one source; caches the zone offset per local date because exports
/// hold many rows per day, in any order, and zone look-ups are the expensive part.
pub struct TimeParser {
    tz: Tz,
    format: Option<std::rc::Rc<str>>,
    /// Offset of each local date seen; `None` for a date whose offset changes within the day.
    cache: rustc_hash::FxHashMap<NaiveDate, Option<i64>>,
    /// UTC seconds of local midnight, by the date's ten bytes as written (`31.10.2026`,
    /// `2026-10-31`), for dates of one offset all day: a row's timestamp is then its time of day
    /// added, without reading the date again.
    days: rustc_hash::FxHashMap<u128, i64>,
}

impl TimeParser {
    pub fn new(tz: Tz, format: Option<String>) -> Self {
        TimeParser { tz, format: format.map(std::rc::Rc::from), cache: Default::default(), days: Default::default() }
    }

    /// UTC Unix seconds, or a short description of what is wrong.
    // Inlined for its common case, a timestamp on a day already read; the rest stays out of line.
    #[inline]
    pub fn parse(&mut self, raw: &str) -> Result<i64, String> {
        let s = super::value::trim(raw);
        if self.format.is_none() {
            if let Some(t) = self.known_day(s.as_bytes()) {
                return Ok(t);
            }
        }
        self.parse_other(s)
    }

    #[inline(never)]
    fn parse_other(&mut self, s: &str) -> Result<i64, String> {
        if let Some(fmt) = self.format.clone() {
            return self.parse_with_format(s, &fmt);
        }
        if let Some((naive, off)) = with_offset(s.as_bytes()) {
            return Ok(naive.and_utc().timestamp() - off);
        }
        if let Some(naive) = common(s.as_bytes()) {
            let t = self.local_to_utc(naive);
            if let (Some(&Some(off)), Some(day)) = (self.cache.get(&naive.date()), day_key(s.as_bytes())) {
                if self.days.len() < 100_000 {
                    self.days.insert(day, naive.date().and_time(NaiveTime::MIN).and_utc().timestamp() - off);
                }
            }
            return Ok(t);
        }
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            return unix(s);
        }
        let (naive, offset) = parse_auto(s).ok_or_else(|| {
            "is not a date and time (expected e.g. 31.10.2026 14:05, 2026-10-31 14:05:00, 2026-10-31T14:05:00+03:00 or Unix seconds)"
                .to_string()
        })?;
        Ok(match offset {
            Some(off) => naive.and_utc().timestamp() - off,
            None => self.local_to_utc(naive),
        })
    }

    /// A timestamp in one of [`common`]'s layouts on a date already read.
    #[inline]
    fn known_day(&self, b: &[u8]) -> Option<i64> {
        let midnight = *self.days.get(&day_key(b)?)?;
        Some(midnight + time_of_day(b)? as i64)
    }

    fn parse_with_format(&mut self, s: &str, fmt: &str) -> Result<i64, String> {
        if let Ok(dt) = DateTime::parse_from_str(s, fmt) {
            return Ok(dt.timestamp());
        }
        if let Ok(n) = NaiveDateTime::parse_from_str(s, fmt) {
            return Ok(self.local_to_utc(n));
        }
        if let Ok(d) = NaiveDate::parse_from_str(s, fmt) {
            return Ok(self.local_to_utc(d.and_time(NaiveTime::MIN)));
        }
        Err(format!("does not match the configured timestamp_format `{fmt}`"))
    }

    fn local_to_utc(&mut self, naive: NaiveDateTime) -> i64 {
        let date = naive.date();
        let secs = naive.and_utc().timestamp();
        if let Some(&Some(off)) = self.cache.get(&date) {
            return secs - off;
        }
        // Offsets of a named zone can change within a day (DST), so only cache days whose
        // midnight and end share one offset.
        let offset_at = |n: NaiveDateTime| -> i64 {
            match self.tz.from_local_datetime(&n) {
                chrono::LocalResult::Single(dt) => dt.offset().fix().local_minus_utc() as i64,
                chrono::LocalResult::Ambiguous(a, _) => a.offset().fix().local_minus_utc() as i64,
                // A local time skipped by a DST change: read it with the offset in force before
                // (a day earlier: changes are months apart), as Python and the tz database's
                // own tools do. `n` taken as UTC lies after the change, in the new offset.
                chrono::LocalResult::None => {
                    let before = n.checked_sub_signed(chrono::TimeDelta::hours(24)).unwrap_or(n);
                    self.tz.offset_from_utc_datetime(&before).fix().local_minus_utc() as i64
                }
            }
        };
        let off = offset_at(naive);
        let start = offset_at(date.and_time(NaiveTime::MIN));
        let end = date.and_hms_opt(23, 59, 59).map(offset_at).unwrap_or(start);
        // A zone's history has a few hundred changes at most, but a file of garbage dates must
        // not grow the cache without bound.
        if self.cache.len() < 100_000 {
            self.cache.insert(date, (start == end && start == off).then_some(off));
        }
        secs - off
    }
}

fn unix(s: &str) -> Result<i64, String> {
    let v: i64 = s.parse().map_err(|_| "is not a number of seconds".to_string())?;
    match s.len() {
        9 | 10 => Ok(v),
        12 | 13 => Ok(v.div_euclid(1000)),
        // GA4's event_timestamp counts microseconds.
        15 | 16 => Ok(v.div_euclid(1_000_000)),
        _ => Err("is a number but not Unix seconds (10 digits), milliseconds (13) or microseconds (16)".into()),
    }
}

fn num(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u32, |a, &d| a * 10 + (d - b'0') as u32))
}

/// Splits off a trailing zone: `Z`, `UTC`, `+03:00`, `+0300`, `+03`. Returns the rest and
/// the offset in seconds east of UTC.
fn split_offset(s: &str) -> (&str, Option<i64>) {
    let t = s.trim_end();
    if let Some(rest) = t.strip_suffix('Z').or_else(|| t.strip_suffix(" UTC")).or_else(|| t.strip_suffix("UTC")) {
        return (rest.trim_end(), Some(0));
    }
    let bytes = t.as_bytes();
    // Look for a sign after the time part (at least "HH:MM" before it).
    for i in (10..bytes.len()).rev() {
        let c = bytes[i];
        if c == b'+' || c == b'-' {
            let zone = &t[i + 1..];
            let zb = zone.replace(':', "");
            let (h, m) = match zb.len() {
                2 => (num(zb.as_bytes()), Some(0)),
                4 => (num(&zb.as_bytes()[..2]), num(&zb.as_bytes()[2..])),
                _ => return (t, None),
            };
            if let (Some(h), Some(m)) = (h, m) {
                if h <= 14 && m < 60 {
                    let sign = if c == b'-' { -1 } else { 1 };
                    return (t[..i].trim_end(), Some(sign * (h as i64 * 3600 + m as i64 * 60)));
                }
            }
            return (t, None);
        }
        if c == b' ' || c == b'T' {
            break;
        }
    }
    (t, None)
}

/// Whether a timestamp has the shape of [`common`]'s layouts (its digits not yet checked).
fn common_shape(b: &[u8]) -> bool {
    (b.len() == 19 && b[16] == b':' || b.len() == 16) && b[13] == b':' && (b[10] == b' ' || b[10] == b'T' && b[4] == b'-')
}

/// The seconds of a timestamp of [`common`]'s shape: none written is 0.
fn seconds(b: &[u8]) -> Option<u32> {
    if b.len() == 16 {
        Some(0)
    } else {
        two(b, 17)
    }
}

/// ISO 8601 with its offset, as `2026-10-31T14:05:00+03:00` or `...Z`: the layout of [`common`]
/// and the offset in seconds east of UTC, read as [`parse_auto`] reads them.
fn with_offset(b: &[u8]) -> Option<(NaiveDateTime, i64)> {
    let off = match b.len() {
        20 if b[19] == b'Z' => 0,
        25 if matches!(b[19], b'+' | b'-') && b[22] == b':' => {
            let (h, m) = (two(b, 20)?, two(b, 23)?);
            if h > 14 || m >= 60 {
                return None;
            }
            (h * 3600 + m * 60) as i64 * if b[19] == b'-' { -1 } else { 1 }
        }
        _ => return None,
    };
    Some((common(&b[..19])?, off))
}

/// The date part of a timestamp laid out as [`common`] reads it, as a number.
fn day_key(b: &[u8]) -> Option<u128> {
    if !common_shape(b) {
        return None;
    }
    let mut k = [0u8; 16];
    k[..10].copy_from_slice(&b[..10]);
    Some(u128::from_le_bytes(k))
}

/// The seconds since midnight of a timestamp of [`common`]'s shape; `None` unless it is a time
/// of day. With seconds (nearly every export), the eight bytes of `HH:MM:SS` are checked as one
/// word, XORed with `0` in every digit's place and `:` in each colon's: a digit leaves a byte of
/// 0 to 9, whose high half is 0 even with 6 added, a colon (checked by the shape) leaves 0, and
/// any other byte leaves a high half that is not 0, as it is or once 6 is added.
#[inline]
fn time_of_day(b: &[u8]) -> Option<u32> {
    let (h, m, s) = match b.get(11..19) {
        Some(&[h1, h0, c1, m1, m0, c0, s1, s0]) if b.len() == 19 => {
            let w = u64::from_le_bytes([h1, h0, c1, m1, m0, c0, s1, s0]) ^ 0x3030_3a30_303a_3030;
            if (w | w.wrapping_add(0x0606_0606_0606_0606)) & 0xf0f0_f0f0_f0f0_f0f0 != 0 {
                return None;
            }
            let d = w.to_le_bytes().map(u32::from);
            (d[0] * 10 + d[1], d[3] * 10 + d[4], d[6] * 10 + d[7])
        }
        _ => (two(b, 11)?, two(b, 14)?, seconds(b)?),
    };
    (h < 24 && m < 60 && s < 60).then_some(h * 3600 + m * 60 + s)
}

/// The two digits at `i` as a number.
fn two(b: &[u8], i: usize) -> Option<u32> {
    let (h, l) = (b[i].wrapping_sub(b'0'), b[i + 1].wrapping_sub(b'0'));
    (h < 10 && l < 10).then_some(h as u32 * 10 + l as u32)
}

/// The two layouts nearly every export uses, `31.10.2026 14:05:00` and `2026-10-31 14:05:00`
/// (or with `T`), with or without seconds, read without the general parser's searching;
/// anything else is `None` and goes to [`parse_auto`], which reads these the same way.
fn common(b: &[u8]) -> Option<NaiveDateTime> {
    if !common_shape(b) {
        return None;
    }
    let two = |i: usize| two(b, i);
    let (y, m, d) = match (b[2], b[4], b[5], b[7]) {
        (b'.', _, b'.', _) => (two(6)? * 100 + two(8)?, two(3)?, two(0)?),
        (_, b'-', _, b'-') => (two(0)? * 100 + two(2)?, two(5)?, two(8)?),
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(y as i32, m, d)?;
    Some(date.and_time(NaiveTime::from_hms_opt(two(11)?, two(14)?, seconds(b)?)?))
}

/// Recognises the supported layouts. Returns the naive date-time and an explicit offset if any.
pub fn parse_auto(s: &str) -> Option<(NaiveDateTime, Option<i64>)> {
    let (body, offset) = split_offset(s);
    let b = body.as_bytes();
    if b.len() < 8 {
        return None;
    }
    // Date part.
    let (date, rest) = if b.len() >= 10 && b[4] == b'-' && b[7] == b'-' || b.len() >= 10 && b[4] == b'/' && b[7] == b'/' {
        let d = NaiveDate::from_ymd_opt(num(&b[0..4])? as i32, num(&b[5..7])?, num(&b[8..10])?)?;
        (d, &body[10..])
    } else if b.len() >= 10 && b[2] == b'.' && b[5] == b'.' && b[6..10].iter().all(u8::is_ascii_digit) {
        let d = NaiveDate::from_ymd_opt(num(&b[6..10])? as i32, num(&b[3..5])?, num(&b[0..2])?)?;
        (d, &body[10..])
    } else if b.len() >= 8 && b[2] == b'.' && b[5] == b'.' && (b.len() == 8 || b[8] == b' ') {
        // dd.mm.yy
        let d = NaiveDate::from_ymd_opt(2000 + num(&b[6..8])? as i32, num(&b[3..5])?, num(&b[0..2])?)?;
        (d, &body[8..])
    } else {
        return None;
    };
    let rest = rest.trim_start_matches([' ', 'T', ',']);
    if rest.is_empty() {
        return Some((date.and_time(NaiveTime::MIN), offset));
    }
    let r = rest.as_bytes();
    if r.len() < 4 {
        return None;
    }
    let colon = rest.find(':')?;
    let h = num(&r[..colon])?;
    let m = num(r.get(colon + 1..colon + 3)?)?;
    let mut sec = 0;
    let tail = &r[colon + 3..];
    if !tail.is_empty() {
        if tail[0] != b':' || tail.len() < 3 {
            return None;
        }
        sec = num(&tail[1..3])?;
        let frac = &tail[3..];
        if !(frac.is_empty() || frac[0] == b'.' || frac[0] == b',') || frac.len() > 1 && num(&frac[1..]).is_none() {
            return None;
        }
    }
    let time = NaiveTime::from_hms_opt(h, m, sec)?;
    Some((date.and_time(time), offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> i64 {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap().and_utc().timestamp()
    }

    #[test]
    fn russian_dates_in_moscow_time() {
        let mut p = TimeParser::new(chrono_tz::Europe::Moscow, None);
        assert_eq!(p.parse("31.10.2026 14:05:00"), Ok(utc("2026-10-31 11:05:00")));
        assert_eq!(p.parse("31.10.2026 14:05"), Ok(utc("2026-10-31 11:05:00")));
        assert_eq!(p.parse("31.10.2026"), Ok(utc("2026-10-30 21:00:00")));
        assert_eq!(p.parse("31.10.26 14:05"), Ok(utc("2026-10-31 11:05:00")));
    }

    #[test]
    fn iso_with_and_without_offset() {
        let mut p = TimeParser::new(chrono_tz::Europe::Moscow, None);
        assert_eq!(p.parse("2026-10-31T14:05:00+03:00"), Ok(utc("2026-10-31 11:05:00")));
        assert_eq!(p.parse("2026-10-31T11:05:00Z"), Ok(utc("2026-10-31 11:05:00")));
        assert_eq!(p.parse("2026-10-31 11:05:00 UTC"), Ok(utc("2026-10-31 11:05:00")));
        assert_eq!(p.parse("2026-10-31 14:05:00.123"), Ok(utc("2026-10-31 11:05:00")));
        assert_eq!(p.parse("2026-10-31T09:05:00-0200"), Ok(utc("2026-10-31 11:05:00")));
        assert_eq!(p.parse("2026-10-31 14:05:00"), Ok(utc("2026-10-31 11:05:00")));
    }

    #[test]
    fn the_common_layouts_read_as_the_general_parser_reads_them() {
        // Both paths then go through the same zone conversion, so UTC shows any difference.
        let mut p = TimeParser::new(chrono_tz::UTC, None);
        for s in [
            "31.10.2026 14:05:00",
            "2026-10-31 14:05:00",
            "2026-10-31T14:05:00",
            "29.02.2024 23:59:59",
            "01.01.0001 00:00:00",
            "29.02.2026 10:00:00",
            "31.04.2026 10:00:00",
            "31.10.2026 24:00:00",
            "31.10.2026 14:60:00",
            "31.10.2026 14:05:60",
            "31.10.2026T14:05:00",
            "3a.10.2026 14:05:00",
            "2026/10/31 14:05:00",
            "2026-10-31 14:05:0x",
            "31.10.2026 14:05:+0",
            "31.10.2026 14:05",
            "2026-10-31 14:05",
            "2026-10-31T14:05",
            "31.10.2026T14:05",
            "31.10.2026 24:00",
            "31.10.2026 14:60",
            "2026-10-31 14:0x",
            "2026-10-31T14:05:00+03:00",
            "2026-10-31T14:05:00-05:30",
            "2026-10-31 14:05:00+03:00",
            "31.10.2026 14:05:00+03:00",
            "2026-10-31T14:05:00Z",
            "2026-10-31T14:05:00+14:00",
            "2026-10-31T14:05:00+15:00",
            "2026-10-31T14:05:00+03:60",
            "2026-10-31T14:05:00+0a:00",
            "2026-10-31T14:05:00 03:00",
            "2026-10-31T14:05+03:00",
            "2026-02-30T14:05:00+03:00",
            "2026-10-31T24:05:00+03:00",
        ] {
            let general = parse_auto(s).map(|(n, off)| n.and_utc().timestamp() - off.unwrap_or(0));
            assert_eq!(p.parse(s).ok(), general, "{s}");
        }
    }

    #[test]
    fn a_day_read_once_gives_the_same_times_as_reading_it_afresh() {
        // Berlin changes its offset on 29.03.2026 and 25.10.2026: those days are read in full
        // every time; the others from the day already read. Bad times stay errors either way.
        let mut seen = TimeParser::new(chrono_tz::Europe::Berlin, None);
        let days = ["28.03.2026", "29.03.2026", "2026-10-25", "2026-10-26", "31.10.2026", "29.02.2026"];
        let times = [
            "00:00:00", "02:30:00", "03:00:00", "12:34:56", "23:59:59", "24:00:00", "12:60:00", "12:00:60", "1a:00:00", "02:30", "12:34",
            "24:00", "12:60", "1a:00",
        ];
        for round in 0..2 {
            for day in days {
                for time in times {
                    for sep in [" ", "T"] {
                        let s = format!("{day}{sep}{time}");
                        let fresh = TimeParser::new(chrono_tz::Europe::Berlin, None).parse(&s);
                        assert_eq!(seen.parse(&s), fresh, "{s}, round {round}");
                    }
                }
            }
        }
        assert!(seen.days.len() >= 3, "days of one offset are kept: {:?}", seen.days.len());
    }

    proptest::proptest! {
        // Times of day checked a word at a time must be read as digit by digit: a valid time
        // with one of its digits, or none, replaced by a byte just outside the digits (`/`, `:`,
        // `@`) or another.
        #[test]
        fn a_time_of_day_reads_the_same_on_a_day_already_read(
            (h, m, s) in (0..25u32, 0..61u32, 0..61u32),
            at in proptest::sample::select(vec![0usize, 1, 3, 4, 6, 7]),
            with in proptest::sample::select(vec![None, Some('/'), Some(':'), Some('@'), Some('a'), Some(' ')]),
        ) {
            let mut t: Vec<char> = format!("{h:02}:{m:02}:{s:02}").chars().collect();
            if let Some(c) = with {
                t[at] = c;
            }
            let s = format!("31.10.2026 {}", t.into_iter().collect::<String>());
            let mut seen = TimeParser::new(chrono_tz::Europe::Moscow, None);
            proptest::prop_assert!(seen.parse("31.10.2026 12:00:00").is_ok());
            proptest::prop_assert_eq!(seen.parse(&s), TimeParser::new(chrono_tz::Europe::Moscow, None).parse(&s), "{}", s);
        }
    }

    #[test]
    fn skipped_and_repeated_local_times() {
        let mut p = TimeParser::new(chrono_tz::Europe::Berlin, None);
        let utc = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap().and_utc().timestamp();
        // 29.03.2026: clocks go from 02:00 to 03:00. 02:30 does not exist: read in winter time.
        assert_eq!(p.parse("29.03.2026 02:30:00"), Ok(utc("2026-03-29 01:30:00")));
        assert_eq!(p.parse("29.03.2026 03:30:00"), Ok(utc("2026-03-29 01:30:00")));
        // 25.10.2026: 02:00–03:00 happens twice; the first, in summer time, is taken.
        assert_eq!(p.parse("25.10.2026 02:30:00"), Ok(utc("2026-10-25 00:30:00")));
    }

    #[test]
    fn unix_seconds_and_millis() {
        let mut p = TimeParser::new(chrono_tz::UTC, None);
        assert_eq!(p.parse("1793444700"), Ok(1793444700));
        assert_eq!(p.parse("1793444700123"), Ok(1793444700));
        assert_eq!(p.parse("1793444700123456"), Ok(1793444700));
        assert!(p.parse("12345").is_err());
    }

    #[test]
    fn rejects_garbage() {
        let mut p = TimeParser::new(chrono_tz::UTC, None);
        for bad in ["yesterday", "32.10.2026", "2026-13-01", "31.10.2026 25:00", "2026-10-31 14:0x"] {
            assert!(p.parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn explicit_format_and_dst_zone() {
        let mut p = TimeParser::new(chrono_tz::Europe::Berlin, Some("%m/%d/%Y %H:%M".into()));
        // Berlin is UTC+1 in winter and UTC+2 in summer.
        assert_eq!(p.parse("01/15/2026 12:00"), Ok(utc("2026-01-15 11:00:00")));
        assert_eq!(p.parse("07/15/2026 12:00"), Ok(utc("2026-07-15 10:00:00")));
        assert!(p.parse("2026-07-15").is_err());
    }
}
