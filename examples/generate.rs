//! Seeded generator of realistic exports (visits, calls, orders, receipts, touches, costs), so the
//! demo, the tests and the benchmarks run on data shaped like a Russian retailer's, at any scale.
//!
//! ```text
//! cargo run --release --example generate -- --out bench-data/s --visits 1000000 --seed 1
//! ```
//!
//! The files come in the formats the systems that produce them use: a Metrica-style visits log
//! (`;`, UTF-8, `dd.mm.yyyy HH:MM:SS` in Moscow time, UTM tags sometimes only in the landing page),
//! a Windows-1251 call-tracking export, a CRM deals export with a BOM and `12 345,50` amounts,
//! a Windows-1251 1C-style receipts export, an ISO-8601 touches file, a loyalty programme's member
//! list (card and phone), the web shop's accounts (user id and phone) and a daily ad-costs file.
//! `testdata/demo/touchpath.toml` maps them. The data is streamed customer by customer, so memory
//! stays flat at any size; the same seed gives byte-identical files.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Timelike, Utc};

/// splitmix64: tiny, fast and good enough for synthetic data; no dependency needed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
    /// Exponentially distributed with the given mean.
    fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }
    fn pick<'a, T>(&mut self, items: &'a [(T, f64)]) -> &'a T {
        let total: f64 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.unit() * total;
        for (item, w) in items {
            if x < *w {
                return item;
            }
            x -= w;
        }
        &items[items.len() - 1].0
    }
}

/// How a visit arrived.
#[derive(Clone, Copy, PartialEq)]
enum Source {
    YandexDirect,
    GoogleAds,
    YandexOrganic,
    GoogleOrganic,
    VkAds,
    VkOrganic,
    Email,
    Direct,
    Referral,
    Display,
    Affiliate,
}

impl Source {
    /// Base chance that a visit from this source ends in an online order.
    fn order_rate(self) -> f64 {
        match self {
            Source::YandexDirect | Source::GoogleAds => 0.022,
            Source::YandexOrganic | Source::GoogleOrganic => 0.018,
            Source::VkAds | Source::Display => 0.008,
            Source::VkOrganic => 0.006,
            Source::Email => 0.03,
            Source::Direct => 0.028,
            Source::Referral => 0.015,
            Source::Affiliate => 0.02,
        }
    }
    fn paid(self) -> Option<(&'static str, &'static str, &'static [&'static str])> {
        match self {
            Source::YandexDirect => Some(("yandex", "cpc", &["brand", "generic_smartphones", "generic_laptops", "retargeting"])),
            Source::GoogleAds => Some(("google", "cpc", &["brand", "generic_smartphones", "shopping"])),
            Source::VkAds => Some(("vk", "paid_social", &["autumn_sale", "lookalike"])),
            Source::Display => Some(("yandex", "display", &["rsya_autumn", "rsya_retargeting"])),
            Source::Affiliate => Some(("admitad", "affiliate", &["cashback", "coupons"])),
            _ => None,
        }
    }
}

const ACQUISITION: &[(Source, f64)] = &[
    (Source::YandexDirect, 24.0),
    (Source::GoogleAds, 6.0),
    (Source::YandexOrganic, 20.0),
    (Source::GoogleOrganic, 8.0),
    (Source::VkAds, 9.0),
    (Source::VkOrganic, 4.0),
    (Source::Direct, 12.0),
    (Source::Referral, 6.0),
    (Source::Display, 7.0),
    (Source::Affiliate, 4.0),
];

const RETURNING: &[(Source, f64)] = &[
    (Source::YandexDirect, 14.0),
    (Source::GoogleAds, 3.0),
    (Source::YandexOrganic, 14.0),
    (Source::GoogleOrganic, 5.0),
    (Source::VkAds, 4.0),
    (Source::VkOrganic, 4.0),
    (Source::Email, 14.0),
    (Source::Direct, 34.0),
    (Source::Referral, 3.0),
    (Source::Display, 4.0),
    (Source::Affiliate, 1.0),
];

const ORDER_STATUSES: &[(&str, f64)] = &[("Выполнен", 70.0), ("Новый", 8.0), ("В работе", 10.0), ("Отменён", 9.0), ("Возврат", 3.0)];

/// A shop's own phone typed into receipts by cashiers: it ties unrelated buyers together and is
/// what the over-merge guard exists for.
const SHOP_PHONE: &str = "+7 (495) 000-00-00";

struct Options {
    out: PathBuf,
    visits: u64,
    seed: u64,
    start: DateTime<Utc>,
    days: i64,
    bad_rows: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        out: PathBuf::from("testdata/demo"),
        visits: 5_000,
        seed: 42,
        start: "2026-08-01T00:00:00+03:00".parse::<DateTime<Utc>>().map_err(|e| e.to_string())?,
        days: 92,
        bad_rows: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--out" => o.out = PathBuf::from(value("--out")?),
            "--visits" => o.visits = value("--visits")?.replace('_', "").parse().map_err(|e| format!("--visits: {e}"))?,
            "--seed" => o.seed = value("--seed")?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--start" => {
                let d = value("--start")?;
                o.start = format!("{d}T00:00:00+03:00").parse::<DateTime<Utc>>().map_err(|e| format!("--start {d}: {e}"))?
            }
            "--days" => o.days = value("--days")?.parse().map_err(|e| format!("--days: {e}"))?,
            "--clean" => o.bad_rows = false,
            "-h" | "--help" => {
                println!(
                    "generate [--out DIR] [--visits N] [--seed S] [--start YYYY-MM-DD] [--days D] [--clean]\n\
                     Writes visits.csv, calls.csv, orders.csv, receipts.csv, touches.csv, loyalty.csv, accounts.csv and costs.csv.\n\
                     --clean leaves out the deliberately broken rows (bad dates, bad numbers, duplicates)."
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}` (try --help)")),
        }
    }
    if o.days < 1 {
        return Err("--days must be at least 1".into());
    }
    Ok(o)
}

/// Moscow has been UTC+3 all year since 2014, so a fixed offset is exact for these dates.
const MSK: i64 = 3 * 3600;

fn ru_datetime(out: &mut String, ts: i64, seconds: bool) {
    use std::fmt::Write as _;
    let t = DateTime::<Utc>::from_timestamp(ts + MSK, 0).unwrap_or_default().naive_utc();
    let _ = write!(out, "{:02}.{:02}.{:04} {:02}:{:02}", t.day(), t.month(), t.year(), t.hour(), t.minute());
    if seconds {
        let _ = write!(out, ":{:02}", t.second());
    }
}

fn iso_msk(out: &mut String, ts: i64) {
    use std::fmt::Write as _;
    let t = DateTime::<Utc>::from_timestamp(ts + MSK, 0).unwrap_or_default().naive_utc();
    let _ = write!(out, "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+03:00", t.year(), t.month(), t.day(), t.hour(), t.minute(), t.second());
}

/// `12 345,50`: how Russian CRMs and 1C print money.
fn ru_money(out: &mut String, kopecks: u64) {
    let rub = (kopecks / 100).to_string();
    let bytes = rub.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && (bytes.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(*b as char);
    }
    out.push(',');
    out.push_str(&format!("{:02}", kopecks % 100));
}

/// The many ways one phone number is typed into different systems.
fn phone_text(rng: &mut Rng, digits: &str) -> String {
    let d = &digits[1..];
    match rng.below(5) {
        0 => format!("8{d}"),
        1 => format!("+7 ({}) {}-{}-{}", &d[0..3], &d[3..6], &d[6..8], &d[8..10]),
        2 => format!("8 ({}) {}-{}-{}", &d[0..3], &d[3..6], &d[6..8], &d[8..10]),
        3 => format!("+7{d}"),
        _ => format!("7{d}"),
    }
}

struct Customer {
    n: u64,
    devices: Vec<String>,
    user_id: Option<String>,
    phone: String,
    email: Option<String>,
    card: Option<String>,
    crm: String,
}

struct Writers {
    visits: BufWriter<File>,
    calls: BufWriter<File>,
    orders: BufWriter<File>,
    receipts: BufWriter<File>,
    touches: BufWriter<File>,
    loyalty: BufWriter<File>,
    accounts: BufWriter<File>,
    line: String,
}

impl Writers {
    fn create(dir: &Path) -> std::io::Result<Self> {
        let open =
            |name: &str| -> std::io::Result<BufWriter<File>> { Ok(BufWriter::with_capacity(1 << 20, File::create(dir.join(name))?)) };
        let mut w = Writers {
            visits: open("visits.csv")?,
            calls: open("calls.csv")?,
            orders: open("orders.csv")?,
            receipts: open("receipts.csv")?,
            touches: open("touches.csv")?,
            loyalty: open("loyalty.csv")?,
            accounts: open("accounts.csv")?,
            line: String::with_capacity(512),
        };
        w.visits.write_all(
            b"visit_id;client_id;date_time;utm_source;utm_medium;utm_campaign;utm_content;utm_term;referrer;landing_page;device;user_id\n",
        )?;
        cp1251(
            &mut w.calls,
            "ID звонка;Дата и время;Номер абонента;ClientID;utm_source;utm_medium;utm_campaign;Длительность, сек;Статус;Целевой\n",
        )?;
        w.orders
            .write_all("\u{feff}Номер заказа;Дата создания;Статус;Сумма;ClientID;Телефон;Email;ID клиента;Канал заказа\n".as_bytes())?;
        cp1251(&mut w.receipts, "Номер чека;Дата;Магазин;Сумма;Карта лояльности;Телефон;Номер заказа\n")?;
        w.touches.write_all(b"occurred_at,channel,utm_source,utm_medium,utm_campaign,email,phone,client_id\n")?;
        w.loyalty.write_all("Номер карты;Телефон;Дата регистрации\n".as_bytes())?;
        w.accounts.write_all(b"user_id,phone,registered_at\n")?;
        Ok(w)
    }
}

fn cp1251(w: &mut impl Write, s: &str) -> std::io::Result<()> {
    if s.is_ascii() {
        return w.write_all(s.as_bytes());
    }
    let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(s);
    w.write_all(&bytes)
}

#[derive(Default)]
struct Counts {
    visits: u64,
    calls: u64,
    orders: u64,
    receipts: u64,
    touches: u64,
    customers: u64,
}

struct Generator {
    rng: Rng,
    o: Options,
    w: Writers,
    c: Counts,
    /// Daily clicks per paid (source, medium, campaign), for the costs file.
    clicks: std::collections::BTreeMap<(i64, &'static str, &'static str, &'static str), u64>,
}

impl Generator {
    fn customer(&mut self) -> std::io::Result<Customer> {
        let n = self.c.customers;
        self.c.customers += 1;
        let r = &mut self.rng;
        let device = |r: &mut Rng| format!("{}{:09}", r.range(1_600_000_000, 1_790_000_000), r.below(1_000_000_000));
        let mut devices = vec![device(r)];
        // About a fifth of customers use a second device (phone and laptop).
        if r.chance(0.2) {
            devices.push(device(r));
        }
        let user_id = r.chance(0.3).then(|| format!("u{}", 100_000 + n));
        let phone = format!("79{:09}", r.below(1_000_000_000));
        let email = r.chance(0.6).then(|| {
            let domain = ["mail.ru", "yandex.ru", "gmail.com", "bk.ru", "inbox.ru"][r.below(5) as usize];
            format!("client{n}@{domain}")
        });
        let card = r.chance(0.45).then(|| format!("2000{:09}", n % 1_000_000_000));
        let cust = Customer { n, devices, user_id, phone, email, card, crm: format!("C{:07}", n) };
        // The loyalty programme's member list: the bridge from a card swiped at the till to the
        // phone the same person gives the call centre and the web shop.
        if let Some(card) = &cust.card {
            let phone = phone_text(&mut self.rng, &cust.phone);
            let joined = self.o.start.timestamp() - self.rng.range(0, 3 * 365 * 86_400);
            let mut l = format!("{card};{phone};");
            ru_datetime(&mut l, joined, false);
            l.push('\n');
            self.w.loyalty.write_all(l.as_bytes())?;
        }
        // The web shop's accounts: a login ties the devices it is used on to the phone given at sign-up.
        if let Some(user) = &cust.user_id {
            let joined = self.o.start.timestamp() - self.rng.range(0, 2 * 365 * 86_400);
            let mut l = format!("{user},{},", cust.phone);
            iso_msk(&mut l, joined);
            l.push('\n');
            self.w.accounts.write_all(l.as_bytes())?;
        }
        Ok(cust)
    }

    fn run(&mut self) -> std::io::Result<()> {
        let span = self.o.days * 86_400;
        let start = self.o.start.timestamp();
        while self.c.visits < self.o.visits {
            let cust = self.customer()?;
            let mut t = start + self.rng.range(0, span - 1);
            let visits = 1 + self.rng.exp(2.2) as u64;
            let mut seen: Vec<Source> = Vec::new();
            let mut offline_last = i64::MIN;
            for k in 0..visits {
                if t >= start + span || self.c.visits >= self.o.visits {
                    break;
                }
                let src = *self.rng.pick(if k == 0 { ACQUISITION } else { RETURNING });
                if !seen.contains(&src) {
                    seen.push(src);
                }
                // The second device shows up after the first few visits, as a person switches.
                let dev = if cust.devices.len() > 1 && k > 0 && self.rng.chance(0.5) { 1 } else { 0 };
                self.visit(&cust, dev, src, t)?;
                // Journeys through several channels convert better: that is what the data-driven
                // models are meant to find.
                let lift = 1.0 + 0.35 * (seen.len() as f64 - 1.0);
                if self.rng.chance(src.order_rate() * lift) {
                    let at = t + self.rng.range(60, 1800);
                    self.order(&cust, Some(dev), at, "Сайт")?;
                }
                if self.rng.chance(0.045) {
                    let at = t + self.rng.range(30, 3 * 3600);
                    self.call(&cust, Some((dev, src)), at)?;
                }
                // Research online, purchase offline: a store visit within two days of browsing.
                if (cust.card.is_some() || self.rng.chance(0.3)) && self.rng.chance(0.035 * lift) && t > offline_last {
                    let at = t + self.rng.range(3600, 2 * 86_400);
                    offline_last = at;
                    self.receipt(&cust, at, None)?;
                }
                if let Some(email) = &cust.email {
                    if self.rng.chance(0.15) {
                        let at = t + self.rng.range(3600, 5 * 86_400);
                        self.touch(&cust, email.clone(), at)?;
                    }
                }
                t += 600 + self.rng.exp(3.0 * 86_400.0) as i64;
            }
            // Calls from numbers shown offline (static pool, no web session) and purchases with
            // no online touch at all: the untracked share of the business.
            if self.rng.chance(0.03) {
                let at = start + self.rng.range(0, span - 1);
                self.call(&cust, None, at)?;
            }
            if self.rng.chance(0.025) {
                let at = start + self.rng.range(0, span - 1);
                self.receipt(&cust, at, None)?;
            }
        }
        self.anonymous_receipts()?;
        if self.o.bad_rows {
            self.bad_rows()?;
        }
        Ok(())
    }

    fn visit(&mut self, cust: &Customer, dev: usize, src: Source, ts: i64) -> std::io::Result<()> {
        self.c.visits += 1;
        let r = &mut self.rng;
        let mut l = std::mem::take(&mut self.w.line);
        l.clear();
        use std::fmt::Write as _;
        let _ = write!(l, "{};{};", 30_000_000 + self.c.visits, cust.devices[dev]);
        ru_datetime(&mut l, ts, true);
        let landing_paths = ["/", "/catalog/smartphones", "/catalog/laptops", "/product/12345", "/sale"];
        let landing = format!("https://shop.example.ru{}", landing_paths[r.below(5) as usize]);
        let (mut tags, mut referrer, mut page) = (String::new(), String::new(), landing.clone());
        match src.paid() {
            Some((s, m, campaigns)) => {
                let campaign = campaigns[r.below(campaigns.len() as u64) as usize];
                let content = if r.chance(0.5) { "banner_a" } else { "banner_b" };
                let term = if s == "yandex" && m == "cpc" { "купить смартфон" } else { "" };
                let day = (ts + MSK).div_euclid(86_400);
                *self.clicks.entry((day, s, m, campaign)).or_default() += 1;
                // One tagged visit in eight has its tags only in the landing page's query string,
                // as Metrica logs do when the UTM columns were not requested.
                if r.chance(0.125) {
                    tags = ";;;;".to_string();
                    page = format!("{landing}?utm_source={s}&utm_medium={m}&utm_campaign={campaign}&utm_content={content}");
                } else {
                    tags = format!("{s};{m};{campaign};{content};{term}");
                }
                if s == "yandex" && m == "cpc" {
                    let sep = if page.contains('?') { '&' } else { '?' };
                    page = format!("{page}{sep}yclid={}", r.below(1_000_000_000_000));
                    referrer = "https://yandex.ru/".into();
                }
            }
            None => {
                tags.push_str(";;;;");
                match src {
                    Source::YandexOrganic => {
                        referrer = "https://yandex.ru/search/?text=%D1%81%D0%BC%D0%B0%D1%80%D1%82%D1%84%D0%BE%D0%BD".into()
                    }
                    Source::GoogleOrganic => referrer = "https://www.google.com/".into(),
                    Source::VkOrganic => referrer = "https://vk.com/shop_example".into(),
                    Source::Referral => {
                        referrer =
                            ["https://otzovik.com/reviews/shop", "https://market.yandex.ru/shop--example", "https://habr.com/ru/articles/1"]
                                [r.below(3) as usize]
                                .into()
                    }
                    Source::Email => {
                        tags = format!("newsletter;email;digest_{:02};;", 1 + r.below(12));
                    }
                    _ => {
                        // Direct: typed in, bookmarks, or a page of the shop itself.
                        if r.chance(0.15) {
                            referrer = "https://shop.example.ru/cart".into();
                        }
                    }
                }
            }
        }
        let device = if dev == 0 { "desktop" } else { "mobile" };
        let user = if cust.user_id.is_some() && r.chance(0.5) { cust.user_id.as_deref().unwrap_or("") } else { "" };
        let _ = writeln!(l, ";{tags};{referrer};{page};{device};{user}");
        self.w.visits.write_all(l.as_bytes())?;
        self.w.line = l;
        Ok(())
    }

    fn call(&mut self, cust: &Customer, session: Option<(usize, Source)>, ts: i64) -> std::io::Result<()> {
        self.c.calls += 1;
        let r = &mut self.rng;
        let mut l = format!("{};", 500_000 + self.c.calls);
        ru_datetime(&mut l, ts, true);
        l.push(';');
        l.push_str(&phone_text(r, &cust.phone));
        match session {
            Some((dev, src)) => {
                // Call-tracking services record the session's source, organic and direct too.
                let (s, m, c) = match src.paid() {
                    Some((s, m, cs)) => (s, m, cs[r.below(cs.len() as u64) as usize]),
                    None => match src {
                        Source::YandexOrganic => ("yandex", "organic", ""),
                        Source::GoogleOrganic => ("google", "organic", ""),
                        Source::VkOrganic => ("vk.com", "social", ""),
                        Source::Email => ("newsletter", "email", ""),
                        Source::Referral => ("otzovik.com", "referral", ""),
                        _ => ("(direct)", "(none)", ""),
                    },
                };
                l.push_str(&format!(";{};{s};{m};{c}", cust.devices[dev]));
            }
            None => l.push_str(";;;;"),
        }
        let answered = r.chance(0.85);
        let duration = if answered { r.range(15, 600) } else { 0 };
        let target = answered && duration >= 40;
        l.push_str(&format!(";{duration};{};{}\n", if answered { "Принят" } else { "Пропущен" }, if target { "Да" } else { "Нет" }));
        cp1251(&mut self.w.calls, &l)?;
        // A third of target calls become an order typed in by the operator: phone only.
        if target && r.chance(0.33) {
            let at = ts + self.rng.range(60, 900);
            self.order(cust, None, at, "Телефон")?;
        }
        Ok(())
    }

    fn order(&mut self, cust: &Customer, dev: Option<usize>, ts: i64, channel: &str) -> std::io::Result<()> {
        self.c.orders += 1;
        let r = &mut self.rng;
        let id = format!("ORD-{}", 100_000 + self.c.orders);
        let mut l = format!("{id};");
        ru_datetime(&mut l, ts, false);
        let status = *r.pick(ORDER_STATUSES);
        l.push_str(&format!(";{status};"));
        let kopecks = (r.exp(7_500.0) as u64 + 490) * 100 + [0, 50, 90][r.below(3) as usize];
        ru_money(&mut l, kopecks);
        let client = dev.map(|d| cust.devices[d].as_str()).unwrap_or("");
        let phone = if r.chance(0.9) { phone_text(r, &cust.phone) } else { String::new() };
        let email = match &cust.email {
            Some(e) if r.chance(0.7) => {
                if r.chance(0.2) {
                    format!(" {} ", e.to_uppercase())
                } else {
                    e.clone()
                }
            }
            _ => String::new(),
        };
        l.push_str(&format!(";{client};{phone};{email};{};{channel}\n", cust.crm));
        self.w.orders.write_all(l.as_bytes())?;
        // Click and collect: some completed orders are paid at the store's till, and the receipt
        // carries the order number (the same purchase, not a second one).
        if status == "Выполнен" && self.rng.chance(0.15) {
            let at = ts + self.rng.range(3600, 3 * 86_400);
            self.receipt(cust, at, Some((id, kopecks)))?;
        }
        Ok(())
    }

    fn receipt(&mut self, cust: &Customer, ts: i64, order: Option<(String, u64)>) -> std::io::Result<()> {
        self.c.receipts += 1;
        let r = &mut self.rng;
        let mut l = format!("{};", 7_000_000 + self.c.receipts);
        ru_datetime(&mut l, ts, false);
        l.push_str(&format!(";Магазин №{};", 1 + r.below(12)));
        let kopecks = order.as_ref().map(|o| o.1).unwrap_or_else(|| (r.exp(4_000.0) as u64 + 150) * 100);
        ru_money(&mut l, kopecks);
        let card = cust.card.as_deref().unwrap_or("");
        let phone = if r.chance(0.15) {
            SHOP_PHONE.to_string()
        } else if card.is_empty() || r.chance(0.3) {
            phone_text(r, &cust.phone)
        } else {
            String::new()
        };
        let order_id = order.map(|o| o.0).unwrap_or_default();
        l.push_str(&format!(";{card};{phone};{order_id}\n"));
        cp1251(&mut self.w.receipts, &l)
    }

    fn touch(&mut self, cust: &Customer, email: String, ts: i64) -> std::io::Result<()> {
        self.c.touches += 1;
        let r = &mut self.rng;
        let mut l = String::new();
        iso_msk(&mut l, ts);
        let kind = r.below(10);
        let (channel, campaign) = match kind {
            0..=5 => ("Email", format!("digest_{:02}", 1 + r.below(12))),
            6..=7 => ("Push", "app_push".to_string()),
            _ => ("SMS", "sms_promo".to_string()),
        };
        let (email, phone) = if channel == "SMS" { (String::new(), cust.phone.clone()) } else { (email, String::new()) };
        let client = if channel == "Push" { cust.devices[0].as_str() } else { "" };
        l.push_str(&format!(",{channel},esputnik,{},{campaign},{email},{phone},{client}\n", channel.to_lowercase()));
        self.w.touches.write_all(l.as_bytes())?;
        let _ = cust.n;
        Ok(())
    }

    /// Cash buyers with no card and no phone: offline revenue no identifier can reach.
    fn anonymous_receipts(&mut self) -> std::io::Result<()> {
        let n = self.o.visits / 250;
        let start = self.o.start.timestamp();
        for _ in 0..n {
            self.c.receipts += 1;
            let ts = start + self.rng.range(0, self.o.days * 86_400 - 1);
            let mut l = format!("{};", 7_000_000 + self.c.receipts);
            ru_datetime(&mut l, ts, false);
            l.push_str(&format!(";Магазин №{};", 1 + self.rng.below(12)));
            ru_money(&mut l, (self.rng.exp(2_000.0) as u64 + 90) * 100);
            l.push_str(";;;\n");
            cp1251(&mut self.w.receipts, &l)?;
        }
        Ok(())
    }

    /// What real exports contain and the tool must report rather than swallow: an impossible
    /// date, a mistyped amount, a row cut short, and rows exported twice.
    fn bad_rows(&mut self) -> std::io::Result<()> {
        let w = &mut self.w;
        w.visits.write_all(b"99999991;1700000000123456789;31.02.2026 10:00:00;yandex;cpc;brand;;;;https://shop.example.ru/;desktop;\n")?;
        w.visits.write_all(b"99999992;;01.09.2026 10:00:00;google;cpc;brand;;;;https://shop.example.ru/;desktop;\n")?;
        w.visits.write_all(b"99999993;1700000000123456790;02.09.2026 11:00:00;yandex;cpc\n")?;
        w.visits.write_all(
            b"99999994;1700000000123456791;03.09.2026 12:00:00;(not set);(not set);(not set);;;;https://shop.example.ru/;desktop;\n",
        )?;
        w.visits.write_all(
            b"99999994;1700000000123456791;03.09.2026 12:00:00;(not set);(not set);(not set);;;;https://shop.example.ru/;desktop;\n",
        )?;
        w.orders.write_all("ORD-999991;05.09.2026 13:00;Выполнен;12,5o;;89161234567;;C9999991;Сайт\n".as_bytes())?;
        w.orders.write_all("ORD-999992;06.09.2026 14:00;Выполнен;4 990,00;1700000000123456791;;;C9999992;Сайт\n".as_bytes())?;
        w.orders.write_all("ORD-999992;06.09.2026 14:00;Выполнен;4 990,00;1700000000123456791;;;C9999992;Сайт\n".as_bytes())?;
        cp1251(&mut w.calls, "999991;07.09.2026 25:10:00;89161234567;;;;;30;Принят;Да\n")?;
        self.c.visits += 5;
        self.c.orders += 3;
        self.c.calls += 1;
        Ok(())
    }

    fn costs(&mut self) -> std::io::Result<()> {
        let mut f = BufWriter::new(File::create(self.o.out.join("costs.csv"))?);
        f.write_all(b"date;source;medium;campaign;cost\n")?;
        for ((day, s, m, c), clicks) in &self.clicks {
            let cpc = match (*s, *m) {
                ("yandex", "cpc") => 95.0,
                ("google", "cpc") => 110.0,
                ("vk", _) => 55.0,
                ("yandex", "display") => 30.0,
                _ => 70.0,
            };
            let noise = 0.8 + 0.4 * self.rng.unit();
            let kopecks = (*clicks as f64 * cpc * noise * 100.0).round() as u64;
            let date = DateTime::<Utc>::from_timestamp(day * 86_400, 0).unwrap_or_default().format("%d.%m.%Y");
            let mut l = format!("{date};{s};{m};{c};");
            ru_money(&mut l, kopecks);
            l.push('\n');
            f.write_all(l.as_bytes())?;
        }
        f.flush()
    }
}

fn main() {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("generate: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = std::fs::create_dir_all(&o.out) {
        eprintln!("generate: creating {}: {e}", o.out.display());
        std::process::exit(1);
    }
    let w = match Writers::create(&o.out) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("generate: creating files in {}: {e}", o.out.display());
            std::process::exit(1);
        }
    };
    let mut g = Generator { rng: Rng(o.seed ^ 0x7075_6368_7061_7468), o, w, c: Counts::default(), clicks: Default::default() };
    let result = g.run().and_then(|_| g.costs()).and_then(|_| {
        for w in
            [&mut g.w.visits, &mut g.w.calls, &mut g.w.orders, &mut g.w.receipts, &mut g.w.touches, &mut g.w.loyalty, &mut g.w.accounts]
        {
            w.flush()?;
        }
        Ok(())
    });
    if let Err(e) = result {
        eprintln!("generate: writing {}: {e}", g.o.out.display());
        std::process::exit(1);
    }
    let c = &g.c;
    eprintln!(
        "generate: {} customers, {} visits, {} calls, {} orders, {} receipts, {} touches in {}",
        c.customers,
        c.visits,
        c.calls,
        c.orders,
        c.receipts,
        c.touches,
        g.o.out.display()
    );
}
