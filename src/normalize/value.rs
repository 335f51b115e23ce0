//! Cleaning of single values as exports write them: placeholders that mean "no value", phones in
//! every local notation, e-mails, and numbers with decimal commas and thousands separators.

/// Trims and maps the placeholders exports use for "no value" to `None`.
#[inline]
pub fn clean(v: Option<&str>) -> Option<&str> {
    let v = v?;
    // An empty field (most tag columns of most visits) is no value; nearly every other begins
    // and ends with a printable ASCII byte: nothing to trim, and the Unicode-aware trims
    // (whitespace, byte-order marks) are only for the rest.
    let (&first, &last) = (v.as_bytes().first()?, v.as_bytes().last()?);
    let t = if plain(first) && plain(last) { v } else { v.trim().trim_matches('\u{feff}') };
    if is_placeholder(t) {
        None
    } else {
        Some(t)
    }
}

/// A printable ASCII byte: not whitespace, not the start of a multi-byte character.
fn plain(b: u8) -> bool {
    b > b' ' && b < 0x7f
}

/// `s.trim()`, without its search through Unicode whitespace for a value that begins and ends
/// with a printable ASCII byte, which has none to trim (nearly every value: most are trimmed
/// already by [`clean`]).
pub fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(&f), Some(&l)) if plain(f) && plain(l) => s,
        _ => s.trim(),
    }
}

// Inlined: it runs for every field read, and nearly every value is ruled out by its first byte or
// its length without the comparisons, which stay out of line.
#[inline]
fn is_placeholder(t: &str) -> bool {
    // Each placeholder begins with `-`, `n`, `u`, `(` or the first byte of `—`: a value that
    // does not is compared with none of them.
    let Some(&first) = t.as_bytes().first() else {
        return true;
    };
    t.len() <= 11 && matches!(first | 0x20, b'-' | b'n' | b'u' | b'(' | 0xe2) && is_placeholder_word(t)
}

#[inline(never)]
fn is_placeholder_word(t: &str) -> bool {
    const PLACEHOLDERS: [&str; 14] =
        ["-", "--", "—", "null", "none", "nil", "nan", "n/a", "na", "(not set)", "(none)", "not set", "undefined", "(null)"];
    PLACEHOLDERS.iter().any(|p| p.eq_ignore_ascii_case(t))
}

/// Normalizes a phone number to E.164 digits without `+` (`8 (915) 123-45-67` → `79151234567`).
/// `country` is the calling code assumed for national numbers. `None` when it is not a phone.
pub fn phone(raw: &str, country: &str) -> Option<String> {
    let mut out = String::new();
    phone_into(raw, country, &mut out).then_some(out)
}

/// [`phone`] written to `out` (a buffer used again for every row); `false` when it is not a phone.
pub fn phone_into(raw: &str, country: &str, out: &mut String) -> bool {
    out.clear();
    let t = trim(raw);
    let international = t.starts_with('+') || t.starts_with("00");
    // Nearly every phone is ASCII: its bytes are read as they are, and only a character outside
    // ASCII (a space of another kind, `доб.`) is decoded.
    let b = t.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c >= 0x80 {
            let Some(ch) = t.get(i..).and_then(|r| r.chars().next()) else {
                return false;
            };
            i += ch.len_utf8();
            if ch.is_whitespace() {
                continue;
            }
            if out.len() >= 10 && ch == 'д' {
                break;
            }
            return false;
        }
        i += 1;
        match c {
            b'0'..=b'9' => out.push(c as char),
            b'+' | b'-' | b'(' | b')' | b'.' | b'/' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r' | b' ' => {}
            // Letters (extensions, "доб.", "anonymous") make it something other than a number.
            _ if out.len() >= 10 && matches!(c, b'd' | b'x' | b'e' | b',' | b';') => break,
            _ => return false,
        }
    }
    if t.starts_with("00") {
        out.drain(..2);
    }
    let national_len = if country == "7" { 10 } else { 0 };
    if international {
    } else if country == "7" && out.len() == 11 && (out.starts_with('8') || out.starts_with('7')) {
        // Replacing costs a search and a copy: only an `8` needs it.
        if out.starts_with('8') {
            out.replace_range(..1, "7");
        }
    } else if national_len != 0 && out.len() == national_len {
        out.insert_str(0, country);
    } else if out.starts_with(country) && out.len() >= 11 || out.len() >= 11 {
    } else if out.len() >= 6 && national_len == 0 {
        let zeros = out.len() - out.trim_start_matches('0').len();
        out.drain(..zeros);
        out.insert_str(0, country);
    } else {
        return false;
    }
    (8..=15).contains(&out.len()) && !out.starts_with('0')
}

/// Trims and lower-cases an e-mail; `None` when it is not shaped like one.
pub fn email(raw: &str) -> Option<String> {
    let mut out = String::new();
    email_into(raw, &mut out).then_some(out)
}

/// [`email`] written to `out` (a buffer used again for every row); `false` when it is not an
/// e-mail. Most addresses are ASCII: they are lower-cased and checked byte by byte.
pub fn email_into(raw: &str, out: &mut String) -> bool {
    out.clear();
    let t = trim(raw).trim_matches(|c| c == '<' || c == '>');
    let ascii = t.is_ascii();
    if ascii {
        out.push_str(t);
        out.make_ascii_lowercase();
    } else {
        out.push_str(&t.to_lowercase());
    }
    let e = out.as_bytes();
    let Some(at) = memchr::memchr(b'@', e) else {
        return false;
    };
    let (local, domain) = (&e[..at], &e[at + 1..]);
    let spaced = if ascii { e.iter().any(|&b| matches!(b, b'\t'..=b'\r' | b' ')) } else { out.contains(char::is_whitespace) };
    !(local.is_empty() || domain.len() < 3 || !domain.contains(&b'.') || domain.contains(&b'@') || spaced)
}

/// Parses a money amount as exports write it: `1234.5`, `1 234,56`, `1,234.56`, `1.234,56`,
/// `12,5 ₽`. A single comma is a decimal comma.
pub fn number(raw: &str) -> Option<f64> {
    let t = trim(raw);
    if let Some(v) = plain_number(t) {
        return v;
    }
    number_rewritten(t)
}

/// [`number`] for any text: currency signs and group separators dropped, the decimal separator
/// made a point.
fn number_rewritten(mut t: &str) -> Option<f64> {
    for sym in ["₽", "руб.", "руб", "р.", "RUB", "rub", "$", "€", "USD", "EUR", "KZT", "₸"] {
        t = t.strip_suffix(sym).unwrap_or(t).trim_end();
        t = t.strip_prefix(sym).unwrap_or(t).trim_start();
    }
    let mut s: String = t.chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' | '\'')).collect();
    if s.is_empty() {
        return None;
    }
    let commas = s.matches(',').count();
    let dots = s.matches('.').count();
    // A separator that is not the decimal one must group thousands (`1.234.567`, `1,234.50`):
    // `01.08.2026` is a date, not 1 082 026.
    let groups = |whole: &str, sep: char| {
        let whole = whole.trim_start_matches(['-', '+']);
        let mut parts = whole.split(sep);
        parts.next().is_some_and(|p| (1..=3).contains(&p.len())) && parts.all(|p| p.len() == 3)
    };
    if commas > 0 && dots > 0 {
        // The later separator is the decimal one.
        let last_comma = s.rfind(',').unwrap_or(0);
        let last_dot = s.rfind('.').unwrap_or(0);
        if last_comma > last_dot {
            if !groups(&s[..last_comma], '.') {
                return None;
            }
            s = s.replace('.', "").replace(',', ".");
        } else {
            if !groups(&s[..last_dot], ',') {
                return None;
            }
            s = s.replace(',', "");
        }
    } else if commas == 1 {
        s = s.replace(',', ".");
    } else if commas > 1 {
        if !groups(&s, ',') {
            return None;
        }
        s = s.replace(',', "");
    } else if dots > 1 {
        if !groups(&s, '.') {
            return None;
        }
        s = s.replace('.', "");
    }
    if !s.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E')) {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    v.is_finite().then_some(v)
}

/// The amounts nearly every export writes, digits with spaces between groups and at most one
/// decimal comma or point (`8 037,00`), read without [`number`]'s rewriting of the text into a
/// new string; `None` for any other text, which goes to the full reading. A value read here
/// reads the same there: no currency sign to strip, spaces dropped, the one comma a decimal one.
fn plain_number(t: &str) -> Option<Option<f64>> {
    let b = t.as_bytes();
    if !b.first()?.is_ascii_digit() || b.len() > 40 {
        return None;
    }
    let (mut buf, mut len, mut point) = ([0u8; 40], 0, false);
    for &c in b {
        let c = match c {
            b'0'..=b'9' => c,
            b' ' => continue,
            b',' | b'.' if !point => {
                point = true;
                b'.'
            }
            _ => return None,
        };
        buf[len] = c;
        len += 1;
    }
    let v: Option<f64> = std::str::from_utf8(&buf[..len]).ok().and_then(|s| s.parse().ok());
    Some(v.filter(|v| v.is_finite()))
}

/// Reads yes/no flags in English and Russian; `None` when undecided.
pub fn flag(raw: &str) -> Option<bool> {
    // The spellings exports use most are matched as written, without a lower-cased copy.
    match trim(raw) {
        "1" | "Да" | "да" | "true" | "TRUE" | "True" => return Some(true),
        "0" | "Нет" | "нет" | "false" | "FALSE" | "False" => return Some(false),
        _ => {}
    }
    match raw.trim().to_lowercase().as_str() {
        "1" | "true" | "yes" | "y" | "t" | "да" | "д" | "целевой" | "target" => Some(true),
        "0" | "false" | "no" | "n" | "f" | "нет" | "н" | "нецелевой" | "not target" => Some(false),
        _ => None,
    }
}

/// Lower-cases and folds `ё` to `е`, so status lists match however the CRM spells them.
pub fn fold(s: &str) -> String {
    s.trim().to_lowercase().replace('ё', "е")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Phones as read before the reading wrote to a buffer used again: the oracle for it.
    fn phone_by_formatting(raw: &str, country: &str) -> Option<String> {
        let t = raw.trim();
        let international = t.starts_with('+') || t.starts_with("00");
        let mut digits = String::new();
        for c in t.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
            } else if !(c.is_whitespace() || matches!(c, '+' | '-' | '(' | ')' | '.' | '/' | '\u{a0}')) {
                if digits.len() >= 10 && matches!(c, 'd' | 'x' | 'д' | 'e' | ',' | ';') {
                    break;
                }
                return None;
            }
        }
        if t.starts_with("00") {
            digits.drain(..2);
        }
        let national_len = if country == "7" { 10 } else { 0 };
        let normalized = if international {
            digits
        } else if country == "7" && digits.len() == 11 && (digits.starts_with('8') || digits.starts_with('7')) {
            format!("7{}", &digits[1..])
        } else if national_len != 0 && digits.len() == national_len {
            format!("{country}{digits}")
        } else if digits.starts_with(country) && digits.len() >= 11 || digits.len() >= 11 {
            digits
        } else if digits.len() >= 6 && national_len == 0 {
            format!("{country}{}", digits.trim_start_matches('0'))
        } else {
            return None;
        };
        ((8..=15).contains(&normalized.len()) && !normalized.starts_with('0')).then_some(normalized)
    }

    proptest::proptest! {
        #[test]
        fn phones_read_into_a_used_buffer_are_read_as_before(
            raw in proptest::collection::vec(proptest::sample::select(vec!["0", "7", "8", "9", "1", "+", "00", " ", "(", ")", "-", "д", "x", "a", "\u{a0}", "\t", "\u{b}", "e", ";", "/", "\u{2003}"]), 0..16),
            country in proptest::sample::select(vec!["7", "375", "49"]),
        ) {
            let raw = raw.concat();
            let mut used = String::from("79990000000");
            let got = phone_into(&raw, country, &mut used).then(|| used.clone());
            proptest::prop_assert_eq!(got, phone_by_formatting(&raw, country), "{:?}", raw);
        }

        /// Numbers as people type them: digit groups between any of the separators, then
        /// perhaps an extension, so that most are phones and every separator is read inside one.
        #[test]
        fn typed_phones_are_read_as_before(
            groups in proptest::collection::vec(("[0-9]{1,4}", proptest::sample::select(vec![
                "", " ", "-", "(", ")", ".", "/", "+", "\t", "\n", "\r", "\u{b}", "\u{c}", "\u{a0}", "\u{2003}", " доб. ", "x", "e", ";", ",", "a",
            ])), 1..6),
            lead in proptest::sample::select(vec!["", "+", "8", "00", " "]),
            country in proptest::sample::select(vec!["7", "375", "49"]),
        ) {
            let raw = format!("{lead}{}", groups.iter().map(|(d, sep)| format!("{d}{sep}")).collect::<String>());
            let mut used = String::from("79990000000");
            let got = phone_into(&raw, country, &mut used).then(|| used.clone());
            proptest::prop_assert_eq!(got, phone_by_formatting(&raw, country), "{:?}", raw);
        }

        #[test]
        fn trimming_without_the_search_trims_as_str_trim(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                " ", "\t", "\n", "\r", "\u{a0}", "\u{85}", "\u{2003}", "\u{3000}", "\u{feff}", "\u{7f}", "a", "1", "я", "~",
            ]), 0..6),
        ) {
            let s = parts.concat();
            proptest::prop_assert_eq!(trim(&s), s.trim());
        }

        #[test]
        fn plain_amounts_read_as_the_full_reading_reads_them(
            t in proptest::collection::vec(proptest::sample::select(b"0123456789 ,.-e".to_vec()), 0..14),
        ) {
            let t = String::from_utf8(t).unwrap_or_default();
            if let Some(fast) = plain_number(t.trim()) {
                proptest::prop_assert_eq!(fast, number_rewritten(t.trim()), "{:?}", t);
            }
        }
    }

    #[test]
    fn placeholders_are_missing() {
        for p in ["", " ", "-", "null", "NULL", "(not set)", "(none)", "—", "n/a"] {
            assert_eq!(clean(Some(p)), None, "{p:?}");
        }
        assert_eq!(clean(Some(" x ")), Some("x"));
        assert_eq!(clean(None), None);
        // Trimmed the Unicode way (no-break space, BOM) only where the ends are not plain ASCII.
        assert_eq!(clean(Some("\u{feff}NaN\t")), None);
        assert_eq!(clean(Some("\u{feff}abc")), Some("abc"));
        assert_eq!(clean(Some("ёлка\u{a0}")), Some("ёлка"));
        // Near misses of placeholders are values.
        for v in ["nano", "-1", "Undefined stock", "(test)", "x-"] {
            assert_eq!(clean(Some(v)), Some(v), "{v:?}");
        }
    }

    #[test]
    fn russian_phones_in_five_notations() {
        for p in
            ["8 (915) 123-45-67", "+7 (915) 123-45-67", "89151234567", "79151234567", "9151234567", "+7 915 123 45 67", "8-915-123-45-67"]
        {
            assert_eq!(phone(p, "7").as_deref(), Some("79151234567"), "{p}");
        }
        assert_eq!(phone("+375 29 123-45-67", "7").as_deref(), Some("375291234567"));
        assert_eq!(phone("12345", "7"), None);
        assert_eq!(phone("anonymous", "7"), None);
        assert_eq!(phone("", "7"), None);
        assert_eq!(phone("8 915 123 45 67 доб. 12", "7").as_deref(), Some("79151234567"));
    }

    /// E-mails as read before the reading wrote to a buffer used again: the oracle for it.
    fn email_by_lowercasing(raw: &str) -> Option<String> {
        let e = raw.trim().trim_matches(|c| c == '<' || c == '>').to_lowercase();
        let (local, domain) = e.split_once('@')?;
        if local.is_empty() || domain.len() < 3 || !domain.contains('.') || domain.contains('@') || e.contains(char::is_whitespace) {
            return None;
        }
        Some(e)
    }

    proptest::proptest! {
        #[test]
        fn emails_read_into_a_used_buffer_are_read_as_before(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                "a", "Z", "ivan", "Mail", ".", "@", "ru", "<", ">", " ", "\t", "\u{b}", "\u{a0}", "\u{2003}", "Ё", "я", "-", "\u{feff}", "İ",
            ]), 0..4),
            at in 0usize..5,
            shaped in proptest::bool::ANY,
        ) {
            // Half are addresses with a piece put somewhere in them, so that most of those
            // pass the shape checks but for what the piece does.
            let mut raw = if shaped { String::from("Ivan.P@Mail.ru") } else { String::new() };
            for p in &pieces {
                let mut i = at.min(raw.len());
                while !raw.is_char_boundary(i) {
                    i -= 1;
                }
                raw.insert_str(i, p);
            }
            let mut used = String::from("old@mail.ru");
            let got = email_into(&raw, &mut used).then(|| used.clone());
            proptest::prop_assert_eq!(got, email_by_lowercasing(&raw), "{:?}", raw);
        }
    }

    #[test]
    fn emails() {
        assert_eq!(email("  Ivan.Petrov@Mail.RU ").as_deref(), Some("ivan.petrov@mail.ru"));
        assert_eq!(email("not an email"), None);
        assert_eq!(email("a@b"), None);
    }

    #[test]
    fn numbers_in_local_notations() {
        assert_eq!(number("1234.5"), Some(1234.5));
        assert_eq!(number("1 234,56"), Some(1234.56));
        assert_eq!(number("1\u{a0}234,56"), Some(1234.56));
        assert_eq!(number("1,234.56"), Some(1234.56));
        assert_eq!(number("1.234,56"), Some(1234.56));
        assert_eq!(number("12,5"), Some(12.5));
        assert_eq!(number("990,00 ₽"), Some(990.0));
        assert_eq!(number("1,234,567"), Some(1234567.0));
        assert_eq!(number("-5"), Some(-5.0));
        assert_eq!(number("12,5o"), None);
        assert_eq!(number("1.234.567"), Some(1234567.0));
        assert_eq!(number("1.234.567,89"), Some(1234567.89));
        assert_eq!(number("-1,234,567.5"), Some(-1234567.5));
        // A separator that does not group thousands is not one: a date is not a number.
        assert_eq!(number("01.08.2026"), None);
        assert_eq!(number("1,23,456"), None);
        assert_eq!(number("12.34,5"), None);
        assert_eq!(number("1234,567.8"), None);
        assert_eq!(number("abc"), None);
        assert_eq!(number(""), None);
        assert_eq!(number("inf"), None);
    }

    #[test]
    fn flags() {
        assert_eq!(flag("да"), Some(true));
        assert_eq!(flag("Нет"), Some(false));
        assert_eq!(flag("maybe"), None);
    }
}
