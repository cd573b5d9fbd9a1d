//! A merchant's way of writing time and money: its time zone (IANA names, the database bundled
//! into the binary) and its locale. The dashboard's days, ranges and dates and its money go
//! through here; the database, the CSV exports and the APIs stay in UTC and minor units.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use paywidget_core::money::{Amount, Locale};

/// A time zone and, when chosen, a locale. Without a locale, dates are ISO (`2026-12-07`) and
/// money is `12.50 USD`: unambiguous for any reader.
#[derive(Clone, Debug)]
pub struct Local {
    tz: TimeZone,
    zone: String,
    locale: Option<Locale>,
}

impl PartialEq for Local {
    fn eq(&self, other: &Local) -> bool {
        self.zone == other.zone && self.locale == other.locale
    }
}

impl Eq for Local {}

impl Default for Local {
    fn default() -> Local {
        Local::utc()
    }
}

/// Days since 1970-01-01 of a civil date.
fn day_number(date: Date) -> i64 {
    date.to_zoned(TimeZone::UTC)
        .map(|z| z.timestamp().as_second().div_euclid(86_400))
        .unwrap_or(0)
}

/// The civil date of day number `day`.
fn date_of(day: i64) -> Date {
    Timestamp::from_second(day.saturating_mul(86_400))
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned(TimeZone::UTC)
        .date()
}

impl Local {
    /// UTC, no locale.
    pub fn utc() -> Local {
        Local {
            tz: TimeZone::UTC,
            zone: "UTC".into(),
            locale: None,
        }
    }

    /// `zone` (an IANA name such as `Europe/Berlin`, or `UTC`) and `locale`; an unknown zone
    /// is refused with a message naming it.
    pub fn new(zone: &str, locale: Option<Locale>) -> Result<Local, String> {
        let zone = zone.trim();
        let tz = TimeZone::get(zone).map_err(|_| {
            format!("{zone:?} is not a time zone (an IANA name such as \"Europe/Berlin\")")
        })?;
        Ok(Local {
            tz,
            zone: zone.to_owned(),
            locale,
        })
    }

    /// The zone's name (`UTC`, `America/New_York`).
    pub fn zone(&self) -> &str {
        &self.zone
    }

    /// The locale, if one was chosen.
    pub fn locale(&self) -> Option<Locale> {
        self.locale
    }

    fn zoned(&self, t: i64) -> jiff::Zoned {
        Timestamp::from_second(t)
            .unwrap_or(Timestamp::UNIX_EPOCH)
            .to_zoned(self.tz.clone())
    }

    /// The local calendar day (days since 1970-01-01) holding moment `t`.
    pub fn day(&self, t: i64) -> i64 {
        day_number(self.zoned(t).date())
    }

    /// The first second of local day `day` (its midnight, or the first moment after a gap
    /// where a zone's clocks skip midnight).
    pub fn day_start(&self, day: i64) -> i64 {
        date_of(day)
            .to_zoned(self.tz.clone())
            .and_then(|z| z.start_of_day())
            .map(|z| z.timestamp().as_second())
            .unwrap_or(day.saturating_mul(86_400))
    }

    /// `YYYY-MM-DD` → its local day number; None if it is not a date (or before 1970).
    pub fn parse_day(&self, text: &str) -> Option<i64> {
        let text = text.trim();
        if text.len() != 10 {
            return None;
        }
        let date: Date = text.parse().ok()?;
        (date.year() >= 1970).then(|| day_number(date))
    }

    /// The first second of the local calendar month holding `t`, and of the month before.
    pub fn month_starts(&self, t: i64) -> (i64, i64) {
        let first = self.zoned(t).date().first_of_month();
        let before = first
            .checked_sub(jiff::Span::new().months(1))
            .unwrap_or(first);
        (
            self.day_start(day_number(first)),
            self.day_start(day_number(before)),
        )
    }

    /// The local date of `t` as `YYYY-MM-DD` (for `<time datetime>` and date inputs).
    pub fn iso_date(&self, t: i64) -> String {
        self.zoned(t).date().to_string()
    }

    /// The local date of day number `day` as the locale writes it.
    pub fn day_text(&self, day: i64) -> String {
        let d = date_of(day);
        let (y, m, dd) = (d.year(), d.month(), d.day());
        match self.locale {
            None | Some(Locale::EnCa | Locale::SvSe) => format!("{y:04}-{m:02}-{dd:02}"),
            Some(Locale::EnUs) => format!("{m}/{dd}/{y}"),
            Some(Locale::DeDe) => format!("{dd:02}.{m:02}.{y}"),
            Some(Locale::NlNl) => format!("{dd:02}-{m:02}-{y}"),
            Some(Locale::JaJp) => format!("{y}/{m:02}/{dd:02}"),
            Some(Locale::EsEs) => format!("{dd}/{m}/{y}"),
            Some(Locale::EnGb | Locale::EnAu | Locale::FrFr | Locale::ItIt | Locale::PtBr) => {
                format!("{dd:02}/{m:02}/{y}")
            }
        }
    }

    /// The local date of `t` as the locale writes it.
    pub fn date(&self, t: i64) -> String {
        self.day_text(self.day(t))
    }

    /// The local date and time of `t` (to the minute): `2026-12-07 15:05` without a locale,
    /// `12/7/2026 3:05 PM` in en-US, `07.12.2026 15:05` in de-DE. Pages name the zone
    /// ([`Local::zone`]) in the column's heading or after the time.
    pub fn when(&self, t: i64) -> String {
        let z = self.zoned(t);
        let (h, min) = (z.hour(), z.minute());
        let time = match self.locale {
            Some(Locale::EnUs | Locale::EnCa | Locale::EnAu) => {
                let half = if h < 12 { "AM" } else { "PM" };
                let h12 = if h % 12 == 0 { 12 } else { h % 12 };
                format!("{h12}:{min:02}\u{a0}{half}")
            }
            _ => format!("{h:02}:{min:02}"),
        };
        format!("{} {time}", self.date(t))
    }

    /// `amount` as the locale writes it (`12.50 USD` without one).
    pub fn money(&self, amount: Amount) -> String {
        match self.locale {
            Some(l) => l.format(amount),
            None => amount.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paywidget_core::money::Currency;

    /// 2026-03-08 07:30 UTC: 03:30 in New York, after its clocks went forward at 02:00.
    const SPRING: i64 = 1_772_955_000;

    #[test]
    fn utc_without_locale_is_iso() {
        let l = Local::utc();
        assert_eq!(l.when(1_796_601_600 + 3_660), "2026-12-07 01:01");
        assert_eq!(l.date(1_796_601_600), "2026-12-07");
        assert_eq!(
            l.money(Amount::from_minor(1250, Currency::Usd)),
            "12.50 USD"
        );
        assert_eq!(
            l.parse_day("2026-12-07").map(|d| l.day_start(d)),
            Some(1_796_601_600)
        );
        assert_eq!(l.parse_day("2026-02-30"), None);
        assert_eq!(l.parse_day("1969-12-31"), None);
        assert_eq!(l.parse_day("tomorrow"), None);
    }

    #[test]
    fn days_follow_the_zone_and_its_daylight_saving() {
        let ny = Local::new("America/New_York", Some(Locale::EnUs)).unwrap();
        // Late evening in New York is already the next day in UTC.
        let evening = 1_796_601_600 + 3 * 3600; // 2026-12-07 03:00 UTC = 12-06 22:00 EST
        assert_eq!(ny.date(evening), "12/6/2026");
        assert_eq!(ny.when(evening), "12/6/2026 10:00\u{a0}PM");
        let day = ny.parse_day("2026-12-06").unwrap();
        assert_eq!(ny.day(evening), day);
        assert_eq!(ny.day_start(day), 1_796_533_200); // 05:00 UTC
                                                      // The spring-forward day has 23 hours.
        let spring = ny.day(SPRING);
        assert_eq!(ny.day_start(spring + 1) - ny.day_start(spring), 23 * 3600);
        assert_eq!(ny.when(SPRING), "3/8/2026 3:30\u{a0}AM");
        // Months start at local midnight.
        let (this, last) = ny.month_starts(evening);
        assert_eq!(ny.date(this), "12/1/2026");
        assert_eq!(ny.date(last), "11/1/2026");
        assert_eq!(ny.when(this), "12/1/2026 12:00\u{a0}AM");
    }

    #[test]
    fn locales_write_dates_and_money_their_way() {
        let berlin = Local::new("Europe/Berlin", Some(Locale::DeDe)).unwrap();
        assert_eq!(berlin.when(1_796_601_600), "07.12.2026 01:00");
        assert_eq!(
            berlin
                .money(Amount::from_minor(123_456, Currency::Eur))
                .replace('\u{a0}', " "),
            "1.234,56 €"
        );
        let kolkata = Local::new("Asia/Kolkata", None).unwrap();
        assert_eq!(kolkata.when(1_796_601_600), "2026-12-07 05:30");
    }

    #[test]
    fn unknown_zones_are_refused_by_name() {
        let e = Local::new("Mars/Olympus_Mons", None).unwrap_err();
        assert!(e.contains("Mars/Olympus_Mons"), "{e}");
    }
}
