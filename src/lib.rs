//! The paywidget hosted checkout widget: Leptos components and the plain logic behind them.
//!
//! Logic lives in plain Rust types with native unit tests (`card_number_field`); the
//! components in [`components`] only wire DOM events and signals to that logic.
#![forbid(unsafe_code)]

pub mod api;
pub mod browser;
pub mod card_number_field;
pub mod checkout_form;
pub mod components;
pub mod embed;
pub mod gateway_fields;
pub mod i18n;
pub mod pay_flow;
pub mod pow;
pub mod route;
pub mod variant;
