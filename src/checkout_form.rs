//! The checkout form's rules in plain Rust: the amount (chips, custom input, URL prefill, fee
//! coverage), field checks on submit, which field to focus, and what a decline means.

use paywidget_core::api::{CardField, DeclineCode};
use paywidget_core::bank::Iban;

use crate::i18n::{t, tf};
use paywidget_core::card::{CardNumber, Cvc, Expiry};
use paywidget_core::money::{Amount, Currency, DecimalSeparator, FeeRule, MoneyError, ParseRules};

/// A form field, in the order the page shows them (focus goes to the first invalid one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Field {
    /// The donation amount.
    Amount,
    /// Email for the receipt or licence.
    Email,
    /// Name on the card (or the account holder's).
    Name,
    /// A bank account's IBAN (SEPA Direct Debit).
    Iban,
    /// Card number.
    Number,
    /// Expiry.
    Expiry,
    /// CVC.
    Cvc,
    /// Billing postal code (when the merchant asks for it).
    Postal,
}

impl Field {
    /// The input's element id.
    pub fn id(self) -> &'static str {
        match self {
            Field::Amount => "pw-amount",
            Field::Email => "pw-email",
            Field::Name => "pw-name",
            Field::Iban => "pw-iban",
            Field::Number => "pw-card-number",
            Field::Expiry => "pw-expiry",
            Field::Cvc => "pw-cvc",
            Field::Postal => "pw-postal",
        }
    }
}

/// How the payer pays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayMethod {
    /// A card.
    Card,
    /// A bank account, by SEPA Direct Debit.
    Bank,
}

impl PayMethod {
    /// Its radio button's element id.
    pub fn id(self) -> &'static str {
        match self {
            PayMethod::Card => "pw-method-card",
            PayMethod::Bank => "pw-method-bank",
        }
    }

    /// Its chip's words (a key of the translators' files).
    pub fn label_key(self) -> &'static str {
        match self {
            PayMethod::Card => "method_card",
            PayMethod::Bank => "method_bank",
        }
    }

    /// The name field's label (a key).
    pub fn name_key(self) -> &'static str {
        match self {
            PayMethod::Card => "name_on_card",
            PayMethod::Bank => "account_holder",
        }
    }

    /// The line under the Pay button: where the details go (a key).
    pub fn secure_key(self) -> &'static str {
        match self {
            PayMethod::Card => "secure_card",
            PayMethod::Bank => "secure_bank",
        }
    }
}

/// The amount a donor chose: a suggested chip or their own figure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AmountChoice {
    /// A suggested amount, in minor units.
    Chip(i64),
    /// Text typed into the custom field.
    Custom(String),
}

/// Parses the donor's amount for `currency` within `min..=max` minor units.
pub fn donation_amount(
    choice: &AmountChoice,
    currency: Currency,
    min: i64,
    max: i64,
) -> Result<Amount, String> {
    let amount = match choice {
        AmountChoice::Chip(minor) => Amount::from_minor(*minor, currency),
        AmountChoice::Custom(text) => {
            Amount::parse(text, currency, DecimalSeparator::Dot, ParseRules::default()).map_err(
                |e: MoneyError| {
                    let (key, args) = e.key();
                    let args: Vec<(&str, &str)> =
                        args.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    tf(key, &args)
                },
            )?
        }
    };
    if amount.minor() < min {
        return Err(tf(
            "err_amount_min",
            &[("amount", &Amount::from_minor(min, currency).format_plain())],
        ));
    }
    if amount.minor() > max {
        return Err(tf(
            "err_amount_max",
            &[("amount", &Amount::from_minor(max, currency).format_plain())],
        ));
    }
    Ok(amount)
}

/// `?amount=25` (major units, as a person writes it) → the initial choice: a chip if it
/// matches one, else the custom field pre-filled.
pub fn prefill(
    query_amount: Option<&str>,
    chips: &[i64],
    currency: Currency,
) -> Option<AmountChoice> {
    let text = query_amount?.trim();
    let amount =
        Amount::parse(text, currency, DecimalSeparator::Dot, ParseRules::default()).ok()?;
    Some(if chips.contains(&amount.minor()) {
        AmountChoice::Chip(amount.minor())
    } else {
        AmountChoice::Custom(text.to_owned())
    })
}

/// The fee a donor adds when they tick "cover the fees".
pub fn fee(rule: Option<FeeRule>, amount: Amount, cover: bool) -> i64 {
    match (rule, cover) {
        (Some(r), true) => r.fee_on(amount.minor()),
        _ => 0,
    }
}

/// A plausible email: something@something.tld, no spaces (the host checks again).
pub fn email_ok(email: &str) -> bool {
    let email = email.trim();
    match email.split_once('@') {
        Some((user, domain)) => {
            !user.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.contains(' ')
        }
        None => false,
    }
}

/// What the shopper entered, as text.
#[derive(Clone, Debug, Default)]
pub struct Entries {
    /// Email for the receipt or licence.
    pub email: String,
    /// Name on the card.
    pub name: String,
    /// The card number as typed (grouped).
    pub number: String,
    /// `MM / YY` as typed.
    pub expiry: String,
    /// The security code as typed.
    pub cvc: String,
    /// `None` when the form does not ask for it.
    pub postal: Option<String>,
    /// The IBAN as typed (paying from a bank account).
    pub iban: String,
}

/// The card, checked and ready to tokenize.
#[derive(Debug)]
pub struct CardEntries {
    /// The card number (prints only its last four digits).
    pub number: CardNumber,
    /// The expiry, not in the past.
    pub expiry: Expiry,
    /// The security code, of the brand's length.
    pub cvc: Cvc,
    /// The cardholder's name, trimmed.
    pub name: String,
    /// The billing postal code, trimmed, when asked.
    pub postal: Option<String>,
}

/// A bank account, checked and ready to tokenize (SEPA Direct Debit).
#[derive(Debug)]
pub struct BankEntries {
    /// The IBAN (prints only its country and last four).
    pub iban: Iban,
    /// The account holder's name, trimmed.
    pub name: String,
}

/// The card (or bank account) as the pay flow gets it, in each capture mode.
#[derive(Debug)]
pub enum CardInput {
    /// A bank account for SEPA Direct Debit, checked.
    Bank(BankEntries),
    /// Our own fields, checked.
    Direct(CardEntries),
    /// The gateway's own fields (their contents never reach this page); `name` is the
    /// cardholder's, from our form.
    GatewayFields {
        /// The name on the card, trimmed.
        name: String,
    },
}

/// The email and name checks both modes share.
fn contact_errors(entries: &Entries, errors: &mut Vec<(Field, String)>) {
    if !email_ok(&entries.email) {
        errors.push((Field::Email, t("error_email")));
    }
    if let Some(m) = name_problem(&entries.name) {
        errors.push((Field::Name, m));
    }
}

/// Checks the contact fields and the IBAN of a payment from a bank account.
pub fn check_bank(entries: &Entries) -> Result<BankEntries, Vec<(Field, String)>> {
    let mut errors = Vec::new();
    if !email_ok(&entries.email) {
        errors.push((Field::Email, t("error_email")));
    }
    if let Some(m) = holder_problem(&entries.name) {
        errors.push((Field::Name, m));
    }
    let iban = match iban_problem(&entries.iban) {
        None => Iban::parse(&entries.iban).ok(),
        Some(m) => {
            errors.push((Field::Iban, m));
            None
        }
    };
    match iban {
        Some(iban) if errors.is_empty() => Ok(BankEntries {
            iban,
            name: entries.name.trim().to_owned(),
        }),
        _ => Err(errors),
    }
}

/// What is wrong with an account holder's name, if anything.
pub fn holder_problem(name: &str) -> Option<String> {
    match name_problem(name) {
        Some(_) if name.trim().is_empty() => Some(t("error_holder")),
        other => other,
    }
}

/// What is wrong with a typed IBAN when the payer leaves the field: a complete IBAN outside
/// the Single Euro Payments Area cannot be debited either.
pub fn iban_problem(text: &str) -> Option<String> {
    match Iban::parse(text) {
        Ok(iban) if iban.is_sepa() => None,
        Ok(_) => Some(t("err_iban_not_sepa")),
        Err(e) => Some(t(e.key())),
    }
}

/// With the gateway's own card fields, only our fields are checked here (email, name): the
/// trimmed name, or each field's message.
pub fn check_contact(entries: &Entries) -> Result<String, Vec<(Field, String)>> {
    let mut errors = Vec::new();
    contact_errors(entries, &mut errors);
    if errors.is_empty() {
        Ok(entries.name.trim().to_owned())
    } else {
        Err(errors)
    }
}

/// Checks every card and contact field on submit; returns the card or each field's message,
/// in page order.
pub fn check(entries: &Entries, today: (u16, u8)) -> Result<CardEntries, Vec<(Field, String)>> {
    let mut errors = Vec::new();
    contact_errors(entries, &mut errors);
    let number = CardNumber::parse(&entries.number)
        .map_err(|e| errors.push((Field::Number, t(e.key()))))
        .ok();
    let expiry = Expiry::parse_and_check(&entries.expiry, today.0, today.1)
        .map_err(|e| {
            let msg = t(e.key());
            errors.push((Field::Expiry, msg))
        })
        .ok();
    let cvc = Cvc::parse(&entries.cvc, number.as_ref().and_then(CardNumber::brand))
        .map_err(|e| errors.push((Field::Cvc, t(e.key()))))
        .ok();
    if let Some(m) = entries.postal.as_deref().and_then(postal_problem) {
        errors.push((Field::Postal, m));
    }
    match (number, expiry, cvc) {
        (Some(number), Some(expiry), Some(cvc)) if errors.is_empty() => Ok(CardEntries {
            number,
            expiry,
            cvc,
            name: entries.name.trim().to_owned(),
            // ASCII only (postcodes are): Unicode's case tables would weigh on the form.
            postal: entries
                .postal
                .as_deref()
                .map(|p| p.trim().to_ascii_uppercase()),
        }),
        _ => Err(errors),
    }
}

/// What is wrong with the name on the card, if anything.
pub fn name_problem(name: &str) -> Option<String> {
    let name = name.trim();
    if name.is_empty() {
        Some(t("error_name"))
    } else if name.chars().count() > 100 {
        Some(t("err_name_long"))
    } else {
        None
    }
}

/// What is wrong with a postal code, if anything: 2–10 letters, digits, spaces or hyphens
/// (formats differ by country; the gateway checks it against the card).
pub fn postal_problem(code: &str) -> Option<String> {
    let code = code.trim();
    if code.is_empty() {
        Some(t("err_postal_empty"))
    } else if code.len() < 2
        || code.len() > 10
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
    {
        Some(t("err_postal_format"))
    } else {
        None
    }
}

/// Which field a decline is about (focus goes there), and whether the CVC must be re-entered.
/// The mapping itself is the contract's ([`DeclineCode::field`]).
pub fn decline_field(code: &str) -> Option<Field> {
    DeclineCode::parse(code).field().map(|f| match f {
        CardField::Number => Field::Number,
        CardField::Expiry => Field::Expiry,
        CardField::Cvc => Field::Cvc,
        CardField::Postal => Field::Postal,
        CardField::Iban => Field::Iban,
    })
}

/// The monthly gift offered instead of a one-time `gift`: a third of it rounded up to a whole
/// unit of its currency (50.00 → 17.00), at least `min` and at most the gift itself.
pub fn monthly_suggestion(gift: Amount, min: i64) -> Amount {
    let unit = 10_i64.pow(u32::from(gift.currency().minor_units()));
    let third = (gift.minor() + 2) / 3;
    let rounded = (third + unit - 1) / unit * unit;
    Amount::from_minor(rounded.max(min).min(gift.minor()), gift.currency())
}

/// The update-card page's first words: what could not be charged, a gift or a licence.
pub fn update_card_intro(data: &paywidget_core::api::UpdateCardView) -> String {
    let what = match data.campaign.kind {
        paywidget_core::api::CampaignKind::Donation => format!(
            "Your gift of {} {} to {}",
            data.display_amount,
            data.frequency.every(),
            data.campaign.merchant_name
        ),
        paywidget_core::api::CampaignKind::License => format!(
            "Your {} subscription ({} {}) from {}",
            data.campaign.title,
            data.display_amount,
            data.frequency.every(),
            data.campaign.merchant_name
        ),
    };
    format!(
        "{what} could not be charged. Your new card is charged at once for this period, then for the next ones."
    )
}

// The words beside and on the Pay button live in core: the host quotes them, exactly, as the
// terms a payer accepted (a dispute's evidence), and its first view of the form shows them.
pub use paywidget_core::api::wording::{frequency_label, pay_label, recurring_terms};

#[cfg(test)]
mod tests {
    use super::*;
    use paywidget_core::api::Frequency;

    #[test]
    fn the_update_card_page_names_a_gift_or_a_licence() {
        use paywidget_core::api::{CampaignKind, CampaignView, CardCapture, UpdateCardView};
        let campaign = |kind| CampaignView {
            id: "c".into(),
            kind,
            title: "Acme Team".into(),
            merchant_name: "Hope".into(),
            currency: Currency::Usd,
            suggested_amounts: vec![],
            min_amount: None,
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
            currencies: vec![],
        };
        let view = |kind| UpdateCardView {
            campaign: campaign(kind),
            session: "cs_1".into(),
            amount: 1000,
            display_amount: "10.00 USD".into(),
            frequency: Frequency::Monthly,
        };
        assert!(update_card_intro(&view(CampaignKind::Donation))
            .starts_with("Your gift of 10.00 USD every month to Hope could not be charged."));
        let licence = update_card_intro(&view(CampaignKind::License));
        assert!(
            licence.starts_with("Your Acme Team subscription (10.00 USD every month) from Hope"),
            "{licence}"
        );
        assert!(!licence.contains("gift"));
    }

    #[test]
    fn a_monthly_suggestion_is_a_rounded_third_within_bounds() {
        let usd = Currency::Usd;
        let m = |gift, min| monthly_suggestion(Amount::from_minor(gift, usd), min).minor();
        assert_eq!(m(5000, 500), 1700);
        assert_eq!(m(2000, 500), 700);
        assert_eq!(m(3000, 500), 1000);
        // Never below the campaign's minimum, never above the gift.
        assert_eq!(m(1000, 500), 500);
        assert_eq!(m(600, 700), 600);
        // Currencies without minor units round to a whole unit too.
        let jpy = monthly_suggestion(Amount::from_minor(5000, Currency::Jpy), 100);
        assert_eq!(jpy.minor(), 1667);
    }

    #[test]
    fn amounts_from_chips_custom_and_prefill() {
        let usd = Currency::Usd;
        assert_eq!(
            donation_amount(&AmountChoice::Chip(2500), usd, 500, 100_000)
                .unwrap()
                .minor(),
            2500
        );
        assert_eq!(
            donation_amount(&AmountChoice::Custom("12.5".into()), usd, 500, 100_000)
                .unwrap()
                .minor(),
            1250
        );
        assert!(
            donation_amount(&AmountChoice::Custom("2".into()), usd, 500, 100_000)
                .unwrap_err()
                .contains("5.00")
        );
        assert!(
            donation_amount(&AmountChoice::Custom("".into()), usd, 500, 100_000)
                .unwrap_err()
                .contains("amount")
        );
        assert!(donation_amount(&AmountChoice::Custom("1.234".into()), usd, 1, 100_000).is_err());
        assert_eq!(
            prefill(Some("25"), &[1000, 2500], usd),
            Some(AmountChoice::Chip(2500))
        );
        assert_eq!(
            prefill(Some("30"), &[1000, 2500], usd),
            Some(AmountChoice::Custom("30".into()))
        );
        assert_eq!(prefill(Some("abc"), &[1000], usd), None);
    }

    #[test]
    fn fee_only_when_ticked() {
        let rule = Some(FeeRule::from_percent(2.9, 30));
        let a = Amount::from_minor(2500, Currency::Usd);
        assert_eq!(fee(rule, a, true), 103);
        assert_eq!(fee(rule, a, false), 0);
        assert_eq!(fee(None, a, true), 0);
    }

    #[test]
    fn submit_checks_every_field_in_order() {
        let e = check(&Entries::default(), (2026, 11)).unwrap_err();
        let fields: Vec<Field> = e.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            fields,
            [
                Field::Email,
                Field::Name,
                Field::Number,
                Field::Expiry,
                Field::Cvc
            ]
        );
        let asked = Entries {
            postal: Some(String::new()),
            ..Entries::default()
        };
        assert_eq!(
            check(&asked, (2026, 11)).unwrap_err().last().unwrap().0,
            Field::Postal
        );
        let ok = Entries {
            email: "a@b.org".into(),
            name: " Ada Lovelace ".into(),
            number: "4242 4242 4242 4242".into(),
            expiry: "12 / 30".into(),
            cvc: "123".into(),
            postal: Some(" sw1a 1aa".into()),
            iban: String::new(),
        };
        let card = check(&ok, (2026, 11)).unwrap();
        assert_eq!(card.number.last4(), "4242");
        assert_eq!(card.name, "Ada Lovelace");
        assert_eq!(card.postal.as_deref(), Some("SW1A 1AA"));
        assert_eq!(
            postal_problem("9").as_deref(),
            Some("Enter a postal code like 94103 or SW1A 1AA.")
        );
        assert_eq!(
            postal_problem("94103<").as_deref(),
            Some("Enter a postal code like 94103 or SW1A 1AA.")
        );
        assert_eq!(postal_problem("94103"), None);
        let amex_short_cvc = Entries {
            number: "378282246310005".into(),
            ..ok.clone()
        };
        assert_eq!(
            check(&amex_short_cvc, (2026, 11)).unwrap_err()[0].0,
            Field::Cvc
        );
        let expired = Entries {
            expiry: "10 / 26".into(),
            ..ok
        };
        assert_eq!(check(&expired, (2026, 11)).unwrap_err()[0].0, Field::Expiry);
    }

    #[test]
    fn a_bank_payment_checks_email_holder_and_a_sepa_iban_only() {
        let empty = check_bank(&Entries::default()).unwrap_err();
        let fields: Vec<Field> = empty.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, vec![Field::Email, Field::Name, Field::Iban]);
        assert_eq!(empty[1].1, "Enter the account holder's name.");
        assert_eq!(empty[2].1, "Enter your IBAN.");
        let ok = Entries {
            email: "jenny@example.org".into(),
            name: " Jenny Rosen ".into(),
            // A card number left in the hidden card fields is not looked at.
            number: "4242".into(),
            iban: "de89 3704 0044 0532 0130 00".into(),
            ..Entries::default()
        };
        let bank = check_bank(&ok).unwrap();
        assert_eq!(bank.name, "Jenny Rosen");
        assert_eq!(bank.iban.to_string(), "DE •••• 3000");
        let typo = Entries {
            iban: "DE89 3704 0044 0532 0130 01".into(),
            ..ok
        };
        assert_eq!(
            check_bank(&typo).unwrap_err(),
            vec![(
                Field::Iban,
                "Your IBAN is invalid. Check it for a typo.".into()
            )]
        );
        // A valid IBAN outside SEPA (Brazil) cannot be debited.
        assert_eq!(
            iban_problem("BR1800360305000010009795493C1"),
            Some(DeclineCode::InvalidIban.message().to_owned())
        );
        assert_eq!(iban_problem("AT61 1904 3002 3457 3201"), None);
        assert_eq!(
            decline_field("invalid_bank_account_iban"),
            Some(Field::Iban)
        );
    }

    #[test]
    fn with_the_gateways_fields_only_email_and_name_are_checked_here() {
        let entries = Entries {
            email: "ada@example.org".into(),
            name: "  Ada Lovelace ".into(),
            number: String::new(),
            expiry: String::new(),
            cvc: String::new(),
            postal: None,
            iban: String::new(),
        };
        assert_eq!(check_contact(&entries), Ok("Ada Lovelace".into()));
        let bad = Entries {
            email: "nope".into(),
            name: String::new(),
            ..entries
        };
        let fields: Vec<Field> = check_contact(&bad)
            .unwrap_err()
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(fields, [Field::Email, Field::Name]);
    }

    #[test]
    fn declines_point_at_a_field() {
        assert_eq!(decline_field("incorrect_cvc"), Some(Field::Cvc));
        assert_eq!(decline_field("expired_card"), Some(Field::Expiry));
        assert_eq!(decline_field("insufficient_funds"), None);
        assert_eq!(decline_field("incorrect_zip"), Some(Field::Postal));
        assert!(email_ok("a@b.org") && !email_ok("a@b") && !email_ok("a b@c.org"));
        assert_eq!(
            pay_label(
                true,
                Some(Amount::from_minor(2500, Currency::Usd)),
                Frequency::OneTime
            ),
            "Donate 25.00 USD"
        );
        let t = Some(Amount::from_minor(2500, Currency::Usd));
        assert_eq!(
            pay_label(true, t, Frequency::Monthly),
            "Donate 25.00 USD monthly"
        );
        assert_eq!(
            recurring_terms(Frequency::Monthly, t).as_deref(),
            Some("25.00 USD every month, starting today. Cancel any time.")
        );
        assert_eq!(recurring_terms(Frequency::OneTime, t), None);
    }
}
