//! Dates as cron jobs write them: `today`, `yesterday`, `-7d`, whole months (`--period 2026-10`),
//! and `{date}` in output file names — all in the config's time zone. `TOUCHPATH_TODAY` pins
//! "today" so that a rerun of last night's job, or a test, gives the same result.

use std::path::{Path, PathBuf};

use chrono::{Datelike, Duration, LocalResult, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// Today in `tz`, or `TOUCHPATH_TODAY` (YYYY-MM-DD) when set.
pub fn today(tz: Tz) -> Result<NaiveDate, String> {
    match std::env::var("TOUCHPATH_TODAY") {
        Ok(s) if !s.trim().is_empty() => {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| format!("TOUCHPATH_TODAY `{s}`: give a date as YYYY-MM-DD"))
        }
        _ => Ok(Utc::now().with_timezone(&tz).date_naive()),
    }
}

/// A day: `today`, `yesterday`, `-7d` (days before today), `YYYY-MM-DD` or `DD.MM.YYYY`.
pub fn parse_day(s: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let t = s.trim();
    match t {
        "today" => return Ok(today),
        "yesterday" => return Ok(today - Duration::days(1)),
        _ => {}
    }
    if let Some(n) = t.strip_prefix('-').and_then(|r| r.strip_suffix('d')) {
        let days: i64 = n.parse().map_err(|_| format!("`{s}`: a relative date is -Nd, e.g. -7d"))?;
        return today.checked_sub_signed(Duration::days(days)).ok_or_else(|| format!("`{s}` is too far in the past"));
    }
    for fmt in ["%Y-%m-%d", "%d.%m.%Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(t, fmt) {
            return Ok(d);
        }
    }
    Err(format!("`{s}`: give a date as YYYY-MM-DD, DD.MM.YYYY, today, yesterday or -Nd"))
}

/// A period's first and last day: `YYYY-MM`, `YYYY`, `this-month` or `last-month`.
pub fn period(s: &str, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), String> {
    let t = s.trim();
    let month = |first: NaiveDate| -> Result<(NaiveDate, NaiveDate), String> {
        let next = first.checked_add_months(Months::new(1)).ok_or_else(|| format!("`{s}` is out of range"))?;
        Ok((first, next - Duration::days(1)))
    };
    let this_month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).ok_or_else(|| "today is out of range".to_string())?;
    match t {
        "this-month" => return month(this_month),
        "last-month" => return month(this_month.checked_sub_months(Months::new(1)).ok_or_else(|| format!("`{s}` is out of range"))?),
        _ => {}
    }
    if let Some((y, m)) = t.split_once('-') {
        if let (Ok(y), Ok(m)) = (y.parse::<i32>(), m.parse::<u32>()) {
            if let Some(first) = NaiveDate::from_ymd_opt(y, m, 1) {
                return month(first);
            }
        }
    } else if let Ok(y) = t.parse::<i32>() {
        if let (Some(a), Some(b)) = (NaiveDate::from_ymd_opt(y, 1, 1), NaiveDate::from_ymd_opt(y, 12, 31)) {
            return Ok((a, b));
        }
    }
    Err(format!("`{s}`: give a period as YYYY-MM, YYYY, this-month or last-month"))
}

/// The UTC second at which `day` starts in `tz`.
pub fn day_start(day: NaiveDate, tz: Tz) -> i64 {
    let naive = day.and_time(chrono::NaiveTime::MIN);
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.timestamp(),
        // A day starting in a DST gap: midnight does not exist, the day starts an hour later.
        LocalResult::None => {
            tz.from_local_datetime(&(naive + Duration::hours(1))).earliest().map_or_else(|| naive.and_utc().timestamp(), |t| t.timestamp())
        }
    }
}

/// Fills `{date}` (the run's day), `{from}` and `{to}` (the selected dates) in a file name.
pub fn expand_name(path: &Path, today: NaiveDate, from: Option<NaiveDate>, to: Option<NaiveDate>) -> Result<PathBuf, String> {
    let text = path.to_string_lossy();
    if !text.contains('{') {
        return Ok(path.to_path_buf());
    }
    let mut out = String::new();
    let mut rest = &text[..];
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| format!("{text}: `{{` without a closing `}}`"))?;
        let name = &after[..close];
        let day = match name {
            "date" => Some(today),
            "from" => Some(from.ok_or_else(|| format!("{text}: {{from}} needs --from or --period"))?),
            "to" => Some(to.ok_or_else(|| format!("{text}: {{to}} needs --to or --period"))?),
            _ => None,
        };
        match day {
            Some(d) => out.push_str(&d.format("%Y-%m-%d").to_string()),
            None => return Err(format!("{text}: unknown placeholder {{{name}}} (use {{date}}, {{from}} or {{to}})")),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(PathBuf::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn relative_days() {
        let t = d("2026-11-24");
        assert_eq!(parse_day("today", t).unwrap(), t);
        assert_eq!(parse_day("yesterday", t).unwrap(), d("2026-11-23"));
        assert_eq!(parse_day("-7d", t).unwrap(), d("2026-11-17"));
        assert_eq!(parse_day("01.03.2026", t).unwrap(), d("2026-03-01"));
        assert!(parse_day("-7w", t).is_err());
        assert!(parse_day("tomorrow", t).is_err());
    }

    #[test]
    fn periods() {
        let t = d("2026-03-15");
        assert_eq!(period("2026-02", t).unwrap(), (d("2026-02-01"), d("2026-02-28")));
        assert_eq!(period("2024-02", t).unwrap(), (d("2024-02-01"), d("2024-02-29")));
        assert_eq!(period("2026", t).unwrap(), (d("2026-01-01"), d("2026-12-31")));
        assert_eq!(period("last-month", t).unwrap(), (d("2026-02-01"), d("2026-02-28")));
        assert_eq!(period("this-month", t).unwrap(), (d("2026-03-01"), d("2026-03-31")));
        assert_eq!(period("last-month", d("2026-01-10")).unwrap(), (d("2025-12-01"), d("2025-12-31")));
        assert!(period("2026-13", t).is_err());
    }

    #[test]
    fn dated_names() {
        let t = d("2026-11-24");
        let p = expand_name(Path::new("reports/channels-{date}.csv"), t, None, None).unwrap();
        assert_eq!(p, PathBuf::from("reports/channels-2026-11-24.csv"));
        let p = expand_name(Path::new("r-{from}_{to}.csv"), t, Some(d("2026-10-01")), Some(d("2026-10-31"))).unwrap();
        assert_eq!(p, PathBuf::from("r-2026-10-01_2026-10-31.csv"));
        assert!(expand_name(Path::new("r-{from}.csv"), t, None, None).is_err());
        assert!(expand_name(Path::new("r-{day}.csv"), t, None, None).is_err());
        assert!(expand_name(Path::new("r-{date.csv"), t, None, None).is_err());
    }

    #[test]
    fn day_starts_in_the_zone() {
        let msk: Tz = "Europe/Moscow".parse().unwrap();
        assert_eq!(day_start(d("2026-10-01"), msk), 1_790_802_000, "2026-09-30T21:00:00Z");
    }
}
