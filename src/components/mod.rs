//! The widget's Leptos components, one per file.
// `#[component]` re-emits each function as an inner item this lint flags as unreachable; every
// component and its props are re-exported below.
#![allow(unreachable_pub)]

mod amount_picker;
mod app;
mod card_number_input;
mod checkout;
mod checkout_page;
mod currency_picker;
mod frequency_picker;
mod method_picker;
mod monthly_prompt;
mod pay_button;
mod return_page;
mod text_field;
mod tier_picker;
mod update_card_page;

// Each component with its props type (what `view!` builds).
pub use amount_picker::{AmountPicker, AmountPickerProps};
pub use app::{App, AppProps, Pages, PagesProps};
pub use card_number_input::{CardNumberInput, CardNumberInputProps};
pub use checkout::{Checkout, CheckoutProps};
pub use checkout_page::{CheckoutPage, CheckoutPageProps};
pub use currency_picker::{CurrencyPicker, CurrencyPickerProps};
pub use frequency_picker::{FrequencyPicker, FrequencyPickerProps};
pub use method_picker::{MethodPicker, MethodPickerProps};
pub use monthly_prompt::{MonthlyPrompt, MonthlyPromptProps};
pub use pay_button::{loader_url, PayButton, PayButtonProps};
pub use return_page::{ReturnPage, ReturnPageProps};
pub use text_field::{TextField, TextFieldProps};
pub use tier_picker::{TierPicker, TierPickerProps};
pub use update_card_page::{UpdateCardPage, UpdateCardPageProps};
