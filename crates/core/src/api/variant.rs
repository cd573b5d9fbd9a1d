//! Which build of the checkout form a campaign is served: the host chooses the smallest one that
//! has what the campaign needs, and the form checks it got one (a campaign changed between the
//! page and its data asks for a reload instead of failing half-way).

use super::{CampaignKind, CampaignView, CardCapture, Frequency};

/// A build of the checkout form. Each has everything the one before it has (the order is the
/// `Ord`): a one-time donor with our own card fields downloads the least.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FormVariant {
    /// One-time donations with our own card fields.
    Once,
    /// Donations with frequencies, the recurring terms or the "Make it monthly?" prompt.
    Recurring,
    /// Licences: a fixed price or subscription tiers.
    Licence,
    /// Everything, including the gateway's own card fields (Stripe's Payment Element).
    Full,
}

impl FormVariant {
    /// Every variant, smallest first.
    pub const ALL: [FormVariant; 4] = [
        FormVariant::Once,
        FormVariant::Recurring,
        FormVariant::Licence,
        FormVariant::Full,
    ];

    /// Its name, as reports and logs say it.
    pub fn name(self) -> &'static str {
        match self {
            FormVariant::Once => "once",
            FormVariant::Recurring => "recurring",
            FormVariant::Licence => "licence",
            FormVariant::Full => "full",
        }
    }

    /// The build's page in the widget's `dist/`: the full form is the plain `index.html`.
    pub fn page(self) -> &'static str {
        match self {
            FormVariant::Once => "form-once.html",
            FormVariant::Recurring => "form-recurring.html",
            FormVariant::Licence => "form-licence.html",
            FormVariant::Full => "index.html",
        }
    }

    /// The widget's cargo features that make this build (none: the one-time form).
    pub fn features(self) -> &'static str {
        match self {
            FormVariant::Once => "",
            FormVariant::Recurring => "recurring",
            FormVariant::Licence => "licence",
            FormVariant::Full => "gateway-fields",
        }
    }

    /// The smallest variant that can show `campaign`.
    pub fn for_campaign(campaign: &CampaignView) -> FormVariant {
        if campaign.card_capture == CardCapture::GatewayFields {
            FormVariant::Full
        } else if campaign.kind == CampaignKind::License {
            FormVariant::Licence
        } else if campaign.monthly_prompt
            // Bank debits (the IBAN field, its countries and the mandate) ride with the
            // recurring build, so the one-time card form stays the lightest.
            || campaign.sepa_debit
            // So does the currency selector, with its region table.
            || !campaign.currencies.is_empty()
            || campaign
                .frequencies
                .iter()
                .any(|f| *f != Frequency::OneTime)
        {
            FormVariant::Recurring
        } else {
            FormVariant::Once
        }
    }

    /// Whether this build can show `campaign`.
    pub fn covers(self, campaign: &CampaignView) -> bool {
        self >= FormVariant::for_campaign(campaign)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::TierView;
    use crate::money::Currency;

    fn campaign() -> CampaignView {
        CampaignView {
            id: "c".into(),
            kind: CampaignKind::Donation,
            title: "t".into(),
            merchant_name: "m".into(),
            currency: Currency::from_code("USD").unwrap(),
            suggested_amounts: vec![1000],
            min_amount: None,
            max_amount: None,
            price: None,
            fee_coverage: None,
            gateway_url: "http://127.0.0.1:1".into(),
            card_capture: CardCapture::Direct,
            gateway_js_url: None,
            publishable_key: "pk_test_x".into(),
            logo_url: None,
            collect_postal_code: false,
            allowed_origins: vec![],
            frequencies: vec![],
            tiers: vec![],
            monthly_prompt: false,
            sepa_debit: false,
            currencies: vec![],
        }
    }

    #[test]
    fn each_campaign_gets_the_smallest_build_that_has_what_it_needs() {
        let once = campaign();
        assert_eq!(FormVariant::for_campaign(&once), FormVariant::Once);
        let only_one_time = CampaignView {
            frequencies: vec![Frequency::OneTime],
            ..campaign()
        };
        assert_eq!(FormVariant::for_campaign(&only_one_time), FormVariant::Once);
        // A single recurring frequency shows no picker but still needs the recurring terms.
        let monthly_only = CampaignView {
            frequencies: vec![Frequency::Monthly],
            ..campaign()
        };
        assert_eq!(
            FormVariant::for_campaign(&monthly_only),
            FormVariant::Recurring
        );
        let prompt = CampaignView {
            monthly_prompt: true,
            ..campaign()
        };
        assert_eq!(FormVariant::for_campaign(&prompt), FormVariant::Recurring);
        let sepa = CampaignView {
            sepa_debit: true,
            ..campaign()
        };
        assert_eq!(FormVariant::for_campaign(&sepa), FormVariant::Recurring);
        let licence = CampaignView {
            kind: CampaignKind::License,
            price: Some(4900),
            ..campaign()
        };
        assert_eq!(FormVariant::for_campaign(&licence), FormVariant::Licence);
        let tiers = CampaignView {
            kind: CampaignKind::License,
            tiers: vec![TierView {
                id: "pro".into(),
                name: "Pro".into(),
                seats: 3,
                monthly: Some(900),
                yearly: None,
            }],
            frequencies: vec![Frequency::Monthly, Frequency::Yearly],
            ..campaign()
        };
        assert_eq!(FormVariant::for_campaign(&tiers), FormVariant::Licence);
        let stripe = CampaignView {
            card_capture: CardCapture::GatewayFields,
            ..campaign()
        };
        assert_eq!(FormVariant::for_campaign(&stripe), FormVariant::Full);
    }

    #[test]
    fn a_build_covers_its_own_campaigns_and_every_smaller_one_only() {
        let prompt = CampaignView {
            monthly_prompt: true,
            ..campaign()
        };
        assert!(!FormVariant::Once.covers(&prompt));
        for v in [
            FormVariant::Recurring,
            FormVariant::Licence,
            FormVariant::Full,
        ] {
            assert!(v.covers(&prompt), "{v:?}");
        }
        assert!(FormVariant::Full.covers(&campaign()));
        let names: Vec<&str> = FormVariant::ALL.iter().map(|v| v.name()).collect();
        assert_eq!(names, ["once", "recurring", "licence", "full"]);
    }
}
