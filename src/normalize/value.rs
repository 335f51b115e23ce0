//! Cleaning of single values as exports write them: placeholders that mean "no value", phones in
//! every local notation, e-mails, and numbers with decimal commas and thousands separators.

/// Trims and maps the placeholders exports use for "no value" to `None`.
pub fn clean(v: Option<&str>) -> Option<&str> {
    let v = v?;
    // Nearly every value begins and ends with a printable ASCII byte: nothing to trim, and the
    // Unicode-aware trims (whitespace, byte-order marks) are only for the rest.
    let plain = |b: Option<&u8>| b.is_some_and(|&b| b > b' ' && b < 0x7f);
    let t = if plain(v.as_bytes().first()) && plain(v.as_bytes().last()) { v } else { v.trim().trim_matches('\u{feff}') };
    if is_placeholder(t) {
        None
    } else {
        Some(t)
    }
}

fn is_placeholder(t: &str) -> bool {
    const PLACEHOLDERS: [&str; 14] =
        ["-", "--", "—", "null", "none", "nil", "nan", "n/a", "na", "(not set)", "(none)", "not set", "undefined", "(null)"];
    // Each placeholder begins with `-`, `n`, `u`, `(` or the first byte of `—`: a value that
    // does not is compared with none of them.
    let Some(&first) = t.as_bytes().first() else {
        return true;
    };
    t.len() <= 11 && matches!(first | 0x20, b'-' | b'n' | b'u' | b'(' | 0xe2) && PLACEHOLDERS.iter().any(|p| p.eq_ignore_ascii_case(t))
}

/// Normalizes a phone number to E.164 digits without `+` (`8 (915) 123-45-67` → `79151234567`).
/// `country` is the calling code assumed for national numbers. `None` when it is not a phone.
pub fn phone(raw: &str, country: &str) -> Option<String> {
    let t = raw.trim();
    let international = t.starts_with('+') || t.starts_with("00");
    let mut digits = String::with_capacity(16);
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else if !(c.is_whitespace() || matches!(c, '+' | '-' | '(' | ')' | '.' | '/' | '\u{a0}')) {
            // Letters (extensions, "доб.", "anonymous") make it something other than a number.
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
    } else if digits.starts_with(country) && digits.len() >= 11 {
        digits
    } else if digits.len() >= 11 {
        digits
    } else if digits.len() >= 6 && national_len == 0 {
        format!("{country}{}", digits.trim_start_matches('0'))
    } else {
        return None;
    };
    if (8..=15).contains(&normalized.len()) && !normalized.starts_with('0') {
        Some(normalized)
    } else {
        None
    }
}

/// Trims and lower-cases an e-mail; `None` when it is not shaped like one.
pub fn email(raw: &str) -> Option<String> {
    let e = raw.trim().trim_matches(|c| c == '<' || c == '>').to_lowercase();
    let (local, domain) = e.split_once('@')?;
    if local.is_empty() || domain.len() < 3 || !domain.contains('.') || domain.contains('@') || e.contains(char::is_whitespace) {
        return None;
    }
    Some(e)
}

/// Parses a money amount as exports write it: `1234.5`, `1 234,56`, `1,234.56`, `1.234,56`,
/// `12,5 ₽`. A single comma is a decimal comma.
pub fn number(raw: &str) -> Option<f64> {
    let mut t = raw.trim();
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
    if commas > 0 && dots > 0 {
        // The later separator is the decimal one.
        let last_comma = s.rfind(',').unwrap_or(0);
        let last_dot = s.rfind('.').unwrap_or(0);
        if last_comma > last_dot {
            s = s.replace('.', "").replace(',', ".");
        } else {
            s = s.replace(',', "");
        }
    } else if commas == 1 {
        s = s.replace(',', ".");
    } else if commas > 1 {
        s = s.replace(',', "");
    } else if dots > 1 {
        s = s.replace('.', "");
    }
    if !s.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E')) {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    v.is_finite().then_some(v)
}

/// Reads yes/no flags in English and Russian; `None` when undecided.
pub fn flag(raw: &str) -> Option<bool> {
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
