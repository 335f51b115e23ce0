//! What a visit's URLs say about where it came from: UTM tags in the landing page's query string
//! (with Yandex and Google click ids), and the host of the referrer.

use std::borrow::Cow;

/// Decodes `%XX` escapes (as UTF-8, falling back to Windows-1251) and `+` as a space; text
/// without either is returned as it is, without a copy.
pub fn percent_decode(s: &str) -> Cow<'_, str> {
    if memchr::memchr2(b'%', b'+', s.as_bytes()).is_none() {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Cow::Owned(match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => encoding_rs::WINDOWS_1251.decode(e.as_bytes()).0.into_owned(),
    })
}

/// UTM tags (and click ids) found in a URL's query string, borrowed from it unless they had
/// to be decoded.
#[derive(Default, Debug, PartialEq, Eq)]
pub struct QueryTags<'a> {
    pub source: Option<Cow<'a, str>>,
    pub medium: Option<Cow<'a, str>>,
    pub campaign: Option<Cow<'a, str>>,
    pub content: Option<Cow<'a, str>>,
    pub term: Option<Cow<'a, str>>,
    pub yclid: bool,
    pub gclid: bool,
}

pub fn query_tags(url: &str) -> QueryTags<'_> {
    let mut t = QueryTags::default();
    let Some(q) = memchr::memchr(b'?', url.as_bytes()).map(|i| &url[i + 1..]) else {
        return t;
    };
    let q = memchr::memchr(b'#', q.as_bytes()).map_or(q, |i| &q[..i]);
    // Pairs and their `=` are found by byte searches, and values trimmed with the ASCII fast
    // path: the `str` splitters and Unicode trims cost more than the rest of reading a query.
    let mut start = 0;
    for end in memchr::memchr_iter(b'&', q.as_bytes()).chain(std::iter::once(q.len())) {
        let pair = &q[start..end];
        start = end + 1;
        let (k, v) = match memchr::memchr(b'=', pair.as_bytes()) {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, ""),
        };
        let key = |name: &str| k.eq_ignore_ascii_case(name);
        let slot = if key("utm_source") {
            &mut t.source
        } else if key("utm_medium") {
            &mut t.medium
        } else if key("utm_campaign") {
            &mut t.campaign
        } else if key("utm_content") {
            &mut t.content
        } else if key("utm_term") {
            &mut t.term
        } else {
            if key("yclid") {
                t.yclid = true;
            } else if key("gclid") || key("gbraid") || key("wbraid") {
                t.gclid = true;
            }
            continue;
        };
        let v = match percent_decode(v) {
            Cow::Borrowed(b) => Cow::Borrowed(super::value::trim(b)),
            Cow::Owned(o) if o.trim().len() == o.len() => Cow::Owned(o),
            Cow::Owned(o) => Cow::Owned(o.trim().to_string()),
        };
        // A placeholder (`(not set)`, `-`, `null`) is no value here either, as in a tag column.
        *slot = super::value::clean(Some(v.as_ref())).is_some().then_some(v);
    }
    t
}

/// What a byte of a URL's authority is to [`host`].
const PLAIN: u8 = 0;
/// `/`, `?` or `#`: the authority ends.
const END: u8 = 1;
const AT: u8 = 2;
const COLON: u8 = 3;
/// An upper-case letter or a byte of a non-ASCII character: the host needs lower-casing.
const UPPER: u8 = 4;

static AUTHORITY: [u8; 256] = {
    let mut t = [PLAIN; 256];
    t[b'/' as usize] = END;
    t[b'?' as usize] = END;
    t[b'#' as usize] = END;
    t[b'@' as usize] = AT;
    t[b':' as usize] = COLON;
    let mut c = 0usize;
    while c < 256 {
        if (c as u8).is_ascii_uppercase() || c >= 0x80 {
            t[c] = UPPER;
        }
        c += 1;
    }
    t
};

/// The lower-cased host of a URL without `www.`; `None` for an empty or host-less value.
pub fn host(url: &str) -> Option<Cow<'_, str>> {
    host_and_head(url).0
}

/// [`host`], and how many of the URL's first bytes decide it when they are `http://` or
/// `https://` and the authority up to the `/`, `?` or `#` that ends it: every URL that begins
/// with those bytes has that host.
fn host_and_head(url: &str) -> (Option<Cow<'_, str>>, Option<usize>) {
    let u = super::value::trim(url);
    let b = u.as_bytes();
    // A URL that begins with its scheme begins where the trimmed one does.
    let scheme = if url.starts_with("https://") {
        Some(8)
    } else if url.starts_with("http://") {
        Some(7)
    } else {
        None
    };
    // Nearly every URL begins with its scheme; only the others are searched for one. Every byte
    // looked for is ASCII, so each cut falls on a character boundary.
    let rest = if let Some(n) = scheme {
        &u[n..]
    } else {
        match memchr::memchr_iter(b':', b).find(|&i| b[i + 1..].starts_with(b"//")) {
            Some(i) => &u[i + 3..],
            None if u.starts_with("//") => &u[2..],
            None => u,
        }
    };
    // The authority is a few bytes: one loop over them costs less than a search per question
    // (this runs for two URLs of every visit). It ends at the path, query or fragment; the
    // host follows the last `@` and ends at the first `:` after it.
    let r = rest.as_bytes();
    let (mut from, mut to, mut end) = (0, None, r.len());
    let mut ended = false;
    let mut lower = true;
    for (i, &c) in r.iter().enumerate() {
        // Nearly every byte is a lower-case letter, a digit, `.` or `-`: one table look-up
        // tells so, and only the others are told apart.
        let class = AUTHORITY[c as usize];
        if class == PLAIN {
            continue;
        }
        match class {
            END => {
                (end, ended) = (i, true);
                break;
            }
            AT => (from, to, lower) = (i + 1, None, true),
            COLON if to.is_none() => to = Some(i),
            // A capital letter in the port (after `to`) is not the host's.
            UPPER if to.is_none() => lower = false,
            _ => {}
        }
    }
    let head = scheme.filter(|_| ended).map(|n| n + end + 1);
    let host = rest[from..to.unwrap_or(end)].trim_end_matches('.');
    let host = if host.len() >= 4 && host.as_bytes()[..4].eq_ignore_ascii_case(b"www.") { &host[4..] } else { host };
    if host.is_empty() || !host.as_bytes().contains(&b'.') {
        return (None, head);
    }
    // Most hosts are already lower-case: no copy for them.
    (Some(if lower { Cow::Borrowed(host) } else { Cow::Owned(host.to_lowercase()) }), head)
}

/// [`host`] of URLs that mostly begin alike (a site's own landing pages): the last host read
/// is kept with the beginning that decided it, and a URL that begins the same way is not read.
#[derive(Default)]
pub struct LastHost {
    head: String,
    host: Option<String>,
}

impl LastHost {
    pub fn host(&mut self, url: &str) -> Option<&str> {
        if self.head.is_empty() || !url.starts_with(self.head.as_str()) {
            let (host, head) = host_and_head(url);
            self.head.clear();
            self.head.push_str(head.and_then(|n| url.get(..n)).unwrap_or(""));
            self.host = host.map(Cow::into_owned);
        }
        self.host.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_from_landing_page() {
        let t = query_tags("https://shop.ru/x?utm_source=yandex&utm_medium=cpc&utm_campaign=%D0%B4%D0%B8%D0%B2%D0%B0%D0%BD%D1%8B#top");
        assert_eq!(t.source.as_deref(), Some("yandex"));
        assert_eq!(t.medium.as_deref(), Some("cpc"));
        assert_eq!(t.campaign.as_deref(), Some("диваны"));
        assert!(query_tags("https://shop.ru/?yclid=123").yclid);
        let t = query_tags("https://shop.ru/?utm_source=(not%20set)&utm_medium=-&utm_campaign=null&utm_term=%20");
        assert!(t.source.is_none() && t.medium.is_none() && t.campaign.is_none() && t.term.is_none(), "placeholders are no value");
        assert_eq!(query_tags("https://shop.ru/"), QueryTags::default());
        assert_eq!(percent_decode("a+b%2"), "a b%2");
    }

    /// The host as searched for piece by piece, which [`host`] reads in one loop.
    fn host_by_searches(url: &str) -> Option<String> {
        let u = url.trim();
        let scheme_end = memchr::memchr_iter(b':', u.as_bytes()).find(|&i| u.as_bytes()[i + 1..].starts_with(b"//"));
        let rest = match scheme_end {
            Some(i) => &u[i + 3..],
            None if u.starts_with("//") => &u[2..],
            None => u,
        };
        let hostport = &rest[..memchr::memchr3(b'/', b'?', b'#', rest.as_bytes()).unwrap_or(rest.len())];
        let host = memchr::memrchr(b'@', hostport.as_bytes()).map_or(hostport, |i| &hostport[i + 1..]);
        let host = memchr::memchr(b':', host.as_bytes()).map_or(host, |i| &host[..i]).trim_end_matches('.');
        let host = if host.len() >= 4 && host.as_bytes()[..4].eq_ignore_ascii_case(b"www.") { &host[4..] } else { host };
        (!host.is_empty() && host.contains('.')).then(|| host.to_lowercase())
    }

    proptest::proptest! {
        #[test]
        fn one_loop_finds_the_host_the_searches_find(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "https://", "http://", "//", ":", "@", "/", "?", "#", ".", "www.", "WWW.", "Ya", "ru", "почта", "рф", "РФ", " ", "80", "u:p",
            ]), 0..12),
        ) {
            let url = parts.concat();
            let found = host(&url);
            let searched = host_by_searches(&url);
            proptest::prop_assert_eq!(found.as_deref(), searched.as_deref());
            if let Some(std::borrow::Cow::Borrowed(h)) = found {
                proptest::prop_assert_eq!(h.to_lowercase(), h, "a borrowed host is lower-case");
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// URLs read one after another through [`LastHost`], many of them beginning alike.
        #[test]
        fn the_last_host_kept_is_the_host(
            urls in proptest::collection::vec((proptest::bool::ANY, proptest::collection::vec(proptest::sample::select(vec![
                "https://", "http://", "shop.ru", "Shop.ru", "shop.ru.", "www.", "/", "?", "#", ":80", "u@", ".", "x", " ", "ya.ru", "//",
            ]), 0..6)), 0..12),
        ) {
            let mut last = LastHost::default();
            let mut url = String::new();
            // Half the URLs go on from the one before, as a site's pages go on from its address.
            for (go_on, parts) in &urls {
                if !go_on {
                    url.clear();
                }
                url.push_str(&parts.concat());
                let read = host(&url);
                proptest::prop_assert_eq!(last.host(&url), read.as_deref(), "{:?}", url);
            }
        }
    }

    #[test]
    fn hosts() {
        assert_eq!(host("https://www.Yandex.ru/search/?text=x").as_deref(), Some("yandex.ru"));
        // Four bytes in, a two-byte letter is cut in half: no `www.` there, and no panic.
        assert_eq!(host("https://.почта.рф/").as_deref(), Some(".почта.рф"));
        assert_eq!(host("vk.com/club1").as_deref(), Some("vk.com"));
        assert_eq!(host("http://user@t.me:443/x").as_deref(), Some("t.me"));
        assert_eq!(host(""), None);
        assert_eq!(host("android-app"), None);
        assert_eq!(host("//cdn.Shop.ru/x").as_deref(), Some("cdn.shop.ru"));
        assert_eq!(host("app:x?u=https://t.me/a").as_deref(), Some("t.me"));
        assert_eq!(host("https://ya.ru.").as_deref(), Some("ya.ru"));
        assert_eq!(host("https://почта.рф/").as_deref(), Some("почта.рф"));
    }
}
