//! Channel grouping: turns a touch's source, medium, campaign and referrer into a channel name by
//! ordered rules (first match wins), with defaults modelled on the standard default channel
//! grouping and extended for the Russian market (Yandex, VK, Telegram, Mail.ru).

use anyhow::{anyhow, Result};
use regex::Regex;
use rustc_hash::FxHashMap;

use crate::config::ChannelRuleSpec;
use crate::intern::{Interner, Sym};

pub const DIRECT: &str = "Direct";
pub const OTHER: &str = "(other)";
pub const CALL_UNTRACKED: &str = "Call (untracked)";
pub const OFFLINE_NO_TOUCH: &str = "(offline, no online touch)";

pub const SOURCE_DIRECT: &str = "(direct)";
pub const MEDIUM_NONE: &str = "(none)";

const SEARCH: &str = r"^(yandex|ya|google|bing|go\.mail|mail\.ru|rambler|nova\.rambler|duckduckgo|yahoo|search\.yahoo|baidu|ecosia|sputnik|yandex\.com\.tr)(\.[a-z]{2,3}(\.[a-z]{2})?)?$";
const SOCIAL: &str = r"^(vk|vkontakte|vk\.com|m\.vk\.com|away\.vk\.com|ok|ok\.ru|odnoklassniki|facebook|fb|facebook\.com|m\.facebook\.com|l\.facebook\.com|instagram|ig|instagram\.com|l\.instagram\.com|telegram|telegram\.org|t\.me|tg|youtube|youtube\.com|m\.youtube\.com|dzen|dzen\.ru|zen\.yandex\.ru|twitter|twitter\.com|x\.com|t\.co|tiktok|tiktok\.com|linkedin|linkedin\.com|pinterest|pinterest\.com|my\.mail\.ru|rutube|rutube\.ru|vc\.ru|pikabu|pikabu\.ru|habr|habr\.com)$";
const PAID: &str = r"^(.*cp.*|ppc|retargeting|paid.*|target|targeting|ads?)$";
const WEBMAIL: &str = r"^(e\.mail\.ru|mail\.yandex\.[a-z]+|mail\.google\.com|outlook\.live\.com|mail\.rambler\.ru)$";

/// The built-in rules, in order. Public so that `touchpath channels` and the docs can show them.
pub fn default_rules() -> Vec<ChannelRuleSpec> {
    let r = |channel: &str, source: Option<&str>, medium: Option<&str>, referrer: Option<&str>| ChannelRuleSpec {
        channel: channel.to_string(),
        source: source.map(str::to_string),
        medium: medium.map(str::to_string),
        campaign: None,
        referrer: referrer.map(str::to_string),
    };
    vec![
        r(DIRECT, Some(r"^(\(direct\)|direct)$"), Some(r"^(\(none\)|none|direct|)$"), None),
        r("Email", None, Some(r"^(e[-_ ]?mail|newsletter|рассылка|mailing)$"), None),
        r("Email", Some(r"^(e[-_ ]?mail|newsletter|рассылка|mailing|sendsay|unisender|mindbox|esputnik)$"), None, None),
        r("Email", None, None, Some(WEBMAIL)),
        r("Affiliates", None, Some(r"^(affiliates?|partners?|cpa|admitad)$"), None),
        r("Paid Social", Some(SOCIAL), Some(PAID), None),
        r("Paid Search", Some(SEARCH), Some(PAID), None),
        r("Display", None, Some(r"^(display|banner|expandable|interstitial|cpm|cpv|video|rsya|rsa|media)$"), None),
        r("Paid Search", None, Some(r"^(cpc|ppc|paid[-_ ]?search|paidsearch|search)$"), None),
        r("Organic Social", Some(SOCIAL), None, None),
        r("Organic Social", None, Some(r"^(social|social[-_ ]network|social[-_ ]media|sm|smm)$"), None),
        r("Organic Search", Some(SEARCH), None, None),
        r("Organic Search", None, Some(r"^organic$"), None),
        r("Referral", None, Some(r"^(referral|app|link)$"), None),
    ]
}

#[derive(Clone)]
struct Rule {
    channel: String,
    source: Option<Regex>,
    medium: Option<Regex>,
    campaign: Option<Regex>,
    referrer: Option<Regex>,
    /// Where the rule came from, for `channels --explain`.
    origin: String,
}

/// What a touch says about its origin, after landing-page and referrer inference.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tags {
    pub source: String,
    pub medium: String,
    pub campaign: String,
    /// Host of an external referrer, empty when none.
    pub referrer: String,
}

/// Compiled channel rules with a cache, since exports repeat the same tags millions of times.
#[derive(Clone)]
pub struct Classifier {
    rules: Vec<Rule>,
    site_domains: Vec<String>,
    cache: FxHashMap<(Sym, Sym, Sym, Sym), Sym>,
    search: Regex,
    social: Regex,
}

fn compile(pattern: &Option<String>, what: &str, idx: usize, origin: &str) -> Result<Option<Regex>> {
    pattern
        .as_ref()
        .map(|p| {
            Regex::new(&format!("(?i){p}"))
                .map_err(|e| anyhow!("{origin} rule {idx}: `{what}` pattern `{p}` is not a valid regular expression: {e}"))
        })
        .transpose()
}

impl Classifier {
    pub fn new(custom: &[ChannelRuleSpec], use_defaults: bool, site_domains: &[String]) -> Result<Classifier> {
        let mut rules = Vec::new();
        let defaults = if use_defaults { default_rules() } else { Vec::new() };
        for (origin, list) in [("config", custom), ("default", &defaults[..])] {
            for (i, spec) in list.iter().enumerate() {
                rules.push(Rule {
                    channel: spec.channel.clone(),
                    source: compile(&spec.source, "source", i + 1, origin)?,
                    medium: compile(&spec.medium, "medium", i + 1, origin)?,
                    campaign: compile(&spec.campaign, "campaign", i + 1, origin)?,
                    referrer: compile(&spec.referrer, "referrer", i + 1, origin)?,
                    origin: format!("{origin} rule {}", i + 1),
                });
            }
        }
        Ok(Classifier {
            rules,
            site_domains: site_domains.iter().map(|d| d.trim().trim_start_matches("www.").to_lowercase()).collect(),
            cache: FxHashMap::default(),
            search: Regex::new(SEARCH)?,
            social: Regex::new(SOCIAL)?,
        })
    }

    /// Whether a referrer host is the site itself (internal navigation is no traffic source).
    pub fn is_internal(&self, host: &str, landing_host: Option<&str>) -> bool {
        landing_host == Some(host)
            || self.site_domains.iter().any(|d| {
                host == d || (host.len() > d.len() && host.ends_with(d.as_str()) && host.as_bytes()[host.len() - d.len() - 1] == b'.')
            })
    }

    /// Every rule in the order they are tried: origin, channel, and the source, medium,
    /// campaign and referrer patterns (empty: any value).
    pub fn rules(&self) -> Vec<[String; 6]> {
        let pat = |r: &Option<Regex>| r.as_ref().map(|r| r.as_str().trim_start_matches("(?i)").to_string()).unwrap_or_default();
        self.rules
            .iter()
            .map(|r| [r.origin.clone(), r.channel.clone(), pat(&r.source), pat(&r.medium), pat(&r.campaign), pat(&r.referrer)])
            .collect()
    }

    /// The first matching rule's index and channel, `(other)` when none matches.
    pub fn explain(&self, t: &Tags) -> (Option<&str>, &str) {
        let hit = |re: &Option<Regex>, v: &str| re.as_ref().is_none_or(|r| r.is_match(v));
        for rule in &self.rules {
            if hit(&rule.source, &t.source)
                && hit(&rule.medium, &t.medium)
                && hit(&rule.campaign, &t.campaign)
                && hit(&rule.referrer, &t.referrer)
            {
                return (Some(&rule.origin), &rule.channel);
            }
        }
        (None, OTHER)
    }

    /// The channel of interned tags, interning the channel name.
    pub fn classify(&mut self, strings: &mut Interner, source: Sym, medium: Sym, campaign: Sym, referrer: Sym) -> Sym {
        let key = (source, medium, campaign, referrer);
        if let Some(&c) = self.cache.get(&key) {
            return c;
        }
        let tags = Tags {
            source: strings.resolve(source).to_string(),
            medium: strings.resolve(medium).to_string(),
            campaign: strings.resolve(campaign).to_string(),
            referrer: strings.resolve(referrer).to_string(),
        };
        let channel = self.explain(&tags).1.to_string();
        let sym = strings.intern(&channel);
        self.cache.insert(key, sym);
        sym
    }
}

impl Classifier {
    /// Source and medium implied by a referrer host when a visit carries no tags.
    pub fn referrer_source(&self, host: &str) -> (String, &'static str) {
        let engine = |h: &str| -> Option<&'static str> {
            let first = h.split('.').next().unwrap_or(h);
            match first {
                "yandex" | "ya" => Some("yandex"),
                "google" => Some("google"),
                "bing" => Some("bing"),
                "duckduckgo" => Some("duckduckgo"),
                "yahoo" => Some("yahoo"),
                "rambler" | "nova" => Some("rambler"),
                _ if h == "go.mail.ru" => Some("mail.ru"),
                _ => None,
            }
        };
        if self.search.is_match(host) {
            if let Some(e) = engine(host) {
                return (e.to_string(), "organic");
            }
            return (host.to_string(), "organic");
        }
        if self.social.is_match(host) {
            return (host.to_string(), "social");
        }
        (host.to_string(), "referral")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(c: &Classifier, s: &str, m: &str, r: &str) -> String {
        let t = Tags { source: s.into(), medium: m.into(), campaign: String::new(), referrer: r.into() };
        c.explain(&t).1.to_string()
    }

    #[test]
    fn internal_referrers() {
        let c = Classifier::new(&[], true, &["shop.ru".to_string()]).unwrap();
        assert!(c.is_internal("shop.ru", None));
        assert!(c.is_internal("m.shop.ru", None));
        assert!(!c.is_internal("myshop.ru", None));
        assert!(!c.is_internal("shop.ru.evil.com", None));
        assert!(c.is_internal("other.com", Some("other.com")));
    }

    #[test]
    fn default_grouping() {
        let c = Classifier::new(&[], true, &[]).unwrap();
        assert_eq!(ch(&c, "(direct)", "(none)", ""), "Direct");
        assert_eq!(ch(&c, "yandex", "cpc", ""), "Paid Search");
        assert_eq!(ch(&c, "google", "cpc", ""), "Paid Search");
        assert_eq!(ch(&c, "yandex", "organic", ""), "Organic Search");
        assert_eq!(ch(&c, "vk", "cpc", ""), "Paid Social");
        assert_eq!(ch(&c, "vk", "target", ""), "Paid Social");
        assert_eq!(ch(&c, "telegram", "cpm", ""), "Paid Social");
        assert_eq!(ch(&c, "t.me", "social", "t.me"), "Organic Social");
        assert_eq!(ch(&c, "newsletter", "email", ""), "Email");
        assert_eq!(ch(&c, "admitad", "cpa", ""), "Affiliates");
        assert_eq!(ch(&c, "rsya", "display", ""), "Display");
        assert_eq!(ch(&c, "someblog.ru", "referral", "someblog.ru"), "Referral");
        assert_eq!(ch(&c, "weird", "thing", ""), "(other)");
        assert_eq!(ch(&c, "mail.yandex.ru", "referral", "mail.yandex.ru"), "Email");
    }

    #[test]
    fn custom_rules_come_first() {
        let custom = vec![ChannelRuleSpec {
            channel: "Brand Search".into(),
            source: Some("^yandex$".into()),
            medium: Some("^cpc$".into()),
            campaign: None,
            referrer: None,
        }];
        let c = Classifier::new(&custom, true, &[]).unwrap();
        assert_eq!(ch(&c, "yandex", "cpc", ""), "Brand Search");
        assert_eq!(ch(&c, "google", "cpc", ""), "Paid Search");
        let bad = vec![ChannelRuleSpec { channel: "X".into(), source: Some("(".into()), medium: None, campaign: None, referrer: None }];
        assert!(Classifier::new(&bad, true, &[]).is_err());
    }

    #[test]
    fn referrers() {
        let c = Classifier::new(&[], true, &[]).unwrap();
        assert_eq!(c.referrer_source("yandex.ru"), ("yandex".to_string(), "organic"));
        assert_eq!(c.referrer_source("google.com"), ("google".to_string(), "organic"));
        assert_eq!(c.referrer_source("vk.com"), ("vk.com".to_string(), "social"));
        assert_eq!(c.referrer_source("blog.example.com"), ("blog.example.com".to_string(), "referral"));
    }
}
