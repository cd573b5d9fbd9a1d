//! What the host answers, built from the config and stored rows into the shared wire contract
//! (`paywidget_core::api`). Pure functions: the handlers serialize what these return, and the
//! contract test decodes it with the page's decoder.

use base64::Engine;
use ed25519_dalek::VerifyingKey;
use paywidget_core::api::{
    CampaignView, CardCapture, DeclineCode, DeclineView, LicenceView, PublicKeyView, ReceiptView,
    SessionStatus, SessionView,
};

use crate::config::{url_text, HostConfig};
use crate::store::{FulfilmentRow, SessionRow};
use crate::support::markdown;

/// `GET /api/campaigns/:id`: `None` if the campaign or its merchant is unknown.
pub fn campaign_view(config: &HostConfig, id: &str) -> Option<CampaignView> {
    let c = config.campaign(id)?;
    let m = config.merchant(&c.merchant)?;
    Some(CampaignView {
        id: c.id.clone(),
        kind: c.kind,
        title: c.title.clone(),
        merchant_name: m.name.clone(),
        currency: c.currency,
        suggested_amounts: c.suggested_amounts.clone(),
        min_amount: c.min_amount,
        max_amount: c.max_amount,
        price: c.price,
        fee_coverage: c.fee_coverage,
        gateway_url: url_text(&m.gateway_url).to_owned(),
        publishable_key: m.publishable_key.clone(),
        card_capture: m.card_capture,
        gateway_js_url: (m.card_capture == CardCapture::GatewayFields)
            .then(|| m.gateway_js_url.as_str().to_owned()),
        logo_url: c.logo_url.as_ref().map(|l| l.as_str().to_owned()),
        collect_postal_code: m.collect_postal_code,
        allowed_origins: m
            .allowed_origins
            .iter()
            .map(|o| o.as_str().to_owned())
            .collect(),
        frequencies: c.frequencies.clone(),
        monthly_prompt: c.monthly_prompt,
        sepa_debit: c.sepa_debit,
        currencies: c.currencies.clone(),
        tiers: c
            .tiers
            .iter()
            .map(|t| paywidget_core::api::TierView {
                id: t.id.clone(),
                name: t.name.clone(),
                seats: t.seats,
                monthly: t.monthly,
                yearly: t.yearly,
            })
            .collect(),
    })
}

/// `GET /api/sessions/:id`: the session, and once fulfilled its receipt or licence.
pub fn session_view(
    config: &HostConfig,
    s: &SessionRow,
    fulfilment: Option<&FulfilmentRow>,
) -> SessionView {
    let mut view = SessionView {
        id: s.id.clone(),
        frequency: s.frequency,
        status: s.status,
        amount: s.amount,
        fee: s.fee,
        total: s.total(),
        currency: s.currency,
        kind: s.kind,
        decline: None,
        redirect_url: None,
        confirmed_at: None,
        emailed_to: None,
        license: None,
        receipt: None,
        success_url: None,
        merchant_name: None,
    };
    if s.status == SessionStatus::Declined {
        // A decline recorded without its code (an older row) shows as the generic one.
        let code = s.decline_code.clone().unwrap_or(DeclineCode::CardDeclined);
        view.decline = Some(DeclineView {
            message: s
                .decline_message
                .clone()
                .unwrap_or_else(|| code.message().to_owned()),
            code,
        });
    }
    if s.status == SessionStatus::RequiresAction {
        view.redirect_url = s.redirect_url.clone();
    }
    let Some(f) = fulfilment else {
        return view;
    };
    let campaign = config.campaign(&s.campaign);
    let merchant = config.merchant(&s.merchant);
    // When it was confirmed, and where the email went (masked: the page only reminds).
    view.confirmed_at = Some(f.created);
    view.emailed_to = s.email.as_deref().map(mask_email);
    if let Some(key) = &f.license_key {
        view.license = Some(LicenceView {
            key: key.clone(),
            revoked: f.revoked,
            instructions_html: campaign
                .map(|c| {
                    c.instructions
                        .iter()
                        .map(|(k, v)| (k.clone(), markdown::render(v)))
                        .collect()
                })
                .unwrap_or_default(),
        });
    }
    if let Some(number) = &f.receipt_number {
        view.receipt = Some(ReceiptView {
            number: number.clone(),
            org_name: merchant
                .map(|m| m.receipt_org_name.clone().unwrap_or_else(|| m.name.clone())),
            tax_statement: merchant.and_then(|m| m.tax_statement.clone()),
            text: campaign.and_then(|c| c.receipt_text.clone()),
            refunded: f.revoked,
            refunded_minor: s.amount_refunded,
        });
    }
    if let Some(url) = campaign.and_then(|c| c.success_url.as_ref()) {
        view.success_url = Some(url_text(url).to_owned());
        view.merchant_name = merchant.map(|m| m.name.clone());
    }
    view
}

/// `GET /api/licenses/public-key`.
pub fn public_key_view(key: &VerifyingKey) -> PublicKeyView {
    let public = key.to_bytes();
    PublicKeyView {
        algorithm: "Ed25519".into(),
        public_key_hex: hex::encode(public),
        public_key_base64: base64::engine::general_purpose::STANDARD.encode(public),
    }
}

/// `donor@example.org` → `d•••@example.org` (anything unreadable → `•••`).
pub fn mask_email(email: &str) -> String {
    match crate::mail::EmailAddress::parse(email) {
        Ok(a) => a.masked(),
        Err(_) => "•••".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::mask_email;

    #[test]
    fn emails_are_masked() {
        assert_eq!(mask_email("donor@example.org"), "d•••@example.org");
        assert_eq!(mask_email("nonsense"), "•••");
    }
}
