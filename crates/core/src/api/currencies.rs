//! A campaign in several currencies: each further currency carries its own amounts in its own
//! minor units (never converted), and one rule — shared by the host's first view and the page —
//! chooses the donor's currency: an explicit `?currency=`, else the region of their languages,
//! else the campaign's own.

use super::{CampaignView, FeeCoverage};
use crate::money::Currency;

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

/// A further currency a campaign takes, with its amounts in that currency's minor units
/// (JPY has none, KWD three).
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct CurrencyOption {
    /// The currency.
    pub currency: Currency,
    /// Donation: suggested amounts (minor units).
    pub suggested_amounts: Vec<i64>,
    /// Donation: smallest amount (minor units).
    pub min_amount: Option<i64>,
    /// Donation: largest amount (minor units).
    pub max_amount: Option<i64>,
    /// Licence: the price (minor units).
    pub price: Option<i64>,
    /// Fee coverage in this currency (its fixed part in these minor units).
    pub fee_coverage: Option<FeeCoverage>,
}

impl CampaignView {
    /// Every currency the campaign takes, its own first.
    pub fn offered_currencies(&self) -> impl Iterator<Item = Currency> + '_ {
        std::iter::once(self.currency).chain(self.currencies.iter().map(|o| o.currency))
    }

    /// The campaign as a donor paying in `currency` sees it (its amounts in that currency;
    /// the campaign's own currency becomes one of the others), or `None` when it does not
    /// take `currency`.
    pub fn in_currency(&self, currency: Currency) -> Option<CampaignView> {
        if currency == self.currency {
            return Some(self.clone());
        }
        let o = self.currencies.iter().find(|o| o.currency == currency)?;
        let own = CurrencyOption {
            currency: self.currency,
            suggested_amounts: self.suggested_amounts.clone(),
            min_amount: self.min_amount,
            max_amount: self.max_amount,
            price: self.price,
            fee_coverage: self.fee_coverage,
        };
        let others = std::iter::once(own)
            .chain(
                self.currencies
                    .iter()
                    .filter(|x| x.currency != currency)
                    .cloned(),
            )
            .collect();
        Some(CampaignView {
            currency,
            suggested_amounts: o.suggested_amounts.clone(),
            min_amount: o.min_amount,
            max_amount: o.max_amount,
            price: o.price,
            fee_coverage: o.fee_coverage,
            currencies: others,
            ..self.clone()
        })
    }

    /// The donor's currency: `requested` (`?currency=gbp`, `data-currency`) when the campaign
    /// takes it, else the first of `languages` (`navigator.languages`, `Accept-Language`:
    /// `ja-JP`, `en-GB`) whose region's currency it takes, else its own.
    pub fn choose_currency<'a>(
        &self,
        requested: Option<&str>,
        languages: impl IntoIterator<Item = &'a str>,
    ) -> Currency {
        let takes = |c: Currency| self.offered_currencies().any(|o| o == c);
        if let Some(c) = requested
            .and_then(|r| Currency::from_code(r.trim()).ok())
            .filter(|c| takes(*c))
        {
            return c;
        }
        languages
            .into_iter()
            .filter_map(region_of)
            .filter_map(currency_of_region)
            .find(|c| takes(*c))
            .unwrap_or(self.currency)
    }
}

/// The region of a language tag (`en-GB` → `GB`, `zh-Hant-TW` → `TW`; `de` → none).
fn region_of(tag: &str) -> Option<String> {
    tag.split(['-', '_'])
        .skip(1)
        .find(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_alphabetic()))
        .map(str::to_ascii_uppercase)
}

/// The currency of a region (ISO 3166 alpha-2), for the currencies this checkout knows.
pub fn currency_of_region(region: String) -> Option<Currency> {
    const EURO: &[&str] = &[
        "AD", "AT", "BE", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR", "IE", "IT", "LT", "LU",
        "LV", "MC", "ME", "MT", "NL", "PT", "SI", "SK", "SM", "VA", "XK",
    ];
    if EURO.contains(&region.as_str()) {
        return Some(Currency::Eur);
    }
    // Region and currency, five letters each (`USUSD`): a table of data, not a match of code
    // (it rides in the form's wasm).
    const OTHERS: &str = "USUSDECUSDSVUSDPRUSDPAUSDGBGBPGGGBPJEGBPIMGBPJPJPYCNCNYAUAUDCACADCHCHFLICHFHKHKDSGSGDSESEKKRKRWNONOKNZNZDININRMXMXNTWTWDZAZARBRBRLDKDKKPLPLNTHTHBILILSIDIDRCZCZKAEAEDTRTRYHUHUFCLCLPSASARPHPHPMYMYRCOCOPRORONPEPENARARSEGEGPNGNGNPKPKRKEKESQAQARBHBHDJOJODKWKWD";
    let code = (0..OTHERS.len() / 5)
        .map(|i| &OTHERS[i * 5..i * 5 + 5])
        .find(|e| e[..2] == *region)?;
    Currency::from_code(&code[2..]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{CampaignKind, CardCapture};

    fn campaign() -> CampaignView {
        CampaignView {
            id: "c".into(),
            kind: CampaignKind::Donation,
            title: "t".into(),
            merchant_name: "m".into(),
            currency: Currency::Usd,
            suggested_amounts: vec![1000, 2500],
            min_amount: Some(500),
            max_amount: None,
            price: None,
            fee_coverage: None,
            gateway_url: String::new(),
            card_capture: CardCapture::Direct,
            gateway_js_url: None,
            publishable_key: String::new(),
            logo_url: None,
            collect_postal_code: false,
            allowed_origins: vec![],
            frequencies: vec![],
            tiers: vec![],
            monthly_prompt: false,
            sepa_debit: false,
            currencies: vec![
                CurrencyOption {
                    currency: Currency::Jpy,
                    suggested_amounts: vec![1000, 3000, 5000],
                    min_amount: Some(500),
                    max_amount: Some(1_000_000),
                    price: None,
                    fee_coverage: None,
                },
                CurrencyOption {
                    currency: Currency::Gbp,
                    suggested_amounts: vec![1000, 2000],
                    min_amount: Some(300),
                    max_amount: None,
                    price: None,
                    fee_coverage: None,
                },
            ],
        }
    }

    #[test]
    fn the_donor_gets_their_request_then_their_region_then_the_campaigns_own() {
        let c = campaign();
        let pick =
            |req: Option<&str>, langs: &[&str]| c.choose_currency(req, langs.iter().copied());
        assert_eq!(
            pick(Some("gbp"), &["ja-JP"]),
            Currency::Gbp,
            "the request wins"
        );
        assert_eq!(pick(Some(" GBP "), &[]), Currency::Gbp);
        assert_eq!(
            pick(Some("eur"), &["ja-JP"]),
            Currency::Jpy,
            "not taken: the region"
        );
        assert_eq!(pick(Some("nonsense"), &[]), Currency::Usd);
        assert_eq!(pick(None, &["ja-JP", "en-US"]), Currency::Jpy);
        assert_eq!(
            pick(None, &["ja", "en-GB"]),
            Currency::Gbp,
            "a bare language has no region"
        );
        assert_eq!(
            pick(None, &["de-DE", "fr-FR"]),
            Currency::Usd,
            "euros are not taken"
        );
        assert_eq!(pick(None, &["zh-Hant-TW", "en_gb"]), Currency::Gbp);
        assert_eq!(pick(None, &[]), Currency::Usd);
    }

    #[test]
    fn a_currency_brings_its_own_amounts_and_only_offered_ones_exist() {
        let c = campaign();
        let yen = c.in_currency(Currency::Jpy).unwrap();
        assert_eq!(yen.currency, Currency::Jpy);
        assert_eq!(yen.suggested_amounts, vec![1000, 3000, 5000]);
        assert_eq!(yen.max_amount, Some(1_000_000));
        assert_eq!(yen.id, "c");
        assert_eq!(c.in_currency(Currency::Usd).unwrap(), c);
        assert!(c.in_currency(Currency::Eur).is_none());
        // Seen in yen, the campaign still takes the same three, and back in dollars it is itself.
        let mut seen: Vec<Currency> = yen.offered_currencies().collect();
        seen.sort_by_key(|c| c.code());
        assert_eq!(seen, vec![Currency::Gbp, Currency::Jpy, Currency::Usd]);
        assert_eq!(
            yen.in_currency(Currency::Usd).unwrap().suggested_amounts,
            vec![1000, 2500]
        );
        assert_eq!(
            yen.in_currency(Currency::Usd).unwrap().min_amount,
            Some(500)
        );
        let all: Vec<Currency> = c.offered_currencies().collect();
        assert_eq!(all, vec![Currency::Usd, Currency::Jpy, Currency::Gbp]);
    }

    #[test]
    fn every_mapped_region_names_a_known_currency() {
        for r in [
            "DE", "US", "GB", "JP", "KW", "BH", "CH", "BR", "PL", "SE", "IL", "SA",
        ] {
            assert!(currency_of_region(r.to_owned()).is_some(), "{r}");
        }
        assert_eq!(currency_of_region("ZZ".to_owned()), None);
    }
}
