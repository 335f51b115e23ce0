//! Normalization: reads the loaded text tables into typed touches, conversions and identity
//! records, cleaning every value on the way and accounting for every row (used, filtered by a
//! named rule, or rejected with file, line, column and reason).

pub mod time;
pub mod url;
pub mod value;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use rayon::iter::{IntoParallelIterator as _, ParallelIterator as _};
use rayon::slice::ParallelSliceMut as _;

use anyhow::{bail, Context as _, Result};
use rustc_hash::FxHashMap;

use crate::channels::{self, Classifier};
use crate::config::{Config, SourceKind, SourceSpec};
use crate::identity::{BatchKeys, IdGraph, IdKind, LocalIds, Records};
use crate::intern::{Interner, Sym};
use crate::io::schema;
use crate::io::{Batch, Head, RawTable};
use crate::summary::{FileSummary, Reject, RunSummary};
use time::TimeParser;

/// What kind of contact a touch was. Also the tie-break order of touches at the same instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum TouchKind {
    Visit = 0,
    Message = 1,
    Call = 2,
}

impl TouchKind {
    pub fn name(self) -> &'static str {
        match self {
            TouchKind::Visit => "visit",
            TouchKind::Message => "touch",
            TouchKind::Call => "call",
        }
    }
}

/// One marketing touch of a (yet unknown) customer.
#[derive(Clone, Copy, Debug)]
pub struct Touch {
    /// UTC Unix seconds.
    pub ts: i64,
    /// Identity record: which identifiers the touch carried.
    pub record: u32,
    /// Its kind, file and tags: an index into [`Dataset::tags`].
    pub tags: u32,
}

/// What a touch says besides when and whose: its kind, its file and its tags. A run has few
/// distinct ones (a site's campaigns, times its files), so each touch carries the index of its
/// own in a run-wide table: 16 bytes a touch rather than 32, in the run's largest arrays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TouchTags {
    pub kind: TouchKind,
    /// Index of the input file, for accounting.
    pub file: u16,
    pub channel: Sym,
    pub source: Sym,
    pub medium: Sym,
    pub campaign: Sym,
}

/// A table of distinct [`TouchTags`], each numbered by its first appearance.
#[derive(Default)]
pub struct TagTable {
    list: Vec<TouchTags>,
    index: FxHashMap<TouchTags, u32>,
}

impl TagTable {
    pub fn intern(&mut self, t: TouchTags) -> u32 {
        let next = self.list.len() as u32;
        let id = *self.index.entry(t).or_insert(next);
        if id == next {
            self.list.push(t);
        }
        id
    }

    pub fn into_list(self) -> Vec<TouchTags> {
        self.list
    }
}

/// A purchase: a CRM order (online) or a POS receipt (offline).
#[derive(Clone, Copy, Debug)]
pub struct Conversion {
    pub id: Sym,
    pub ts: i64,
    pub revenue: f64,
    pub offline: bool,
    pub record: u32,
    /// For a receipt: the order it fulfils (0 = none).
    pub fulfils: Sym,
    pub file: u16,
    pub line: u64,
}

/// One row of ad spend: a day's cost of a source / medium / campaign.
#[derive(Clone, Copy, Debug)]
pub struct Cost {
    /// UTC second at which the cost's day starts in the source's time zone.
    pub day: i64,
    pub channel: Sym,
    pub source: Sym,
    pub medium: Sym,
    pub campaign: Sym,
    pub amount: f64,
}

/// Everything the later stages need, integer-encoded.
pub struct Dataset {
    pub strings: Interner,
    pub graph: IdGraph,
    pub touches: Vec<Touch>,
    /// The distinct kinds, files and tags of the touches (see [`TouchTags`]).
    pub tags: Vec<TouchTags>,
    pub conversions: Vec<Conversion>,
    pub summary: RunSummary,
    /// Whether any receipts source was configured (ROPO needs one).
    pub has_offline_source: bool,
    pub costs: Vec<Cost>,
    /// Whether any costs source was configured (reports then add cost and return columns).
    pub has_costs: bool,
}

/// Where a canonical field's value comes from in one file.
enum FieldSrc {
    Column(usize, String),
    Constant(String),
    Absent,
}

macro_rules! field_index {
    ($($name:ident),* $(,)?) => {
        /// Position of each canonical field in its kind's schema (`usize::MAX` when the kind has
        /// no such field), looked up once per file rather than once per value. Normalization
        /// reads a field only through its position here, so the fields listed are the only ones
        /// it reads: the others (a visit's id, device, utm_content...) are accepted in a mapping
        /// and never decoded.
        struct Ix { $($name: usize),* }

        impl Ix {
            fn new(kind: SourceKind) -> Ix {
                let pos = |name: &str| schema::fields(kind).iter().position(|f| f.name == name).unwrap_or(usize::MAX);
                Ix { $($name: pos(stringify!($name))),* }
            }

            /// Whether each of the kind's `n` fields is read.
            fn read(&self, n: usize) -> Vec<bool> {
                let mut read = vec![false; n];
                for f in [$(self.$name),*] {
                    if let Some(r) = read.get_mut(f) {
                        *r = true;
                    }
                }
                read
            }
        }
    };
}

field_index!(
    amount,
    called_at,
    caller_phone,
    campaign,
    channel,
    client_id,
    cost,
    created_at,
    crm_customer_id,
    currency,
    date,
    email,
    id_a,
    id_b,
    is_target,
    kind_a,
    kind_b,
    landing_page,
    loyalty_card,
    medium,
    occurred_at,
    order_id,
    phone,
    purchased_at,
    receipt_id,
    referrer,
    revenue,
    source,
    started_at,
    status,
    touch_type,
    user_id,
    utm_campaign,
    utm_medium,
    utm_source,
);

/// How one file's columns map to canonical fields.
struct Fields {
    srcs: Vec<FieldSrc>,
    kind: SourceKind,
    ix: Ix,
}

impl Fields {
    fn resolve(table: &Head, spec: &SourceSpec) -> Result<Fields> {
        let mut srcs = Vec::new();
        for f in schema::fields(spec.kind) {
            let src = if let Some(c) = spec.constants.get(f.name) {
                FieldSrc::Constant(c.clone())
            } else {
                let wanted = spec.columns.get(f.name).map(String::as_str).unwrap_or(f.name);
                let pos = table
                    .headers
                    .iter()
                    .position(|h| h == wanted)
                    .or_else(|| table.headers.iter().position(|h| h.eq_ignore_ascii_case(wanted)));
                match pos {
                    Some(i) => FieldSrc::Column(i, table.headers[i].clone()),
                    None if f.required || spec.columns.contains_key(f.name) => {
                        let hint = schema::closest(wanted, &table.headers)
                            .map(|c| format!("; did you mean `{c}`? (map it with `{} = \"{c}\"` under [sources.columns])", f.name))
                            .unwrap_or_default();
                        bail!(
                            "{}: {} column `{wanted}` (field `{}`) not found; columns found: {}{hint}",
                            table.name,
                            if f.required { "required" } else { "mapped" },
                            f.name,
                            table.headers.iter().map(|h| format!("`{h}`")).collect::<Vec<_>>().join(", "),
                        );
                    }
                    None => FieldSrc::Absent,
                }
            };
            srcs.push(src);
        }
        Ok(Fields { srcs, kind: spec.kind, ix: Ix::new(spec.kind) })
    }

    /// How many identifiers a row can carry at most: the identifier fields the file fills.
    fn identifiers_per_row(&self) -> usize {
        let fields = schema::fields(self.kind);
        self.srcs.iter().zip(fields).filter(|(s, f)| !matches!(s, FieldSrc::Absent) && IDENTIFIER_FIELDS.contains(&f.name)).count()
    }

    /// Whether each of a file's `width` columns is read by a field: a columnar file decodes
    /// only those.
    fn read_columns(&self, width: usize) -> Vec<bool> {
        let mut read = vec![false; width];
        for (src, _) in self.srcs.iter().zip(self.ix.read(self.srcs.len())).filter(|&(_, r)| r) {
            if let FieldSrc::Column(c, _) = src {
                if let Some(r) = read.get_mut(*c) {
                    *r = true;
                }
            }
        }
        read
    }

    fn column_name(&self, f: usize) -> String {
        match self.srcs.get(f) {
            Some(FieldSrc::Column(_, name)) => name.clone(),
            Some(FieldSrc::Constant(_)) => {
                format!("{} (constant)", schema::fields(self.kind)[f].name)
            }
            _ => schema::fields(self.kind).get(f).map(|x| x.name.to_string()).unwrap_or_default(),
        }
    }
}

/// One batch seen through a file's field mapping.
struct Rows<'b> {
    /// Where each field's value comes from, resolved once per batch: a field's look-up is then
    /// one match, with a constant's value cleaned already and a column's place found.
    cells: Vec<Cell<'b>>,
    /// A CSV batch's text and its fields' spans, row-major, `width` to a row.
    text: &'b str,
    spans: &'b [[u32; 2]],
    width: usize,
    /// Bit `f` is set for a field with no value on any row of the batch (a column the file
    /// lacks, a placeholder constant): identifier fields such as these are passed over whole.
    empty: u64,
    /// A Parquet piece's first row in its columns.
    first: usize,
    ix: &'b Ix,
}

/// Where one field's values come from in a batch.
#[derive(Clone, Copy)]
enum Cell<'b> {
    /// Field `c` of each row of a CSV batch.
    Span(usize),
    /// A decoded Parquet column.
    Column(&'b crate::io::TextColumn),
    /// The same value on every row: a constant (cleaned), or none for a field the file lacks (or
    /// a Parquet column left undecoded, which no field that reads it meets).
    Fixed(Option<&'b str>),
}

impl<'b> Rows<'b> {
    fn new(fields: &'b Fields, batch: &'b Batch) -> Rows<'b> {
        let parquet = !batch.columns.is_empty();
        let cells = fields
            .srcs
            .iter()
            .map(|s| match s {
                FieldSrc::Column(c, _) if parquet => match batch.columns.get(*c) {
                    Some(Some(col)) => Cell::Column(col),
                    _ => Cell::Fixed(None),
                },
                FieldSrc::Column(c, _) => Cell::Span(*c),
                FieldSrc::Constant(v) => Cell::Fixed(value::clean(Some(v.as_str()))),
                FieldSrc::Absent => Cell::Fixed(None),
            })
            .collect::<Vec<_>>();
        let empty = cells.iter().take(64).enumerate().fold(0, |m, (f, c)| if matches!(c, Cell::Fixed(None)) { m | 1 << f } else { m });
        Rows { cells, text: &batch.text, spans: &batch.spans, width: batch.width(), empty, first: batch.first, ix: &fields.ix }
    }

    /// Whether field `f` has no value on any row of the batch (including a field the file's
    /// kind does not have).
    #[inline(always)]
    fn empty(&self, f: usize) -> bool {
        f >= self.cells.len() || f < 64 && self.empty >> f & 1 == 1
    }

    /// The cleaned value of field `f` in row `row` (placeholders are `None`). Inlined into each
    /// reader: a call's entry and return cost a fifth of a look-up.
    #[inline(always)]
    fn get(&self, f: usize, row: usize) -> Option<&'b str> {
        match *self.cells.get(f)? {
            Cell::Span(c) => {
                let [a, b] = *self.spans.get(row * self.width + c)?;
                value::clean(self.text.get(a as usize..b as usize))
            }
            Cell::Column(col) => value::clean(col.get(self.first + row)),
            Cell::Fixed(v) => v,
        }
    }
}

/// Why a row was not used.
enum Outcome {
    Used,
    Filtered(String),
    Rejected { field: usize, reason: String, value: String },
}

/// What does not change from one batch to the next.
struct Shared<'c> {
    cfg: &'c Config,
    classifier: Classifier,
    excluded: Vec<String>,
}

/// The normalization of one batch, with its own strings and identifiers, merged in file order.
struct Normalizer<'c> {
    cfg: &'c Config,
    excluded: &'c [String],
    strings: Interner,
    ids: LocalIds,
    records: Records,
    classifier: Classifier,
    touches: Vec<Touch>,
    conversions: Vec<Conversion>,
    costs: Vec<Cost>,
    invalid: BTreeMap<&'static str, u64>,
    /// The distinct kinds, files and tags of the batch's touches.
    tags: TagTable,
    /// A visit's tags by its tag texts (see [`Normalizer::visit_tags`]).
    tag_cache: FxHashMap<Box<[u8]>, u32>,
    /// The key of the visit being read, in a buffer used again.
    tag_key: Vec<u8>,
    /// Orders filtered by status: not conversions, but still orders a receipt may fulfil.
    excluded_orders: Vec<Sym>,
    nodes: Vec<u32>,
    /// A normalized phone or e-mail, before it is interned.
    scratch: String,
    landing_host: url::LastHost,
    /// Whether each order status seen is excluded (see [`Normalizer::order`]).
    statuses: FxHashMap<String, bool>,
    summary: FileSummary,
    rejects: Vec<Reject>,
    cp1251_rows: u64,
}

const REJECT_KEEP: usize = 100_000;

/// One input file as the workers see it.
struct FileCtx<'c> {
    file: u16,
    /// How large the file is, to make room for its rows at once (for a gzip file this falls
    /// short, which costs only the growing it would have cost anyway).
    size: Extent,
    /// What the files after this one can add to the run's arrays.
    later: Later,
    head: Head,
    layout: crate::io::Layout,
    fields: Fields,
    /// Which of the file's columns any field reads.
    read: Vec<bool>,
    spec: &'c SourceSpec,
}

/// How large a file is: a CSV file's bytes on disk, and its rows, counted in its first
/// stretch and scaled to its size (a Parquet file declares its rows; its bytes on disk are
/// compressed and say little about them). `rows` is 0 where it cannot be told (a gzip file,
/// an unreadable one).
#[derive(Clone, Copy, Debug, Default)]
pub struct Extent {
    pub bytes: u64,
    pub rows: u64,
}

/// How much of a CSV file is read to count the rows per byte.
const ROW_SAMPLE: usize = 256 << 10;

impl Extent {
    pub fn of(spec: &SourceSpec) -> Extent {
        match (&spec.location, spec.format) {
            (crate::config::Location::File(p), crate::config::FileFormat::Csv) => {
                let bytes = std::fs::metadata(p).map_or(0, |m| m.len());
                Extent { bytes, rows: csv_rows(p, bytes).unwrap_or(0) }
            }
            (crate::config::Location::File(p), crate::config::FileFormat::Parquet) => {
                Extent { bytes: 0, rows: crate::io::parquet::declared_rows(p).unwrap_or(0) }
            }
            _ => Extent::default(),
        }
    }

    fn is_empty(&self) -> bool {
        self.bytes == 0 && self.rows == 0
    }

    /// How many times a part of the file (its bytes of text and rows) the whole file holds:
    /// by bytes where the file's are known (the closer measure), else by rows.
    fn times(&self, part_bytes: u64, part_rows: u64) -> f64 {
        match (self.bytes, self.rows) {
            (b, _) if b > 0 && part_bytes > 0 => b as f64 / part_bytes as f64,
            (_, r) if r > 0 && part_rows > 0 => r as f64 / part_rows as f64,
            _ => 0.0,
        }
    }
}

/// About how many rows a CSV file holds: the line breaks in its first [`ROW_SAMPLE`] bytes,
/// scaled to its size. A field with line breaks inside quotes only makes it more; a gzip file
/// is not counted.
fn csv_rows(path: &std::path::Path, bytes: u64) -> Option<u64> {
    use std::io::Read;
    let mut sample = Vec::with_capacity(ROW_SAMPLE);
    std::fs::File::open(path).ok()?.take(ROW_SAMPLE as u64).read_to_end(&mut sample).ok()?;
    if sample.is_empty() || sample.starts_with(&[0x1f, 0x8b]) {
        return None;
    }
    let lines = memchr::memchr_iter(b'\n', &sample).count() as u64 + 1;
    Some((lines as u128 * bytes as u128).div_ceil(sample.len() as u128) as u64)
}

/// Room for an array of `size`-byte items: `n` items of a file's first part `times` over, and
/// `later` items for the files after it, but never more than a quarter of `memory` bytes.
fn room(n: usize, times: f64, later: u64, size: usize, memory: u64) -> usize {
    // Rows counted from a file's first stretch may fall a little short of its rows.
    let want = n as f64 * times * 1.02 + later as f64 * 1.1;
    (want as u64).min(memory / 4 / size.max(1) as u64).try_into().unwrap_or(usize::MAX)
}

/// How much the files still to come can add to the arrays every file appends to, at most, so
/// that those arrays grow once for the whole run rather than at a later file (each growth
/// copies them whole and faults in fresh pages for the copy): a record per row, a touch per row
/// of a kind that gives touches, a conversion per row of orders and receipts, and as many
/// identifiers per row as the kind has identifier fields. A file whose rows cannot be told adds
/// nothing; its own first part makes room for it.
#[derive(Clone, Copy, Debug, Default)]
struct Later {
    records: u64,
    members: u64,
    touches: u64,
    conversions: u64,
}

/// The identifier fields of an input kind: the most identifiers one of its rows can carry.
fn identifier_fields(kind: SourceKind) -> u64 {
    schema::fields(kind).iter().filter(|f| IDENTIFIER_FIELDS.contains(&f.name)).count() as u64
}

const IDENTIFIER_FIELDS: [&str; 11] =
    ["client_id", "user_id", "phone", "email", "crm_customer_id", "order_id", "receipt_id", "loyalty_card", "caller_phone", "id_a", "id_b"];

/// Each configured source's [`Extent`] and [`Later`].
fn file_sizes(cfg: &Config) -> Vec<(Extent, Later)> {
    let sizes: Vec<(Extent, SourceKind)> = cfg.sources.iter().map(|s| (Extent::of(s), s.kind)).collect();
    (0..sizes.len())
        .map(|i| {
            let mut later = Later::default();
            for &(e, kind) in &sizes[i + 1..] {
                later.records = later.records.saturating_add(e.rows);
                later.members = later.members.saturating_add(e.rows.saturating_mul(identifier_fields(kind)));
                if matches!(kind, SourceKind::Visits | SourceKind::Calls | SourceKind::Touches) {
                    later.touches = later.touches.saturating_add(e.rows);
                }
                if matches!(kind, SourceKind::Orders | SourceKind::Receipts) {
                    later.conversions = later.conversions.saturating_add(e.rows);
                }
            }
            (sizes[i].0, later)
        })
        .collect()
}

/// Work for the threads: a file starts, or a piece of it is to be normalized.
enum Job<'c, B> {
    Start(Arc<FileCtx<'c>>),
    Rows(Arc<FileCtx<'c>>, B),
}

/// What the threads hand back, in job order.
enum Done<'c> {
    Start(Arc<FileCtx<'c>>),
    /// A block's batches, in order.
    Parts(Vec<Partial>),
}

/// Normalizes loaded tables (one per configured source, same order).
pub fn normalize<'c>(cfg: &'c Config, tables: &[RawTable]) -> Result<Dataset> {
    let shared = Shared::new(cfg)?;
    let jobs = tables.iter().zip(&cfg.sources).enumerate().flat_map(|(file, (table, spec))| {
        let head = table.head();
        let layout =
            crate::io::Layout { delimiter: table.delimiter.unwrap_or(b','), width: table.headers.len(), decode: crate::io::Decode::Utf8 };
        let ctx = Fields::resolve(&head, spec).map(|fields| {
            let read = fields.read_columns(layout.width);
            Arc::new(FileCtx { file: file as u16, size: Extent::default(), later: Later::default(), head, layout, fields, read, spec })
        });
        let batches: Vec<Result<Job<'_, &Batch>>> = match ctx {
            Ok(ctx) => std::iter::once(Ok(Job::Start(ctx.clone())))
                .chain(table.batches.iter().map(move |b| Ok(Job::Rows(ctx.clone(), b))))
                .collect(),
            Err(e) => vec![Err(e)],
        };
        batches
    });
    let work = |job: Job<'c, &Batch>| -> Result<Done<'c>> {
        match job {
            Job::Start(ctx) => Ok(Done::Start(ctx)),
            Job::Rows(ctx, batch) => Ok(Done::Parts(vec![shared.batch(&ctx, batch)])),
        }
    };
    let mut all = Merged::default();
    ordered_parallel(rayon::current_num_threads(), jobs, work, |done| all.take(done, &|_| {}))?;
    all.finish(cfg)
}

/// Reads and normalizes every configured source, streaming each file in blocks that are split
/// into fields and normalized on every core (several files at once); calls `progress(rows)` as
/// blocks are done.
pub fn load_and_normalize<'c>(cfg: &'c Config, progress: &(dyn Fn(u64) + Sync)) -> Result<Dataset> {
    let shared = Shared::new(cfg)?;
    let sizes = file_sizes(cfg);
    // Files are opened one after the other as the threads ask for work, so at most a few blocks
    // of any file are in memory at once.
    let jobs = cfg.sources.iter().enumerate().flat_map(|(file, spec)| {
        let (size, later) = sizes[file];
        let opened = crate::io::open(spec).and_then(|source| {
            let fields = Fields::resolve(&source.head, spec)?;
            let read = fields.read_columns(source.layout.width);
            let ctx = FileCtx { file: file as u16, size, later, head: source.head, layout: source.layout, fields, read, spec };
            Ok((Arc::new(ctx), source.blocks))
        });
        let jobs: Box<dyn Iterator<Item = Result<Job<'_, crate::io::Block>>> + Send> = match opened {
            Ok((ctx, blocks)) => {
                let start = std::iter::once(Ok(Job::Start(ctx.clone())));
                Box::new(start.chain(blocks.map(move |b| {
                    b.with_context(|| format!("reading {} ({})", ctx.head.name, ctx.spec.kind)).map(|b| Job::Rows(ctx.clone(), b))
                })))
            }
            Err(e) => Box::new(std::iter::once(Err(e))),
        };
        jobs
    });
    let work = |job: Job<'c, crate::io::Block>| -> Result<Done<'c>> {
        match job {
            Job::Start(ctx) => Ok(Done::Start(ctx)),
            Job::Rows(ctx, block) => {
                let batches = block
                    .parse(&ctx.head.name, &ctx.layout, Some(&ctx.read))
                    .with_context(|| format!("reading {} ({})", ctx.head.name, ctx.spec.kind))?;
                let one = |batch: crate::io::Batch| {
                    let part = shared.batch(&ctx, &batch);
                    batch.recycle();
                    part
                };
                // A Parquet row group comes as several batches: they go to every core, in order.
                // A single batch (every CSV block) stays on this thread, already one of many.
                let parts =
                    if batches.len() > 1 { batches.into_par_iter().map(one).collect() } else { batches.into_iter().map(one).collect() };
                Ok(Done::Parts(parts))
            }
        }
    };
    // A thread given a Parquet row group waits while polars decodes it on its own threads and
    // while its pieces are normalized on rayon's: one more thread than cores keeps both cores
    // busy meanwhile (M from Parquet: 4.77 -> 4.47 s). A CSV block is normalized on the thread
    // that took it, where a thread more only competes (the comparable job: 2.70 -> 2.74 s).
    let parquet = cfg.sources.iter().any(|s| s.format == crate::config::FileFormat::Parquet);
    let threads = rayon::current_num_threads() + usize::from(parquet);
    let mut all = Merged::default();
    ordered_parallel(threads, jobs, work, |done| all.take(done, progress))?;
    crate::log::step("read and normalized");
    all.finish(cfg)
}

/// Runs `work` on every item on `threads` threads and hands the results to `sink` in item
/// order, so the outcome is the same whatever the thread count.
fn ordered_parallel<T: Send, R: Send>(
    threads: usize,
    items: impl Iterator<Item = Result<T>> + Send,
    work: impl Fn(T) -> Result<R> + Sync,
    mut sink: impl FnMut(R) -> Result<()>,
) -> Result<()> {
    let threads = threads.max(1);
    let items = std::sync::Mutex::new(items.enumerate());
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Result<R>)>(threads * 2);
        for _ in 0..threads {
            let (tx, items, work, stop) = (tx.clone(), &items, &work, &stop);
            scope.spawn(move || loop {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let next = match items.lock() {
                    Ok(mut it) => it.next(),
                    Err(_) => None,
                };
                let Some((i, item)) = next else {
                    break;
                };
                if tx.send((i, item.and_then(work))).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut pending = BTreeMap::new();
        let (mut next, mut result) = (0usize, Ok(()));
        for (i, r) in rx {
            pending.insert(i, r);
            while let Some(r) = pending.remove(&next) {
                next += 1;
                if result.is_ok() {
                    result = r.and_then(&mut sink);
                    if result.is_err() {
                        stop.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            }
        }
        result
    })
}

/// One batch's normalized rows, with local string and identifier numbering.
struct Partial {
    /// Input bytes the batch covered.
    bytes: u64,
    ids: BatchKeys,
    strings: Interner,
    records: Records,
    touches: Vec<Touch>,
    tags: Vec<TouchTags>,
    conversions: Vec<Conversion>,
    costs: Vec<Cost>,
    invalid: BTreeMap<&'static str, u64>,
    excluded_orders: Vec<Sym>,
    summary: FileSummary,
    rejects: Vec<Reject>,
    cp1251_rows: u64,
}

impl<'c> Shared<'c> {
    fn new(cfg: &'c Config) -> Result<Shared<'c>> {
        Ok(Shared {
            cfg,
            classifier: Classifier::new(&cfg.channel_rules, cfg.use_default_channel_rules, &cfg.site_domains)?,
            excluded: cfg.excluded_statuses.iter().map(|s| value::fold(s)).collect(),
        })
    }

    fn batch(&self, ctx: &FileCtx<'_>, batch: &Batch) -> Partial {
        let (cfg, fields, spec, name, file) = (self.cfg, &ctx.fields, ctx.spec, ctx.head.name.as_str(), ctx.file);
        let mut n = Normalizer {
            cfg,
            excluded: &self.excluded,
            strings: Interner::new(),
            // Room for the keys of every identifier the rows can carry.
            ids: LocalIds::with_capacity(batch.height() * fields.identifiers_per_row().max(1)),
            records: Records::with_capacity(batch.height()),
            classifier: self.classifier.clone(),
            // A row gives at most one touch or conversion: room for them all at once.
            touches: Vec::with_capacity(if matches!(spec.kind, SourceKind::Visits | SourceKind::Calls | SourceKind::Touches) {
                batch.height()
            } else {
                0
            }),
            conversions: Vec::with_capacity(if matches!(spec.kind, SourceKind::Orders | SourceKind::Receipts) {
                batch.height()
            } else {
                0
            }),
            costs: Vec::new(),
            invalid: BTreeMap::new(),
            tags: TagTable::default(),
            tag_cache: FxHashMap::default(),
            tag_key: Vec::with_capacity(64),
            excluded_orders: Vec::new(),
            nodes: Vec::with_capacity(8),
            scratch: String::with_capacity(16),
            landing_host: url::LastHost::default(),
            statuses: FxHashMap::default(),
            summary: FileSummary { rows_read: batch.rows_read, ..Default::default() },
            rejects: Vec::new(),
            cp1251_rows: batch.cp1251_rows,
        };
        for r in &batch.rejects {
            let reason = crate::identity::scrub(&r.reason, &cfg.salt).into_owned();
            n.summary.reject(&reason);
            if n.rejects.len() < REJECT_KEEP {
                n.rejects.push(Reject { reason, value: crate::identity::scrub(&r.value, &cfg.salt).into_owned(), ..r.clone() });
            }
        }
        let f = Rows::new(fields, batch);
        let mut clock = TimeParser::new(spec.timezone, spec.timestamp_format.clone());
        for row in 0..batch.height() {
            // A row rejected after its identifiers were read never closed its record.
            n.ids.end_record();
            let line = batch.lines[row];
            let outcome = match spec.kind {
                SourceKind::Visits => n.visit(&f, row, &mut clock, file),
                SourceKind::Calls => n.call(&f, row, &mut clock, file),
                SourceKind::Orders => n.order(&f, row, &mut clock, file, line),
                SourceKind::Receipts => n.receipt(&f, row, &mut clock, file, line),
                SourceKind::Links => n.link(&f, row),
                SourceKind::Touches => n.message(&f, row, &mut clock, file),
                SourceKind::Costs => n.cost(&f, row, &mut clock),
            };
            match outcome {
                Outcome::Used => n.summary.used += 1,
                Outcome::Filtered(rule) => n.summary.filter(&rule),
                Outcome::Rejected { field, reason, value } => {
                    let column = fields.column_name(field);
                    // Reasons quote the value: a 50 MB field must not become a 50 MB message.
                    let reason = crate::identity::scrub(&shorten(&reason), &cfg.salt).into_owned();
                    let value = crate::identity::scrub(&crate::io::csv::truncate(&value, 200), &cfg.salt).into_owned();
                    n.summary.reject(&format!("`{column}`: {reason}"));
                    if n.rejects.len() < REJECT_KEEP {
                        n.rejects.push(Reject {
                            file: name.to_string(),
                            line,
                            column,
                            reason,
                            value: crate::io::csv::truncate(&value, 200),
                        });
                    }
                }
            }
        }
        Partial {
            ids: n.ids.into_keys(),
            bytes: batch.bytes,
            strings: n.strings,
            records: n.records,
            touches: n.touches,
            tags: n.tags.into_list(),
            conversions: n.conversions,
            costs: n.costs,
            invalid: n.invalid,
            excluded_orders: n.excluded_orders,
            summary: n.summary,
            rejects: n.rejects,
            cp1251_rows: n.cp1251_rows,
        }
    }
}

/// The dataset being assembled from partials, in file and block order.
#[derive(Default)]
struct Merged {
    strings: Interner,
    /// Every batch's identifiers, in merge order, and how many there are.
    ids: Vec<BatchKeys>,
    id_count: u32,
    records: Records,
    touches: Vec<Touch>,
    tags: TagTable,
    conversions: Vec<Conversion>,
    costs: Vec<Cost>,
    summary: RunSummary,
    excluded_orders: Vec<Sym>,
    /// The file being merged, and what its rows could not read.
    current: Option<String>,
    /// Its size, until room is made for its rows, and the sizes of the files after it.
    size: Option<Extent>,
    later: Later,
    invalid: BTreeMap<&'static str, u64>,
    cp1251_rows: u64,
}

impl Merged {
    /// Takes the next finished job, in order.
    fn take(&mut self, done: Done<'_>, progress: &(dyn Fn(u64) + Sync)) -> Result<()> {
        match done {
            Done::Start(ctx) => {
                self.end_file();
                self.summary.files.push(FileSummary { file: ctx.head.name.clone(), kind: ctx.spec.kind.to_string(), ..Default::default() });
                self.current = Some(ctx.head.name.clone());
                self.size = Some(ctx.size).filter(|e| !e.is_empty());
                self.later = ctx.later;
            }
            Done::Parts(parts) => {
                for p in parts {
                    if self.id_count as u64 + p.ids.len() as u64 >= crate::identity::MAX_IDS {
                        bail!("more identifiers than one run can hold (over 2 billion): split the exports by period");
                    }
                    progress(p.summary.rows_read);
                    self.cp1251_rows += p.cp1251_rows;
                    for (what, n) in &p.invalid {
                        *self.invalid.entry(what).or_default() += n;
                    }
                    if let Some(size) = self.size.take() {
                        self.make_room(&p, size);
                    }
                    self.absorb(p);
                }
            }
        }
        Ok(())
    }

    /// Notes about the file just finished.
    fn end_file(&mut self) {
        let Some(name) = self.current.take() else {
            return;
        };
        if self.cp1251_rows > 0 {
            self.summary.notes.push(format!("{name}: {} row(s) were not UTF-8 and were read as Windows-1251", self.cp1251_rows));
        }
        for (what, count) in std::mem::take(&mut self.invalid) {
            self.summary.notes.push(format!("{name}: {count} {what} value(s) could not be read and were ignored (the rows were kept)"));
        }
        self.cp1251_rows = 0;
    }

    /// Room for a whole file's rows, judged from its first part, and for the arrays every file
    /// appends to, for the most the files after it can add (see [`Later`]). Growing arrays of
    /// this size copies them whole and faults in fresh pages for every copy; room that is never
    /// written costs address space, not memory. A guess that falls short means one growth more.
    ///
    /// A Parquet footer can declare any number of rows (a few kilobytes of nulls can declare a
    /// billion), so no array gets room for more than a quarter of the machine's memory: past
    /// that, the file's own rows decide, and reading it says what is wrong with it.
    fn make_room(&mut self, p: &Partial, file: Extent) {
        let times = file.times(p.bytes, p.summary.rows_read);
        let memory = crate::io::meminfo("MemTotal").unwrap_or(u64::MAX);
        let room = |n: usize, later: u64, size: usize| room(n, times, later, size, memory);
        self.touches.reserve_exact(room(p.touches.len(), self.later.touches, size_of::<Touch>()));
        self.conversions.reserve_exact(room(p.conversions.len(), self.later.conversions, size_of::<Conversion>()));
        // The strings that grow with a file are the ids of orders and receipts, one a row.
        let length = p.strings.bytes() / p.strings.len().max(1);
        let strings = room(p.strings.len(), self.later.conversions, 24 + length);
        self.strings.reserve(strings, strings.saturating_mul(length));
        self.records.reserve(room(p.records.len(), self.later.records, 4), room(p.records.members(), self.later.members, 4));
    }

    fn absorb(&mut self, p: Partial) {
        let sym: Vec<Sym> = p.strings.iter().map(|s| self.strings.intern(s)).collect();
        let s = |x: Sym| sym[x as usize];
        // Batch ids become provisional run-wide ones, as `IdGraph::from_batches` expects.
        let base = self.records.append(&p.records, self.id_count + 1);
        self.id_count += p.ids.len();
        self.ids.push(p.ids);
        let tags: Vec<u32> = p
            .tags
            .iter()
            .map(|t| {
                let t = TouchTags { channel: s(t.channel), source: s(t.source), medium: s(t.medium), campaign: s(t.campaign), ..*t };
                self.tags.intern(t)
            })
            .collect();
        self.touches.extend(p.touches.iter().map(|t| Touch { record: t.record + base, tags: tags[t.tags as usize], ..*t }));
        self.conversions.extend(p.conversions.iter().map(|c| Conversion {
            id: s(c.id),
            fulfils: s(c.fulfils),
            record: c.record + base,
            ..*c
        }));
        self.costs.extend(p.costs.iter().map(|c| Cost {
            channel: s(c.channel),
            source: s(c.source),
            medium: s(c.medium),
            campaign: s(c.campaign),
            ..*c
        }));
        self.excluded_orders.extend(p.excluded_orders.iter().map(|&x| s(x)));
        let Some(fs) = self.summary.files.last_mut() else {
            return;
        };
        fs.rows_read += p.summary.rows_read;
        fs.used += p.summary.used;
        for (k, n) in p.summary.filtered {
            *fs.filtered.entry(k).or_default() += n;
        }
        for (k, n) in p.summary.rejected {
            *fs.rejected.entry(k).or_default() += n;
        }
        let room = REJECT_KEEP.saturating_sub(self.summary.rejects.len());
        let _ = fs;
        self.summary.rejects.extend(p.rejects.into_iter().take(room));
    }

    fn finish(mut self, cfg: &Config) -> Result<Dataset> {
        self.end_file();
        let has_offline_source = cfg.sources.iter().any(|s| s.kind == SourceKind::Receipts);
        let has_costs = cfg.sources.iter().any(|s| s.kind == SourceKind::Costs);
        let mut ds = Dataset {
            strings: self.strings,
            graph: IdGraph::from_batches(self.ids, self.records)?,
            touches: self.touches,
            tags: self.tags.into_list(),
            conversions: self.conversions,
            summary: self.summary,
            has_offline_source,
            costs: self.costs,
            has_costs,
        };
        settle_conversions(&mut ds, &self.excluded_orders);
        crate::log::step("conversions settled");
        Ok(ds)
    }
}

/// Removes duplicate conversions and receipts that fulfil an online order, keeping the counts.
fn settle_conversions(ds: &mut Dataset, excluded_orders: &[Sym]) {
    // Duplicates: the same id twice in one kind. Keep the latest, then the largest, so the
    // choice depends on content, not on row order; of full ties the first read (file, then
    // line: the order rows are read in). Grouped by symbol, not by text: reading every id's
    // text per comparison costs cache misses, and the paths put conversions in their own order
    // anyway. Sorted and deduplicated in place: a second list of conversions, or a stable
    // sort's buffer, is memory faulted in afresh (0.5 s at 50M visits).
    ds.conversions.par_sort_unstable_by(|a, b| {
        (a.offline, a.id)
            .cmp(&(b.offline, b.id))
            .then(b.ts.cmp(&a.ts))
            .then(b.revenue.total_cmp(&a.revenue))
            .then((a.file, a.line).cmp(&(b.file, b.line)))
    });
    let mut dup_by_file: BTreeMap<(u16, bool), u64> = BTreeMap::new();
    ds.conversions.dedup_by(|c, kept| {
        let dup = kept.offline == c.offline && kept.id == c.id;
        if dup {
            *dup_by_file.entry((c.file, c.offline)).or_default() += 1;
        }
        dup
    });
    for ((file, offline), n) in dup_by_file {
        let rule = if offline { "duplicate receipt_id (kept once)" } else { "duplicate order_id (kept once)" };
        ds.summary.files[file as usize].refilter(rule, n);
    }
    // A receipt that fulfils an online order is that order, not a second purchase. Order ids
    // are marked in a bitmap over the symbols (a bit per string, in the core's cache), not a
    // hash set (a cache miss per receipt).
    let mut is_order = vec![0u64; ds.strings.len().div_ceil(64)];
    for id in ds.conversions.iter().filter(|c| !c.offline).map(|c| c.id).chain(excluded_orders.iter().copied()) {
        if let Some(w) = is_order.get_mut(id as usize / 64) {
            *w |= 1 << (id % 64);
        }
    }
    let order = |s: Sym| is_order.get(s as usize / 64).is_some_and(|w| w >> (s % 64) & 1 == 1);
    let mut fulfil_by_file: BTreeMap<u16, u64> = BTreeMap::new();
    ds.conversions.retain(|c| {
        if c.offline && c.fulfils != 0 && order(c.fulfils) {
            *fulfil_by_file.entry(c.file).or_default() += 1;
            false
        } else {
            true
        }
    });
    for (file, n) in fulfil_by_file {
        ds.summary.files[file as usize].refilter("fulfils an online order (counted once, as the order; identifiers still link)", n);
    }
}

/// A long reason keeps its start (the quoted value's beginning) and its end (what is wrong).
fn shorten(reason: &str) -> std::borrow::Cow<'_, str> {
    if reason.len() <= 300 {
        return std::borrow::Cow::Borrowed(reason);
    }
    let head = crate::io::csv::truncate(reason, 120);
    let mut start = reason.len() - 120;
    while !reason.is_char_boundary(start) {
        start += 1;
    }
    std::borrow::Cow::Owned(format!("{head}{}", &reason[start..]))
}

#[cold]
#[inline(never)]
fn bad_time(field: usize, v: &str, e: String) -> Outcome {
    rejected(field, format!("`{v}` {e}"), v)
}

fn rejected(field: usize, reason: impl Into<String>, value: &str) -> Outcome {
    Outcome::Rejected { field, reason: reason.into(), value: value.to_string() }
}

impl<'c> Normalizer<'c> {
    fn ident(&mut self, kind: IdKind, raw: Option<&str>) -> Option<u32> {
        let node = self.node(kind, raw?);
        if node.is_none() {
            *self.invalid.entry(kind.name()).or_default() += 1;
        }
        node
    }

    /// The batch id of an identifier as written; `None` for a phone or e-mail that is not one.
    /// Phones are normalized into a buffer used again: one is read for most rows.
    fn node(&mut self, kind: IdKind, raw: &str) -> Option<u32> {
        match kind {
            IdKind::Phone => {
                value::phone_into(raw, &self.cfg.default_country, &mut self.scratch).then(|| self.ids.intern(kind, &self.scratch))
            }
            IdKind::Email => value::email_into(raw, &mut self.scratch).then(|| self.ids.intern(kind, &self.scratch)),
            _ => Some(self.ids.intern(kind, raw)),
        }
    }

    fn record(&mut self) -> u32 {
        self.ids.end_record();
        let nodes = std::mem::take(&mut self.nodes);
        let r = self.records.add(&nodes);
        self.nodes = nodes;
        self.nodes.clear();
        r
    }

    // Inlined, with the fields a batch lacks passed over before any look-up: most files fill
    // one or two of the identifier fields a row can carry, and a visit reads three.
    #[inline(always)]
    fn push_ids(&mut self, f: &Rows, row: usize, list: &[(usize, IdKind)]) {
        for &(field, kind) in list {
            if f.empty(field) {
                continue;
            }
            if let Some(node) = self.ident(kind, f.get(field, row)) {
                self.nodes.push(node);
            }
        }
    }

    // The reject's message is built out of line, which keeps the common case short.
    fn time(&self, f: &Rows, field: usize, row: usize, clock: &mut TimeParser) -> Result<i64, Outcome> {
        match f.get(field, row) {
            None => Err(rejected(field, "missing timestamp", "")),
            Some(v) => clock.parse(v).map_err(|e| bad_time(field, v, e)),
        }
    }

    fn cost(&mut self, f: &Rows, row: usize, clock: &mut TimeParser) -> Outcome {
        let day = match self.time(f, f.ix.date, row, clock) {
            Ok(t) => t,
            Err(o) => return o,
        };
        let amount = match self.money(f, f.ix.cost, row) {
            Ok(v) => v,
            Err(o) => return o,
        };
        let cf = f.ix.currency;
        if let Some(c) = f.get(cf, row) {
            if !c.eq_ignore_ascii_case(&self.cfg.currency) {
                return rejected(
                    cf,
                    format!("currency `{c}` is not the report's {} (no conversion rates are applied)", self.cfg.currency),
                    c,
                );
            }
        }
        let mut tag = |i: usize| f.get(i, row).map_or(0, |v| self.strings.intern(v));
        let (source, medium, campaign) = (tag(f.ix.source), tag(f.ix.medium), tag(f.ix.campaign));
        let channel = match f.get(f.ix.channel, row) {
            Some(ch) => self.strings.intern(ch),
            None => self.classifier.classify(&mut self.strings, source, medium, campaign, 0),
        };
        self.costs.push(Cost { day, channel, source, medium, campaign, amount });
        Outcome::Used
    }

    fn money(&self, f: &Rows, field: usize, row: usize) -> Result<f64, Outcome> {
        match f.get(field, row) {
            None => Err(rejected(field, "missing amount", "")),
            Some(v) => match value::number(v) {
                None => Err(rejected(field, format!("`{v}` is not a number"), v)),
                Some(x) if x < 0.0 => Err(rejected(field, format!("`{v}` is negative (refunds belong in the status, not the amount)"), v)),
                Some(x) => Ok(x),
            },
        }
    }

    /// Source, medium and campaign of a visit as written, inferred from the landing page's query
    /// when the tag columns are empty, and the referrer's host unless it is the site's own.
    fn visit_text<'r>(&mut self, f: &Rows<'r>, row: usize) -> [Option<Cow<'r, str>>; 4] {
        let mut source = f.get(f.ix.utm_source, row).map(Cow::Borrowed);
        let mut medium = f.get(f.ix.utm_medium, row).map(Cow::Borrowed);
        let mut campaign = f.get(f.ix.utm_campaign, row).map(Cow::Borrowed);
        let landing = f.get(f.ix.landing_page, row);
        if source.is_none() && medium.is_none() && campaign.is_none() {
            if let Some(l) = landing {
                let q = url::query_tags(l);
                if q.source.is_some() || q.medium.is_some() || q.campaign.is_some() {
                    (source, medium, campaign) = (q.source, q.medium, q.campaign);
                } else if q.yclid {
                    source = Some(Cow::Borrowed("yandex"));
                    medium = Some(Cow::Borrowed("cpc"));
                } else if q.gclid {
                    source = Some(Cow::Borrowed("google"));
                    medium = Some(Cow::Borrowed("cpc"));
                }
            }
        }
        // The landing page's host only matters for a visit that has a referrer. Landing pages
        // are nearly all the site's own, so their host is kept from one visit to the next.
        let (classifier, landing_host) = (&self.classifier, &mut self.landing_host);
        let referrer = f
            .get(f.ix.referrer, row)
            .and_then(url::host)
            .filter(|h| !classifier.is_internal(h, landing.and_then(|l| landing_host.host(l))));
        [source, medium, campaign, referrer]
    }

    /// The tags of a visit (see [`TouchTags`]). The same four texts (source, medium, campaign,
    /// referrer) always give the same tags, so they are looked up once per batch as one key: one
    /// look-up per visit instead of one per tag, one for the channel and one for the tags.
    fn visit_tags(&mut self, f: &Rows, row: usize, file: u16) -> u32 {
        let text = self.visit_text(f, row);
        self.tag_key.clear();
        for t in &text {
            match t {
                None => self.tag_key.push(0),
                Some(v) => {
                    self.tag_key.push(1);
                    self.tag_key.extend_from_slice(&(v.len() as u32).to_le_bytes());
                    self.tag_key.extend_from_slice(v.as_bytes());
                }
            }
        }
        if let Some(&x) = self.tag_cache.get(self.tag_key.as_slice()) {
            return x;
        }
        let [source, medium, campaign, referrer] = text;
        let (s, m, c, r) = self.tag_symbols(source, medium, campaign, referrer);
        let channel = self.classifier.classify(&mut self.strings, s, m, c, r);
        let x = self.tags.intern(TouchTags { kind: TouchKind::Visit, file, channel, source: s, medium: m, campaign: c });
        self.tag_cache.insert(self.tag_key.as_slice().into(), x);
        x
    }

    /// The symbols of a visit's tags; a visit with neither source nor medium takes them from
    /// its referrer, or is direct.
    fn tag_symbols(
        &mut self,
        source: Option<Cow<str>>,
        medium: Option<Cow<str>>,
        campaign: Option<Cow<str>>,
        referrer: Option<Cow<str>>,
    ) -> (Sym, Sym, Sym, Sym) {
        let ref_sym = referrer.as_deref().map_or(0, |h| self.strings.intern(h));
        let c = campaign.as_deref().map_or(0, |c| self.strings.intern(c));
        if source.is_none() && medium.is_none() {
            if let Some(h) = referrer {
                let (s, m) = self.classifier.referrer_source(&h);
                return (self.strings.intern(&s), self.strings.intern(m), c, ref_sym);
            }
            let (s, m) = (self.strings.intern(channels::SOURCE_DIRECT), self.strings.intern(channels::MEDIUM_NONE));
            return (s, m, c, 0);
        }
        let s = source.as_deref().map_or(0, |v| self.strings.intern(v));
        let m = medium.as_deref().map_or(0, |v| self.strings.intern(v));
        (s, m, c, ref_sym)
    }

    fn visit(&mut self, f: &Rows, row: usize, clock: &mut TimeParser, file: u16) -> Outcome {
        let ts = match self.time(f, f.ix.started_at, row, clock) {
            Ok(t) => t,
            Err(o) => return o,
        };
        let client = f.ix.client_id;
        let Some(cid) = f.get(client, row) else {
            return rejected(client, "missing client id", "");
        };
        self.nodes.clear();
        self.nodes.push(self.ids.intern(IdKind::ClientId, cid));
        self.push_ids(f, row, &[(f.ix.user_id, IdKind::UserId), (f.ix.phone, IdKind::Phone), (f.ix.email, IdKind::Email)]);
        let record = self.record();
        let tags = self.visit_tags(f, row, file);
        self.touches.push(Touch { ts, record, tags });
        Outcome::Used
    }

    fn call(&mut self, f: &Rows, row: usize, clock: &mut TimeParser, file: u16) -> Outcome {
        let ts = match self.time(f, f.ix.called_at, row, clock) {
            Ok(t) => t,
            Err(o) => return o,
        };
        if f.get(f.ix.is_target, row).and_then(value::flag) == Some(false) {
            return Outcome::Filtered("not a target call (is_target)".into());
        }
        self.nodes.clear();
        let phone_f = f.ix.caller_phone;
        let raw_phone = f.get(phone_f, row);
        self.push_ids(f, row, &[(f.ix.caller_phone, IdKind::Phone), (f.ix.client_id, IdKind::ClientId)]);
        if self.nodes.is_empty() {
            let v = raw_phone.unwrap_or_default();
            let reason = if v.is_empty() {
                "no caller phone and no client id".to_string()
            } else {
                format!("`{v}` is not a phone number and there is no client id")
            };
            return rejected(phone_f, reason, v);
        }
        let record = self.record();
        let explicit = f.get(f.ix.channel, row);
        let s = f.get(f.ix.utm_source, row);
        let m = f.get(f.ix.utm_medium, row);
        let c = f.get(f.ix.utm_campaign, row);
        let source = s.map_or(0, |v| self.strings.intern(v));
        let medium = m.map_or(0, |v| self.strings.intern(v));
        let campaign = c.map_or(0, |v| self.strings.intern(v));
        let channel = match explicit {
            Some(ch) => self.strings.intern(ch),
            None if s.is_some() || m.is_some() => self.classifier.classify(&mut self.strings, source, medium, campaign, 0),
            None => self.strings.intern(channels::CALL_UNTRACKED),
        };
        let tags = self.tags.intern(TouchTags { kind: TouchKind::Call, file, channel, source, medium, campaign });
        self.touches.push(Touch { ts, record, tags });
        Outcome::Used
    }

    fn order(&mut self, f: &Rows, row: usize, clock: &mut TimeParser, file: u16, line: u64) -> Outcome {
        let idf = f.ix.order_id;
        let Some(id) = f.get(idf, row) else {
            return rejected(idf, "missing order id", "");
        };
        let ts = match self.time(f, f.ix.created_at, row, clock) {
            Ok(t) => t,
            Err(o) => return o,
        };
        let revenue = match self.money(f, f.ix.revenue, row) {
            Ok(v) => v,
            Err(o) => return o,
        };
        self.nodes.clear();
        self.nodes.push(self.ids.intern(IdKind::OrderId, id));
        self.push_ids(
            f,
            row,
            &[
                (f.ix.client_id, IdKind::ClientId),
                (f.ix.user_id, IdKind::UserId),
                (f.ix.phone, IdKind::Phone),
                (f.ix.email, IdKind::Email),
                (f.ix.crm_customer_id, IdKind::CrmId),
            ],
        );
        let record = self.record();
        let id_sym = self.strings.intern(id);
        if let Some(status) = f.get(f.ix.status, row) {
            // A CRM writes a handful of statuses: each is folded and matched once per batch.
            let excluded = match self.statuses.get(status) {
                Some(&x) => x,
                None => {
                    let folded = value::fold(status);
                    let x = self.excluded.iter().any(|e| folded == *e || folded.starts_with(e.as_str()));
                    self.statuses.insert(status.to_string(), x);
                    x
                }
            };
            if excluded {
                self.excluded_orders.push(id_sym);
                return Outcome::Filtered(format!("status `{status}` is excluded from conversions (identifiers still link)"));
            }
        }
        self.conversions.push(Conversion { id: id_sym, ts, revenue, offline: false, record, fulfils: 0, file, line });
        Outcome::Used
    }

    fn receipt(&mut self, f: &Rows, row: usize, clock: &mut TimeParser, file: u16, line: u64) -> Outcome {
        let idf = f.ix.receipt_id;
        let Some(id) = f.get(idf, row) else {
            return rejected(idf, "missing receipt id", "");
        };
        let ts = match self.time(f, f.ix.purchased_at, row, clock) {
            Ok(t) => t,
            Err(o) => return o,
        };
        let amount = match self.money(f, f.ix.amount, row) {
            Ok(v) => v,
            Err(o) => return o,
        };
        self.nodes.clear();
        self.nodes.push(self.ids.intern(IdKind::ReceiptId, id));
        self.push_ids(
            f,
            row,
            &[
                (f.ix.loyalty_card, IdKind::LoyaltyCard),
                (f.ix.phone, IdKind::Phone),
                (f.ix.email, IdKind::Email),
                (f.ix.crm_customer_id, IdKind::CrmId),
                (f.ix.order_id, IdKind::OrderId),
            ],
        );
        let record = self.record();
        let fulfils = f.get(f.ix.order_id, row).map_or(0, |o| self.strings.intern(o));
        let id_sym = self.strings.intern(id);
        self.conversions.push(Conversion { id: id_sym, ts, revenue: amount, offline: true, record, fulfils, file, line });
        Outcome::Used
    }

    fn link(&mut self, f: &Rows, row: usize) -> Outcome {
        self.nodes.clear();
        for (fi, fk) in [(f.ix.id_a, f.ix.kind_a), (f.ix.id_b, f.ix.kind_b)] {
            let Some(kind_raw) = f.get(fk, row) else {
                return rejected(fk, "missing identifier kind", "");
            };
            let Some(kind) = IdKind::parse(kind_raw) else {
                return rejected(fk, format!("`{kind_raw}` is not an identifier kind (client_id, user_id, phone, email, loyalty_card, crm_customer_id, order_id)"), kind_raw);
            };
            let Some(raw) = f.get(fi, row) else {
                return rejected(fi, "missing identifier", "");
            };
            let Some(node) = self.node(kind, raw) else {
                return rejected(fi, format!("`{raw}` is not a valid {}", kind.name()), raw);
            };
            self.nodes.push(node);
        }
        self.record();
        Outcome::Used
    }

    fn message(&mut self, f: &Rows, row: usize, clock: &mut TimeParser, file: u16) -> Outcome {
        let ts = match self.time(f, f.ix.occurred_at, row, clock) {
            Ok(t) => t,
            Err(o) => return o,
        };
        self.nodes.clear();
        self.push_ids(
            f,
            row,
            &[
                (f.ix.client_id, IdKind::ClientId),
                (f.ix.user_id, IdKind::UserId),
                (f.ix.phone, IdKind::Phone),
                (f.ix.email, IdKind::Email),
                (f.ix.loyalty_card, IdKind::LoyaltyCard),
                (f.ix.crm_customer_id, IdKind::CrmId),
            ],
        );
        if self.nodes.is_empty() {
            return rejected(
                f.ix.client_id,
                "no usable identifier (client_id, user_id, phone, email, loyalty_card or crm_customer_id)",
                "",
            );
        }
        let explicit = f.get(f.ix.channel, row);
        let s = f.get(f.ix.utm_source, row);
        let m = f.get(f.ix.utm_medium, row);
        let c = f.get(f.ix.utm_campaign, row);
        let kind_hint = f.get(f.ix.touch_type, row);
        if explicit.is_none() && s.is_none() && m.is_none() && kind_hint.is_none() {
            self.nodes.clear();
            return rejected(f.ix.channel, "no channel, touch_type or utm tags", "");
        }
        let record = self.record();
        let source = s.map_or(0, |v| self.strings.intern(v));
        let medium = m.or(kind_hint).map_or(0, |v| self.strings.intern(v));
        let campaign = c.map_or(0, |v| self.strings.intern(v));
        let channel = match explicit {
            Some(ch) => self.strings.intern(ch),
            None => self.classifier.classify(&mut self.strings, source, medium, campaign, 0),
        };
        let tags = self.tags.intern(TouchTags { kind: TouchKind::Message, file, channel, source, medium, campaign });
        self.touches.push(Touch { ts, record, tags });
        Outcome::Used
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_a_csv_file_are_counted_from_its_start_and_scaled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("visits.csv");
        let row = "1732423623615127710;08.08.2026 03:35:46;yandex;cpc;retargeting\n";
        // Smaller than the sample: every line is counted (and one more for a last line
        // without a break).
        let text = format!("client_id;date_time;utm_source;utm_medium;utm_campaign\n{}", row.repeat(999));
        std::fs::write(&path, &text).unwrap();
        assert_eq!(csv_rows(&path, text.len() as u64), Some(1001));
        // Larger: the first stretch's rows per byte, scaled to the file.
        let text = row.repeat(100_000);
        std::fs::write(&path, &text).unwrap();
        let n = csv_rows(&path, text.len() as u64).unwrap();
        assert!((100_000..=100_100).contains(&n), "{n}");
        // A gzip file's bytes say nothing about its rows.
        std::fs::write(&path, [0x1f, 0x8b, 8, 0, 0, 0]).unwrap();
        assert_eq!(csv_rows(&path, 6), None);
        assert_eq!(csv_rows(&dir.path().join("missing.csv"), 100), None);
    }

    #[test]
    fn room_scales_the_first_part_and_adds_later_files_within_a_quarter_of_memory() {
        let gib = 1u64 << 30;
        assert_eq!(room(1000, 10.0, 0, 32, 16 * gib), 10_200);
        assert_eq!(room(1000, 10.0, 5000, 32, 16 * gib), 15_700);
        // A footer declaring a billion billion rows asks for no more than 4 GiB of 32-byte items.
        assert_eq!(room(1000, 1.0, u64::MAX / 3, 32, 16 * gib), (4 * gib / 32) as usize);
        assert_eq!(room(0, 0.0, 0, 32, 16 * gib), 0);
    }

    #[test]
    fn a_file_makes_room_for_what_the_files_after_it_add() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/tiny");
        let text = std::fs::read_to_string(dir.join("touchpath.toml")).unwrap();
        let cfg = Config::from_toml(&text, "touchpath.toml", Some(&dir), None).unwrap();
        let sizes = file_sizes(&cfg);
        let kinds: Vec<SourceKind> = cfg.sources.iter().map(|s| s.kind).collect();
        for (i, (_, later)) in sizes.iter().enumerate() {
            let rows = |of: &[SourceKind]| -> u64 {
                sizes[i + 1..].iter().zip(&kinds[i + 1..]).filter(|(_, k)| of.contains(k)).map(|((e, _), _)| e.rows).sum()
            };
            assert_eq!(later.records, rows(&kinds), "file {i}");
            assert_eq!(later.touches, rows(&[SourceKind::Visits, SourceKind::Calls, SourceKind::Touches]), "file {i}");
            assert_eq!(later.conversions, rows(&[SourceKind::Orders, SourceKind::Receipts]), "file {i}");
        }
        // The first file makes room for the orders and receipts after it.
        assert!(kinds[0] == SourceKind::Visits && sizes[0].1.conversions > 0);
        assert_eq!(sizes.last().map(|s| s.1.records), Some(0));
    }

    #[test]
    fn later_files_add_a_record_per_row_and_every_identifier_field() {
        assert_eq!(identifier_fields(SourceKind::Links), 2);
        assert_eq!(identifier_fields(SourceKind::Costs), 0);
        assert!(identifier_fields(SourceKind::Orders) >= 5, "order id, client id, user id, phone, e-mail, CRM id");
    }
}
