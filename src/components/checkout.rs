//! `Checkout`: the donate/buy form — amount, email, card — and the pay flow: tokenize at the
//! gateway, pay through the host with one idempotency key per attempt, recover from network
//! failures without ever charging twice.

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use paywidget_core::card::{format_expiry_input, Cvc, Expiry};
use paywidget_core::money::{Amount, Currency, FeeRule};

use super::{AmountPicker, CardNumberInput, TextField};
use crate::api::{self, Campaign, FetchError, NewSession, Outcome};
use crate::browser;
use crate::checkout_form::{self, Entries, Field};

/// What the form is telling the shopper.
#[derive(Clone, Debug, PartialEq)]
enum Status {
    Idle,
    Working(String),
    Problem(String),
}

/// The checkout form for one campaign (donation or licence).
#[component]
pub fn Checkout(
    /// The campaign, as `GET /api/campaigns/:id` describes it.
    campaign: Campaign,
) -> impl IntoView {
    let currency = Currency::from_code(&campaign.currency).unwrap_or(Currency::Usd);
    let donation = campaign.kind == "donation";
    let fee_rule = campaign
        .fee_coverage
        .as_ref()
        .map(|f| FeeRule::from_percent(f.percent, f.fixed));
    let (min, max) = (
        campaign.min_amount.unwrap_or(1),
        campaign.max_amount.unwrap_or(99_999_999),
    );

    let choice = RwSignal::new(checkout_form::prefill(
        browser::query("amount").as_deref(),
        &campaign.suggested_amounts,
        currency,
    ));
    let cover_fee = RwSignal::new(false);
    let amount_error = RwSignal::new(None::<String>);
    let email = RwSignal::new(String::new());
    let email_error = RwSignal::new(None::<String>);
    let name = RwSignal::new(String::new());
    let name_error = RwSignal::new(None::<String>);
    let postal = RwSignal::new(String::new());
    let postal_error = RwSignal::new(None::<String>);
    let ask_postal = campaign.collect_postal_code;
    let expiry = RwSignal::new(String::new());
    let expiry_error = RwSignal::new(None::<String>);
    let cvc = RwSignal::new(String::new());
    let cvc_error = RwSignal::new(None::<String>);
    let number_error = RwSignal::new(None::<String>);
    let submitted = RwSignal::new(false);
    let paying = RwSignal::new(false);
    let status = RwSignal::new(Status::Idle);

    let price = campaign.price;
    let base = move || -> Option<Amount> {
        if donation {
            choice.with(|c| {
                c.as_ref()
                    .and_then(|c| checkout_form::donation_amount(c, currency, min, max).ok())
            })
        } else {
            price.map(|p| Amount::from_minor(p, currency))
        }
    };
    let fee = move || base().map_or(0, |b| checkout_form::fee(fee_rule, b, cover_fee.get()));
    let total = move || base().map(|b| Amount::from_minor(b.minor() + fee(), currency));
    let pay_label = move || checkout_form::pay_label(donation, total());

    let today = browser::today();
    let check_expiry = Callback::new(move |text: String| {
        Expiry::parse_and_check(&text, today.0, today.1)
            .err()
            .map(|e| e.to_string())
    });
    let check_cvc = Callback::new(move |text: String| {
        let brand = paywidget_core::card::Brand::detect(&paywidget_core::card::digits_only(
            &browser::input_value("pw-card-number"),
        ));
        Cvc::parse(&text, brand).err().map(|e| e.to_string())
    });
    let check_name =
        Callback::new(|text: String| checkout_form::name_problem(&text).map(str::to_owned));
    let check_postal =
        Callback::new(|text: String| checkout_form::postal_problem(&text).map(str::to_owned));
    let check_email = Callback::new(|text: String| {
        (!checkout_form::email_ok(&text))
            .then(|| "Enter a valid email address, like name@example.org.".to_owned())
    });

    // In the merchant page's overlay: report readiness and height to it (allowed origins only).
    crate::embed::start(campaign.allowed_origins.clone());
    let campaign_for_submit = campaign.clone();
    let on_submit = move |e: ev::SubmitEvent| {
        e.prevent_default();
        // A second tap while paying does nothing.
        if paying.get_untracked() {
            return;
        }
        let mut errors: Vec<(Field, String)> = Vec::new();
        let amount = if donation {
            match choice.get_untracked() {
                None => Err("Choose or enter an amount.".to_owned()),
                Some(c) => checkout_form::donation_amount(&c, currency, min, max),
            }
        } else {
            Ok(Amount::from_minor(price.unwrap_or(0), currency))
        };
        if let Err(m) = &amount {
            errors.push((Field::Amount, m.clone()));
        }
        let entries = Entries {
            email: email.get_untracked(),
            name: name.get_untracked(),
            number: browser::input_value("pw-card-number"),
            expiry: expiry.get_untracked(),
            cvc: cvc.get_untracked(),
            postal: ask_postal.then(|| postal.get_untracked()),
        };
        let card = checkout_form::check(&entries, browser::today())
            .map_err(|e| errors.extend(e))
            .ok();
        submitted.set(true);
        for (field, message) in &errors {
            match field {
                Field::Amount => amount_error.set(Some(message.clone())),
                Field::Email => email_error.set(Some(message.clone())),
                Field::Name => name_error.set(Some(message.clone())),
                Field::Expiry => expiry_error.set(Some(message.clone())),
                Field::Cvc => cvc_error.set(Some(message.clone())),
                Field::Postal => postal_error.set(Some(message.clone())),
                Field::Number => {}
            }
        }
        let (Ok(amount), Some(card), None) = (amount, card, errors.first()) else {
            if let Some((field, _)) = errors.first() {
                browser::focus(field.id());
            }
            status.set(Status::Problem(
                "Please check the highlighted fields.".into(),
            ));
            return;
        };
        paying.set(true);
        status.set(Status::Working("Processing your payment…".into()));
        let campaign = campaign_for_submit.clone();
        let cover = cover_fee.get_untracked();
        spawn_local(async move {
            let result = pay_flow(&campaign, amount, cover, &entries.email, card, status).await;
            match result {
                Ok(()) => {} // navigating away
                Err(Failure::Field(field, message)) => {
                    match field {
                        Field::Number => number_error.set(Some(message.clone())),
                        Field::Expiry => expiry_error.set(Some(message.clone())),
                        Field::Postal => postal_error.set(Some(message.clone())),
                        Field::Cvc => {
                            // The CVC must be typed again; the other card fields keep their values.
                            cvc.set(String::new());
                            browser::set_input_value("pw-cvc", "");
                            cvc_error.set(Some(message.clone()));
                        }
                        _ => {}
                    }
                    status.set(Status::Problem(message));
                    browser::focus(field.id());
                    paying.set(false);
                }
                Err(Failure::Message(message)) => {
                    status.set(Status::Problem(message));
                    browser::focus("pw-card-number");
                    paying.set(false);
                }
            }
        });
    };

    let fee_text = move || match base() {
        Some(b) => {
            let f = fee_rule.map_or(0, |r| r.fee_on(b.minor()));
            format!(
                "Add {} to cover the processing fees",
                Amount::from_minor(f, currency)
            )
        }
        None => "Add the processing fees to my gift".to_owned(),
    };
    let amount_section = if donation {
        view! {
            <AmountPicker chips=campaign.suggested_amounts.clone() currency=currency choice=choice error=amount_error />
            {fee_rule.map(|_| view! {
                <div class="pw-check">
                    <input type="checkbox" id="pw-cover-fee" prop:checked=move || cover_fee.get()
                        on:change=move |e| cover_fee.set(event_target_checked(&e)) />
                    <label for="pw-cover-fee">{fee_text}</label>
                </div>
            })}
        }
        .into_any()
    } else {
        view! {
            <p class="pw-price">{campaign.title.clone()} ": " {move || total().map(|t| t.to_string()).unwrap_or_default()}</p>
        }
        .into_any()
    };
    let status_view = move || match status.get() {
        Status::Idle => view! { <span></span> }.into_any(),
        Status::Working(m) => view! { <span class="pw-working">{m}</span> }.into_any(),
        Status::Problem(m) => view! { <span class="pw-problem">{m}</span> }.into_any(),
    };

    view! {
        <form class="pw-form" novalidate on:submit=on_submit>
            <div class="pw-org">
                {campaign.logo_url.clone().map(|src| view! {
                    <img class="pw-logo" src=src alt="" width="48" height="48" />
                })}
                <p class="pw-merchant">{campaign.merchant_name.clone()}</p>
            </div>
            <h1 class="pw-title">{campaign.title.clone()}</h1>
            {amount_section}
            <TextField id="pw-email" label=if donation { "Email (for your receipt)" } else { "Email (for your licence key)" }
                kind="email" autocomplete="email"
                inputmode="email" check=check_email error=email_error value=email />
            <TextField id="pw-name" label="Name on card" autocomplete="cc-name"
                check=check_name error=name_error value=name />
            <CardNumberInput submitted=submitted external_error=number_error />
            <div class="pw-row">
                <TextField id="pw-expiry" label="Expiry (MM / YY)" autocomplete="cc-exp" inputmode="numeric"
                    placeholder="MM / YY" format=format_expiry_input check=check_expiry error=expiry_error value=expiry />
                <TextField id="pw-cvc" label="Security code" autocomplete="cc-csc" inputmode="numeric"
                    placeholder="CVC" format=cvc_digits check=check_cvc error=cvc_error value=cvc />
            </div>
            {ask_postal.then(|| view! {
                <TextField id="pw-postal" label="Billing postal code" autocomplete="postal-code"
                    check=check_postal error=postal_error value=postal />
            })}
            <p class="pw-status" id="pw-status" role="status" aria-live="polite">{status_view}</p>
            <button type="submit" class="pw-pay" id="pw-pay" aria-disabled=move || paying.get().to_string()>
                {move || if paying.get() { "Processing…".to_owned() } else { pay_label() }}
            </button>
            <p class="pw-secure">"Card details go straight to the payment processor."</p>
        </form>
    }
}

/// Digits only, at most 4.
fn cvc_digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).take(4).collect()
}

/// Why paying stopped on this page.
enum Failure {
    /// About one field (focus it).
    Field(Field, String),
    /// About the payment as a whole.
    Message(String),
}

/// Creates (or reuses) the session, tokenizes the card, pays with one idempotency key per
/// attempt — kept in sessionStorage until the attempt has a definite outcome — and moves on.
async fn pay_flow(
    campaign: &Campaign,
    amount: Amount,
    cover_fee: bool,
    email: &str,
    card: checkout_form::CardEntries,
    status: RwSignal<Status>,
) -> Result<(), Failure> {
    let session_key = format!(
        "pw-session-{}-{}-{}",
        campaign.id,
        amount.minor(),
        cover_fee
    );
    let session = match browser::stored(&session_key) {
        Some(s) => s,
        None => {
            let new = NewSession {
                campaign: campaign.id.clone(),
                amount: (campaign.kind == "donation").then_some(amount.minor()),
                cover_fee,
                email: email.trim().to_owned(),
            };
            let id = with_retries(status, || api::create_session(&new))
                .await
                .map_err(|e| match e {
                    FetchError::Api { code, message, .. } if code.starts_with("amount") => {
                        Failure::Field(Field::Amount, message)
                    }
                    FetchError::Api { message, .. } => Failure::Message(message),
                    FetchError::Network => Failure::Message(
                        "We couldn't reach the server. Check your connection and try again.".into(),
                    ),
                })?;
            browser::store(&session_key, &id);
            id
        }
    };
    // An unfinished attempt (reload, network error) is retried with its key and token, so it
    // can never become a second charge.
    let attempt_key = format!("pw-attempt-{session}");
    let (key, pm) = match browser::stored(&attempt_key)
        .and_then(|v| v.split_once('|').map(|(k, p)| (k.to_owned(), p.to_owned())))
    {
        Some(pair) => pair,
        None => {
            let pm = api::tokenize(campaign, &card, email.trim()).await.map_err(|e| match e {
                FetchError::Api { code, message, .. } => match checkout_form::decline_field(&code) {
                    Some(field) => Failure::Field(field, message),
                    None => Failure::Message(message),
                },
                FetchError::Network => Failure::Message("We couldn't reach the payment processor. Check your connection and try again.".into()),
            })?;
            let key = api::new_key();
            browser::store(&attempt_key, &format!("{key}|{pm}"));
            (key, pm)
        }
    };
    let outcome = match with_retries(status, || api::pay(&session, &pm, &key)).await {
        Ok(o) => o,
        Err(FetchError::Api { message, .. }) => {
            browser::forget(&attempt_key);
            return Err(Failure::Message(message));
        }
        Err(FetchError::Network) => resolve_by_polling(&session, status).await?,
    };
    match outcome {
        Outcome::Succeeded => {
            browser::forget(&attempt_key);
            browser::forget(&session_key);
            crate::embed::finish(&format!("/thanks/{session}"));
            Ok(())
        }
        Outcome::RequiresAction(url) => {
            status.set(Status::Working("Opening your bank's verification…".into()));
            browser::go(&url);
            Ok(())
        }
        Outcome::Declined { code, message } => {
            // Declined: the next try is a new attempt with a new key.
            browser::forget(&attempt_key);
            Err(match checkout_form::decline_field(&code) {
                Some(field) => Failure::Field(field, message),
                None => Failure::Message(message),
            })
        }
    }
}

/// Calls `f`, retrying network failures and "still in progress" answers with backoff
/// (0.5, 1, 2, 4 s) and saying so.
async fn with_retries<T, F, Fut>(status: RwSignal<Status>, f: F) -> Result<T, FetchError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, FetchError>>,
{
    let mut last = FetchError::Network;
    for attempt in 0..5 {
        if attempt > 0 {
            status.set(Status::Working(format!(
                "Connection problem — retrying ({attempt} of 4)…"
            )));
            browser::sleep(500 << (attempt - 1)).await;
        }
        match f().await {
            Ok(v) => return Ok(v),
            Err(FetchError::Api { status: 409, .. }) | Err(FetchError::Network) => {
                last = FetchError::Network
            }
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// The outcome is unknown (the network failed after sending): ask the host what happened to
/// the session instead of paying again.
async fn resolve_by_polling(session: &str, status: RwSignal<Status>) -> Result<Outcome, Failure> {
    status.set(Status::Working(
        "Checking whether your payment went through…".into(),
    ));
    for _ in 0..20 {
        if let Ok(s) = api::session(session).await {
            match s.str("status").as_deref().unwrap_or("") {
                "paid" | "fulfilled" | "processing" => return Ok(Outcome::Succeeded),
                "requires_action" => {
                    return Ok(Outcome::RequiresAction(
                        s.str("redirect_url").unwrap_or_default(),
                    ))
                }
                "declined" => {
                    let d = s.get("decline");
                    return Ok(Outcome::Declined {
                        code: d.str("code").unwrap_or_else(|| "card_declined".into()),
                        message: d
                            .str("message")
                            .unwrap_or_else(|| "Your card was declined.".into()),
                    });
                }
                _ => {}
            }
        }
        browser::sleep(1000).await;
    }
    Err(Failure::Message(
        "We couldn't reach the server to finish your payment. You have not been charged twice: press Pay again when you are back online.".into(),
    ))
}
