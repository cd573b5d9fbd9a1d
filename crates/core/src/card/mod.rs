//! Card rules for the checkout form: brand detection, number formatting and validation,
//! expiry dates and security codes.
//!
//! The widget calls the `format_*` / [`reformat`] helpers on every keystroke and the
//! `parse` functions to decide what to show; each error's [`is_final`](NumberError::is_final)
//! tells it whether to complain now or only when the field loses focus.

mod brand;
mod cvc;
mod expiry;
mod format;
mod luhn;
mod number;

pub use brand::{lengths_for, max_length_for, typical_length_for, Brand};
pub use cvc::{Cvc, CvcError};
pub use expiry::{format_expiry_input, Expiry, ExpiryError};
pub use format::{format_number, group_sizes, reformat, Formatted};
pub use luhn::{digits_only, luhn_check_digit, luhn_valid};
pub use number::{check_number, CardNumber, NumberError};
