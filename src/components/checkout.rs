//! `Checkout`: the donate/buy form — amount, email, card. Paying is [`crate::pay_flow`]'s job;
//! this component only wires the form's signals to it.

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use paywidget_core::card::{format_expiry_input, Cvc, Expiry};
use paywidget_core::money::{Amount, Currency, FeeRule};

use super::{
    AmountPicker, CardNumberInput, CurrencyPicker, FrequencyPicker, MethodPicker, MonthlyPrompt,
    TextField, TierPicker,
};
use paywidget_core::api::{CampaignKind, CampaignView, CardCapture};

use crate::api::BrowserApi;
use crate::browser;
use crate::checkout_form::{self, AmountChoice, CardInput, Entries, Field, PayMethod};
use crate::gateway_fields;
use crate::i18n::{t, tf};
use crate::pay_flow::{Failure, Next, Order, PayFlow};
use crate::variant::{GATEWAY_FIELDS, LICENCE, RECURRING, SEPA};
use paywidget_core::api::wording::{pay_label_in, recurring_terms_in};
use paywidget_core::api::Frequency;

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
    /// The campaign, as `GET /api/campaigns/:id` describes it (in the donor's currency).
    campaign: CampaignView,
    /// A campaign in several currencies: the chosen one and every one offered, for the
    /// selector (the page draws the form again in a new currency).
    #[prop(optional)]
    currency_choice: Option<(Currency, Vec<Currency>)>,
) -> impl IntoView {
    let currency: Currency = campaign.currency;
    let donation = campaign.kind == CampaignKind::Donation;
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
    let offered = campaign.frequencies.clone();
    let frequency = RwSignal::new(offered.first().copied().unwrap_or_default());
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
    // The gateway's own card fields (Stripe mode): loading → ready, or why they cannot load.
    let gateway_mode = GATEWAY_FIELDS && campaign.card_capture == CardCapture::GatewayFields;
    let fields_state = RwSignal::new(Some(t("loading_fields")));
    // Card or bank account (SEPA Direct Debit): offered for a euro campaign that takes it.
    let offer_bank = SEPA && campaign.sepa_debit && !gateway_mode && currency.code() == "EUR";
    let method = RwSignal::new(PayMethod::Card);
    // `SEPA` (a constant) is tested inside each closure: a closure's captured `offer_bank` is
    // data the compiler cannot see through, so without it the once build would carry the
    // IBAN's rules and the bank tokenizing it can never run.
    let paying_by_bank = move || SEPA && offer_bank && method.get() == PayMethod::Bank;
    let iban = RwSignal::new(String::new());
    let iban_error = RwSignal::new(None::<String>);

    // A licence sold in tiers: the chosen plan and period decide the price.
    let tiers = StoredValue::new(campaign.tiers.clone());
    let has_tiers = LICENCE && !campaign.tiers.is_empty();
    let tier = RwSignal::new(
        campaign
            .tiers
            .first()
            .map(|t| t.id.clone())
            .unwrap_or_default(),
    );
    let fixed_price = campaign.price;
    let price = move || -> Option<i64> {
        if !LICENCE {
            return None;
        }
        if !has_tiers {
            return fixed_price;
        }
        let f = frequency.get();
        tier.with(|id| {
            tiers.with_value(|ts| ts.iter().find(|t| &t.id == id).and_then(|t| t.price(f)))
        })
    };
    let base = move || -> Option<Amount> {
        if donation || !LICENCE {
            choice.with(|c| {
                c.as_ref()
                    .and_then(|c| checkout_form::donation_amount(c, currency, min, max).ok())
            })
        } else {
            price().map(|p| Amount::from_minor(p, currency))
        }
    };
    let fee = move || base().map_or(0, |b| checkout_form::fee(fee_rule, b, cover_fee.get()));
    let total = move || base().map(|b| Amount::from_minor(b.minor() + fee(), currency));
    let pay_label = move || pay_label_in(&t, donation, total(), frequency.get());
    let terms = move || {
        RECURRING
            .then(|| recurring_terms_in(&t, frequency.get(), total()))
            .flatten()
    };

    if gateway_mode {
        let script = campaign.gateway_js_url.clone().unwrap_or_default();
        let key = campaign.publishable_key.clone();
        let code = currency.code().to_ascii_lowercase();
        let first = total().map_or(0, |t| t.minor());
        spawn_local(async move {
            let problem = gateway_fields::mount(&script, &key, first, &code, FIELDS_ID).await;
            fields_state.set(problem);
        });
        // The fields follow the total (chips, custom amount, fee coverage) and the frequency.
        Effect::new(move |_| {
            let minor = total().map_or(0, |t| t.minor());
            let recurring = frequency.get().interval().is_some();
            if fields_state.with(Option::is_none) {
                gateway_fields::update(minor, recurring);
            }
        });
    }
    let focus_card = move || {
        if SEPA && offer_bank && method.get_untracked() == PayMethod::Bank {
            browser::focus("pw-iban");
        } else if gateway_mode {
            gateway_fields::focus();
        } else {
            browser::focus("pw-card-number");
        }
    };

    let today = browser::today();
    let check_expiry = Callback::new(move |text: String| {
        Expiry::parse_and_check(&text, today.0, today.1)
            .err()
            .map(|e| t(e.key()))
    });
    let check_cvc = Callback::new(move |text: String| {
        let brand = paywidget_core::card::Brand::detect(&paywidget_core::card::digits_only(
            &browser::input_value("pw-card-number"),
        ));
        Cvc::parse(&text, brand).err().map(|e| t(e.key()))
    });
    let check_name = Callback::new(move |text: String| {
        if SEPA && offer_bank && method.get_untracked() == PayMethod::Bank {
            checkout_form::holder_problem(&text)
        } else {
            checkout_form::name_problem(&text)
        }
    });
    // Only builds with bank debits carry the IBAN's rules (its country table).
    let check_iban = Callback::new(|text: String| {
        if SEPA {
            checkout_form::iban_problem(&text)
        } else {
            None
        }
    });
    let check_postal = Callback::new(|text: String| checkout_form::postal_problem(&text));
    let check_email = Callback::new(|text: String| {
        (!checkout_form::email_ok(&text)).then(|| t("error_email_like"))
    });

    // In the merchant page's overlay: report readiness and height to it (allowed origins only).
    crate::embed::start(campaign.allowed_origins.clone());
    // Shared with every pay attempt (and the prompt's answers) without copying it.
    let campaign_for_submit = StoredValue::new(campaign.clone());
    // "Make it monthly?": asked once, before the first one-time gift is paid.
    let ask_monthly = RECURRING && campaign.monthly_prompt && donation;
    let prompt = RwSignal::new(None::<(Amount, Amount)>);
    let prompted = RwSignal::new(false);
    let pay = move || {
        // A second tap while paying does nothing.
        if paying.get_untracked() {
            return;
        }
        let mut errors: Vec<(Field, String)> = Vec::new();
        let amount = if donation || !LICENCE {
            match choice.get_untracked() {
                None => Err(t("error_amount")),
                Some(c) => checkout_form::donation_amount(&c, currency, min, max),
            }
        } else {
            price()
                .map(|p| Amount::from_minor(p, currency))
                .ok_or_else(|| t("err_plan_period"))
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
            iban: iban.get_untracked(),
        };
        let card = if SEPA && offer_bank && method.get_untracked() == PayMethod::Bank {
            checkout_form::check_bank(&entries)
                .map_err(|e| errors.extend(e))
                .ok()
                .map(CardInput::Bank)
        } else if gateway_mode {
            // The card itself is checked inside the gateway's frame when tokenizing.
            checkout_form::check_contact(&entries)
                .map_err(|e| errors.extend(e))
                .ok()
                .map(|name| CardInput::GatewayFields { name })
        } else {
            checkout_form::check(&entries, browser::today())
                .map_err(|e| errors.extend(e))
                .ok()
                .map(CardInput::Direct)
        };
        submitted.set(true);
        for (field, message) in &errors {
            match field {
                Field::Amount => amount_error.set(Some(message.clone())),
                Field::Email => email_error.set(Some(message.clone())),
                Field::Name => name_error.set(Some(message.clone())),
                Field::Expiry => expiry_error.set(Some(message.clone())),
                Field::Cvc => cvc_error.set(Some(message.clone())),
                Field::Postal => postal_error.set(Some(message.clone())),
                Field::Iban => iban_error.set(Some(message.clone())),
                Field::Number => {}
            }
        }
        let (Ok(amount), Some(card), None) = (amount, card, errors.first()) else {
            if let Some((field, _)) = errors.first() {
                browser::focus(field.id());
            }
            status.set(Status::Problem(t("check_fields")));
            return;
        };
        if ask_monthly
            && !prompted.get_untracked()
            && frequency.get_untracked() == Frequency::OneTime
        {
            prompted.set(true);
            prompt.set(Some((
                amount,
                checkout_form::monthly_suggestion(amount, min),
            )));
            status.set(Status::Idle);
            browser::focus("pw-prompt-monthly");
            return;
        }
        paying.set(true);
        let order = Order {
            campaign: campaign_for_submit.with_value(|c| c.id.clone()),
            donation,
            amount,
            cover_fee: cover_fee.get_untracked(),
            email: entries.email.trim().to_owned(),
            frequency: frequency.get_untracked(),
            tier: has_tiers.then(|| tier.get_untracked()),
        };
        let flow = PayFlow {
            api: BrowserApi {
                campaign: Some(std::rc::Rc::new(campaign_for_submit.get_value())),
            },
            storage: browser::SessionStore,
            sleeper: browser::Timers,
        };
        spawn_local(async move {
            let report =
                |p: crate::pay_flow::Progress| status.set(Status::Working(progress_text(&p)));
            match flow.pay(&order, &card, &report).await {
                Ok(Next::Confirmation(session)) => {
                    // A language asked of the form (`?locale=`) is asked of the confirmation too;
                    // otherwise the browser's own languages choose it there as here.
                    let locale = browser::query("locale")
                        .and_then(|l| paywidget_core::lang::Lang::parse(&l))
                        .map(|l| ["?locale=", l.tag()].concat())
                        .unwrap_or_default();
                    crate::embed::finish(&format!("/thanks/{session}{locale}"));
                }
                Ok(Next::Verify(url)) => browser::go(&url),
                Ok(Next::NextAction {
                    client_secret,
                    session,
                }) => {
                    // The gateway's script shows the bank's page over this one; whatever it
                    // answers, the host asks the gateway how it went.
                    if GATEWAY_FIELDS {
                        let _ = gateway_fields::next_action(&client_secret).await;
                    }
                    browser::go(&format!("/checkout/return?session={session}"));
                }
                Err(Failure::Field(
                    Field::Number | Field::Expiry | Field::Cvc | Field::Postal,
                    message,
                )) if gateway_mode => {
                    // About the card: the gateway's frame shows which field.
                    status.set(Status::Problem(message));
                    gateway_fields::focus();
                    paying.set(false);
                }
                Err(Failure::Field(field, message)) => {
                    match field {
                        Field::Number => number_error.set(Some(message.clone())),
                        Field::Expiry => expiry_error.set(Some(message.clone())),
                        Field::Postal => postal_error.set(Some(message.clone())),
                        Field::Amount => amount_error.set(Some(message.clone())),
                        Field::Iban => iban_error.set(Some(message.clone())),
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
                    focus_card();
                    paying.set(false);
                }
            }
        });
    };
    let on_submit = move |e: ev::SubmitEvent| {
        e.prevent_default();
        pay();
    };
    let answer = Callback::new(move |monthly: bool| {
        if let (true, Some((_, gift))) = (monthly, prompt.get_untracked()) {
            frequency.set(Frequency::Monthly);
            choice.set(Some(AmountChoice::Custom(gift.format_plain())));
        }
        prompt.set(None);
        browser::focus("pw-pay");
        pay();
    });

    let fee_text = move || match base() {
        Some(b) => {
            let f = fee_rule.map_or(0, |r| r.fee_on(b.minor()));
            tf(
                "cover_fee",
                &[("fee", &Amount::from_minor(f, currency).to_string())],
            )
        }
        None => t("cover_fee_plain"),
    };
    let amount_section = if donation || !LICENCE {
        view! {
            {(RECURRING && offered.len() > 1).then(|| view! { <FrequencyPicker offered=offered.clone() chosen=frequency /> })}
            {currency_choice.clone().filter(|_| RECURRING).map(|(chosen, offered)| view! { <CurrencyPicker offered=offered chosen=chosen /> })}
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
            {currency_choice.clone().map(|(chosen, offered)| view! { <CurrencyPicker offered=offered chosen=chosen /> })}
            {(!campaign.tiers.is_empty()).then(|| view! { <TierPicker tiers=campaign.tiers.clone() chosen=tier /> })}
            {(offered.len() > 1).then(|| view! { <FrequencyPicker offered=offered.clone() chosen=frequency /> })}
            <p class="pw-price">{move || tf("total", &[("amount", &total().map(|t| t.to_string()).unwrap_or_default())])}</p>
        }
        .into_any()
    };
    let status_view = move || match status.get() {
        Status::Idle => view! { <span></span> }.into_any(),
        Status::Working(m) => view! { <span class="pw-working">{m}</span> }.into_any(),
        Status::Problem(m) => view! { <span class="pw-problem">{m}</span> }.into_any(),
    };

    let card_fields = move || {
        if gateway_mode {
            view! {
                <div class="pw-gateway-fields" id=FIELDS_ID></div>
                {move || fields_state.get().map(|m| view! { <p class="pw-fields-state" role="status">{m}</p> })}
            }
            .into_any()
        } else {
            view! {
                <CardNumberInput label=t("card_number") submitted=submitted external_error=number_error />
                <div class="pw-row">
                    <TextField id="pw-expiry" label=t("expiry") autocomplete="cc-exp" inputmode="numeric"
                        placeholder="MM / YY" format=format_expiry_input check=check_expiry error=expiry_error value=expiry />
                    <TextField id="pw-cvc" label=t("cvc") autocomplete="cc-csc" inputmode="numeric"
                        placeholder="CVC" format=cvc_digits check=check_cvc error=cvc_error value=cvc />
                </div>
                {ask_postal.then(|| view! {
                    <TextField id="pw-postal" label=t("postal") autocomplete="postal-code"
                        check=check_postal error=postal_error value=postal />
                })}
            }
            .into_any()
        }
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
            <TextField id="pw-email" label=t(if donation { "email_receipt" } else { "email_licence" })
                kind="email" autocomplete="email"
                inputmode="email" check=check_email error=email_error value=email />
            {if offer_bank {
                // Card or bank account: the name's label follows the choice, and both sets of
                // fields stay in the page (what was typed survives a change of mind); the
                // hidden one is neither seen, focused nor read.
                view! {
                    <MethodPicker chosen=method />
                    {move || view! {
                        <TextField id="pw-name" label=t(method.get().name_key()) autocomplete="cc-name"
                            check=check_name error=name_error value=name />
                    }}
                    <div class="pw-bank" hidden=move || !paying_by_bank()>
                        <TextField id="pw-iban" label=t("iban") autocomplete="off"
                            placeholder="DE00 0000 0000 0000 0000 00"
                            format=paywidget_core::bank::format_iban_input check=check_iban
                            error=iban_error value=iban />
                        <p class="pw-mandate" id="pw-mandate">
                            {paywidget_core::api::wording::sepa_mandate(&campaign.merchant_name)}
                        </p>
                    </div>
                    <div class="pw-card" hidden=paying_by_bank>{card_fields()}</div>
                }
                .into_any()
            } else {
                view! {
                    <TextField id="pw-name" label=t("name_on_card") autocomplete="cc-name"
                        check=check_name error=name_error value=name />
                    {card_fields()}
                }
                .into_any()
            }}
            <p class="pw-status" id="pw-status" role="status" aria-live="polite">{status_view}</p>
            {move || match prompt.get() {
                Some((once, monthly)) if RECURRING => view! { <MonthlyPrompt once=once monthly=monthly answer=answer /> }.into_any(),
                _ => view! {
                    <button type="submit" class="pw-pay" id="pw-pay" aria-disabled=move || paying.get().to_string()>
                        {move || if paying.get() { t("processing_button") } else { pay_label() }}
                    </button>
                }.into_any(),
            }}
            {move || terms().map(|t| view! { <p class="pw-terms" id="pw-terms">{t}</p> })}
            {if offer_bank {
                view! { <p class="pw-secure">{move || t(method.get().secure_key())}</p> }.into_any()
            } else {
                view! { <p class="pw-secure">{t(PayMethod::Card.secure_key())}</p> }.into_any()
            }}
        </form>
    }
}

/// What the pay flow is doing, in the reader's language.
fn progress_text(p: &crate::pay_flow::Progress) -> String {
    use crate::pay_flow::Progress;
    match p {
        Progress::Processing => t("progress_processing"),
        // The retry count is for support, not the payer: the words say what is happening.
        Progress::Retrying { .. } | Progress::Checking => t("progress_checking"),
        Progress::Waiting => t("progress_waiting"),
        Progress::Verifying => t("progress_verifying"),
        Progress::Proving => t("progress_proving"),
    }
}

/// Where the gateway's own fields mount.
const FIELDS_ID: &str = "pw-gateway-fields";

/// Digits only, at most 4.
fn cvc_digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).take(4).collect()
}
