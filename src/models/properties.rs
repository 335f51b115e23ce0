//! Property tests over random journeys: every model's credits of a conversion sum to 1 (and to
//! its revenue), totals match, and nothing depends on the order the rows arrived in.

use proptest::prelude::*;

use super::labels::Labels;
use super::testkit::*;
use super::{registry, Target};
use crate::config::ModelParams;
use crate::paths::Journeys;
use crate::reports::{attribute, Credits, Dimension, Selection};

const CHANNELS: [&str; 6] = ["Direct", "Paid Search", "Email", "Organic Search", "Display", "Referral"];

type Raw = Vec<(Vec<(usize, i64)>, Vec<(i64, u32, bool)>)>;

fn journeys() -> impl Strategy<Value = Raw> {
    let touch = (0..CHANNELS.len(), 0i64..60 * DAY);
    let conv = (0i64..60 * DAY, 0u32..10_000, any::<bool>());
    prop::collection::vec((prop::collection::vec(touch, 0..8), prop::collection::vec(conv, 0..4)), 1..12)
}

fn build(raw: &Raw, reverse: bool) -> crate::paths::PathSet {
    build_with(raw, reverse, Journeys::All)
}

fn build_with(raw: &Raw, reverse: bool, built: Journeys) -> crate::paths::PathSet {
    let names: Vec<String> = (0..raw.len()).map(|i| format!("cust{i}")).collect();
    let mut js: Vec<Journey> = raw
        .iter()
        .zip(&names)
        .map(|((t, c), name)| {
            let mut touches: Vec<(&str, i64)> = t.iter().map(|&(ch, ts)| (CHANNELS[ch], ts)).collect();
            let mut convs: Vec<(i64, f64, bool)> = c.iter().map(|&(ts, rev, off)| (ts, rev as f64 / 100.0, off)).collect();
            if reverse {
                touches.reverse();
                convs.reverse();
            }
            journey(name, &touches, &convs)
        })
        .collect();
    if reverse {
        js.reverse();
    }
    pathset_with(&js, &config(""), built)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn credits_sum_to_one_per_conversion(raw in journeys()) {
        let set = build(&raw, false);
        let labels = Labels::build(&set, Dimension::Channel);
        for model in registry(&ModelParams::default()) {
            let fitted = model.fit(&set, &labels).unwrap();
            for path in &set.paths[..set.converting] {
                let mut out = Vec::new();
                match &fitted {
                    Some(f) => f.credit(&set, path, &mut out),
                    None => model.credit(&set, path, &mut out),
                }
                let sum: f64 = out.iter().map(|c| c.weight).sum();
                prop_assert!((sum - 1.0).abs() < 1e-9, "{} sums to {}", model.name(), sum);
                // The bound the credits table's memory check counts on.
                prop_assert!(
                    out.len() <= model.credits_at_most(path.len(), labels.names.len()),
                    "{} gave {} credits to {} touches",
                    model.name(),
                    out.len(),
                    path.len()
                );
                for c in &out {
                    // Shapley values may be negative by definition; every other model's are not.
                    prop_assert!(c.weight >= 0.0 || model.name() == "shapley", "{} gave {}", model.name(), c.weight);
                    if let Target::Touch(i) = c.target {
                        // Credit only goes to the customer's own touches, never after the purchase.
                        let t = &set.touches[i as usize];
                        prop_assert_eq!(t.customer, path.customer);
                        prop_assert!(t.ts <= set.conversion_of(path).unwrap().ts);
                    }
                }
            }
        }
    }

    #[test]
    fn totals_match_conversions_and_revenue(raw in journeys()) {
        let set = build(&raw, false);
        let models = registry(&ModelParams::default());
        let r = attribute(&set, &models, Dimension::Channel, &Selection::all(), "", None).unwrap();
        let n = set.conversions.len() as f64;
        let revenue: f64 = set.conversions.iter().map(|c| c.revenue).sum();
        for (c, rev) in &r.totals {
            prop_assert!((c - n).abs() < 1e-9);
            prop_assert!((rev - revenue).abs() < 1e-6 * revenue.max(1.0));
        }
    }

    #[test]
    fn thread_count_does_not_change_the_report_or_credits(raw in journeys()) {
        let set = build(&raw, false);
        let models = registry(&ModelParams::default());
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let mut credits = Credits::default();
            let r = pool.install(|| attribute(&set, &models, Dimension::Channel, &Selection::all(), "salt", Some(&mut credits))).unwrap();
            (r.rows, r.totals, credits)
        };
        let one = run(1);
        prop_assert!(!one.2.is_empty() || set.converting == 0);
        prop_assert_eq!(&one, &run(3));
        prop_assert_eq!(&one, &run(models.len() + 1));
    }

    /// Every model lists each value on a reported path (zeros included), and beyond them only
    /// the buckets of conversions no touch can take, or, for a model that learns from every
    /// journey, what it learned (Markov's chain credits a channel seen only on the way to no
    /// conversion when removing it lowers the conversion rate).
    #[test]
    fn every_model_lists_the_values_on_the_paths(raw in journeys()) {
        let set = build(&raw, false);
        let models = registry(&ModelParams::default());
        let r = attribute(&set, &models, Dimension::Channel, &Selection::all(), "", None).unwrap();
        let on_paths: std::collections::BTreeSet<String> =
            set.paths[..set.converting].iter().flat_map(|p| set.path_touches(p)).map(|t| Dimension::Channel.value(&set, t)).collect();
        for m in &models {
            let listed: std::collections::BTreeSet<&str> =
                r.rows.iter().filter(|row| row.model == m.name()).map(|row| row.value.as_str()).collect();
            for v in &on_paths {
                prop_assert!(listed.contains(v.as_str()), "{} has no row for {}", m.name(), v);
            }
            for v in listed {
                prop_assert!(
                    on_paths.contains(v)
                        || v == crate::channels::DIRECT
                        || v == crate::channels::OFFLINE_NO_TOUCH
                        || m.learns_from_journeys(),
                    "{} lists {}",
                    m.name(),
                    v
                );
            }
        }
    }

    #[test]
    fn input_order_does_not_change_the_report(raw in journeys()) {
        let models = registry(&ModelParams::default());
        let a = attribute(&build(&raw, false), &models, Dimension::Channel, &Selection::all(), "", None).unwrap();
        let b = attribute(&build(&raw, true), &models, Dimension::Channel, &Selection::all(), "", None).unwrap();
        prop_assert_eq!(a.rows, b.rows);
    }

    /// A run builds converting paths only unless a model learns from journeys: every other
    /// model must credit exactly as with all of them, and a model that reads them must say so
    /// (it fails rather than learn from none).
    #[test]
    fn converting_paths_alone_serve_every_model_that_does_not_learn(raw in journeys()) {
        let all = build(&raw, false);
        let conv = build_with(&raw, false, Journeys::Converting);
        prop_assert_eq!(conv.paths.len(), conv.converting);
        prop_assert_eq!(format!("{:?}", &all.paths[..all.converting]), format!("{:?}", conv.paths));
        for model in registry(&ModelParams::default()) {
            let name = model.name();
            let learns = model.learns_from_journeys();
            let one = vec![model];
            let run = |set: &crate::paths::PathSet| {
                let mut credits = Credits::default();
                attribute(set, &one, Dimension::Channel, &Selection::all(), "salt", Some(&mut credits))
                    .map(|r| (r.rows, r.totals, credits.rows().map(|c| format!("{c:?}")).collect::<Vec<_>>()))
            };
            let with_all = run(&all);
            prop_assert!(with_all.is_ok(), "{}", name);
            match run(&conv) {
                Err(_) => prop_assert!(learns, "{} failed without non-converting journeys but does not say it learns", name),
                Ok(r) => {
                    prop_assert!(!learns, "{} says it learns from journeys but ran without them", name);
                    prop_assert_eq!(r, with_all.unwrap());
                }
            }
        }
    }
}
