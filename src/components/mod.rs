//! The widget's Leptos components, one per file.

mod app;
mod card_number_input;

pub use app::App;
pub use card_number_input::CardNumberInput;
