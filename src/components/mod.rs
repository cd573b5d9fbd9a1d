//! The widget's Leptos components, one per file.

mod amount_picker;
mod app;
mod card_number_input;
mod checkout;
mod checkout_page;
mod pay_button;
mod return_page;
mod text_field;
mod thanks_page;

pub use amount_picker::AmountPicker;
pub use app::{App, Pages};
pub use card_number_input::CardNumberInput;
pub use checkout::Checkout;
pub use checkout_page::CheckoutPage;
pub use pay_button::{loader_url, PayButton};
pub use return_page::ReturnPage;
pub use text_field::TextField;
pub use thanks_page::ThanksPage;
