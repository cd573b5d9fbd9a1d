//! `UpdateCardPage`: `/c/:campaign/update-card?token=…`, from the mail about a failed renewal —
//! the donor gives a new card (our fields or the gateway's, per the merchant), which is saved,
//! made the gift's default and charged at once for the period that failed.

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use paywidget_core::api::{CardCapture, PayOutcome, UpdateCardRequest, UpdateCardView};
use paywidget_core::card::format_expiry_input;

use super::{CardNumberInput, TextField};
use crate::api::{self, FetchError};
use crate::browser;
use crate::checkout_form::{self, Entries};
use crate::gateway_fields::{self, FieldsAnswer};

const FIELDS_ID: &str = "pw-gateway-fields";

/// The update-card form for the gift the link was signed for.
#[component]
pub fn UpdateCardPage() -> impl IntoView {
    let link = browser::query("token").unwrap_or_default();
    let view_data = RwSignal::new(None::<Result<UpdateCardView, String>>);
    let l = link.clone();
    spawn_local(async move {
        let got = api::update_card_view(&l).await.map_err(|e| match e {
            FetchError::Api { message, .. } => message,
            FetchError::Network => {
                "We couldn't reach the server. Check your connection and reload.".into()
            }
        });
        view_data.set(Some(got));
    });
    move || match view_data.get() {
        None => {
            view! { <main class="pw-page"><div class="pw-skeleton" aria-busy="true"></div></main> }
                .into_any()
        }
        Some(Err(m)) => view! {
            <main class="pw-page">
                <h1 class="pw-title">"Update your card"</h1>
                <p class="pw-problem" role="alert" id="pw-status">{m}</p>
                <a class="pw-pay pw-link-button" href="/portal">"Sign in to your payments"</a>
            </main>
        }
        .into_any(),
        Some(Ok(v)) => view! { <UpdateCardForm data=v link=link.clone() /> }.into_any(),
    }
}

/// The form itself, once the gift is known.
#[component]
fn UpdateCardForm(
    /// What the link is for.
    data: UpdateCardView,
    /// The signed link's token.
    link: String,
) -> impl IntoView {
    let gateway_mode = data.campaign.card_capture == CardCapture::GatewayFields;
    let name = RwSignal::new(String::new());
    let name_error = RwSignal::new(None::<String>);
    let expiry = RwSignal::new(String::new());
    let expiry_error = RwSignal::new(None::<String>);
    let cvc = RwSignal::new(String::new());
    let cvc_error = RwSignal::new(None::<String>);
    let number_error = RwSignal::new(None::<String>);
    let submitted = RwSignal::new(false);
    let status = RwSignal::new(String::new());
    let done = RwSignal::new(false);
    let busy = RwSignal::new(false);
    if gateway_mode {
        let (script, key) = (
            data.campaign.gateway_js_url.clone().unwrap_or_default(),
            data.campaign.publishable_key.clone(),
        );
        let (amount, currency) = (
            data.amount,
            data.campaign.currency.code().to_ascii_lowercase(),
        );
        spawn_local(async move {
            if let Some(problem) =
                gateway_fields::mount(&script, &key, amount, &currency, FIELDS_ID).await
            {
                status.set(problem);
            }
        });
    }
    // Back from the bank's 3-D Secure page: finish with the SetupIntent it authenticated.
    if let (Some(seti), Some(result)) = (
        browser::query("setup_intent"),
        browser::query("redirect_status"),
    ) {
        busy.set(true);
        status.set("Checking your card…".into());
        let link = link.clone();
        spawn_local(async move {
            let outcome = api::update_card(&UpdateCardRequest {
                link,
                payment_method: None,
                confirmation_token: None,
                setup_intent: Some(seti),
                idempotency_key: api::new_key(),
            })
            .await;
            busy.set(false);
            match outcome {
                Ok(PayOutcome::Succeeded) => {
                    done.set(true);
                    status.set("Thank you: your card is updated and this period is paid.".into());
                }
                _ if result != "succeeded" => status.set(
                    "Your bank did not confirm the card. Try again, or use another card.".into(),
                ),
                Ok(PayOutcome::Declined { message, .. }) => status.set(message),
                Ok(_) => status.set("Your card is saved; the payment is being confirmed.".into()),
                Err(FetchError::Api { message, .. }) => status.set(message),
                Err(FetchError::Network) => status.set(
                    "We couldn't reach the server. Check your connection and try again.".into(),
                ),
            }
        });
    }
    let campaign = std::rc::Rc::new(data.campaign.clone());
    let on_submit = move |e: ev::SubmitEvent| {
        e.prevent_default();
        if busy.get_untracked() || done.get_untracked() {
            return;
        }
        submitted.set(true);
        let entries = Entries {
            email: "card@update.invalid".into(),
            name: name.get_untracked(),
            number: browser::input_value("pw-card-number"),
            expiry: expiry.get_untracked(),
            cvc: cvc.get_untracked(),
            postal: None,
            iban: String::new(),
        };
        let card = if gateway_mode {
            checkout_form::check_contact(&entries).map(|_| None)
        } else {
            checkout_form::check(&entries, browser::today()).map(Some)
        };
        let card = match card {
            Ok(c) => c,
            Err(errors) => {
                for (field, message) in &errors {
                    match field {
                        checkout_form::Field::Name => name_error.set(Some(message.clone())),
                        checkout_form::Field::Expiry => expiry_error.set(Some(message.clone())),
                        checkout_form::Field::Cvc => cvc_error.set(Some(message.clone())),
                        _ => {}
                    }
                }
                if let Some((field, _)) = errors.first() {
                    browser::focus(field.id());
                }
                status.set("Please check the highlighted fields.".into());
                return;
            }
        };
        busy.set(true);
        status.set("Saving your card…".into());
        let (campaign, link) = (campaign.clone(), link.clone());
        let holder = entries.name.trim().to_owned();
        spawn_local(async move {
            let token = match card {
                Some(card) => api::tokenize(&campaign, &card, "")
                    .await
                    .map(|pm| (Some(pm), None)),
                None => {
                    let back = format!(
                        "{}/portal",
                        web_sys::window()
                            .and_then(|w| w.location().origin().ok())
                            .unwrap_or_default()
                    );
                    match gateway_fields::token(&holder, "", &back).await {
                        FieldsAnswer::Done(t) => Ok((None, Some(t))),
                        FieldsAnswer::Problem { code, .. } if code == "network" => {
                            Err(FetchError::Network)
                        }
                        FieldsAnswer::Problem { message, .. } => Err(FetchError::Api {
                            status: 402,
                            code: paywidget_core::api::ErrorCode::Declined,
                            message,
                        }),
                    }
                }
            };
            let outcome = match token {
                Ok((payment_method, confirmation_token)) => {
                    api::update_card(&UpdateCardRequest {
                        link,
                        payment_method,
                        confirmation_token,
                        setup_intent: None,
                        idempotency_key: api::new_key(),
                    })
                    .await
                }
                Err(e) => Err(e),
            };
            busy.set(false);
            match outcome {
                Ok(PayOutcome::Succeeded) => {
                    done.set(true);
                    status.set("Thank you: your card is updated and this period is paid.".into());
                }
                Ok(PayOutcome::RequiresAction { redirect_url, .. }) => browser::go(&redirect_url),
                Ok(PayOutcome::Declined { message, .. }) => status.set(message),
                Ok(_) => status.set("Your card is saved; the payment is being confirmed.".into()),
                Err(FetchError::Api { message, .. }) => status.set(message),
                Err(FetchError::Network) => status.set(
                    "We couldn't reach the server. Check your connection and try again.".into(),
                ),
            }
        });
    };
    let intro = crate::checkout_form::update_card_intro(&data);
    view! {
        <main class="pw-page">
            <form class="pw-form" novalidate on:submit=on_submit>
                <h1 class="pw-title">"Update your card"</h1>
                <p>{intro}</p>
                <TextField id="pw-name" label="Name on card" autocomplete="cc-name" error=name_error value=name />
                {if gateway_mode {
                    view! { <div class="pw-gateway-fields" id=FIELDS_ID></div> }.into_any()
                } else {
                    view! {
                        <CardNumberInput submitted=submitted external_error=number_error />
                        <div class="pw-row">
                            <TextField id="pw-expiry" label="Expiry (MM / YY)" autocomplete="cc-exp" inputmode="numeric"
                                placeholder="MM / YY" format=format_expiry_input error=expiry_error value=expiry />
                            <TextField id="pw-cvc" label="Security code" autocomplete="cc-csc" inputmode="numeric"
                                placeholder="CVC" error=cvc_error value=cvc />
                        </div>
                    }
                    .into_any()
                }}
                <p class="pw-status" id="pw-status" role="status" aria-live="polite">{move || status.get()}</p>
                {move || (!done.get()).then(|| view! {
                    <button type="submit" class="pw-pay" id="pw-pay" aria-disabled=move || busy.get().to_string()>"Save card and pay"</button>
                })}
            </form>
        </main>
    }
}
