//! Bank accounts for SEPA Direct Debit: the [`Iban`], parsed once from what the payer typed,
//! grouped by four as it is typed, and never shown beyond its country and last four.

mod iban;

pub use iban::{
    format_iban_input, iban_check_digits, iban_countries, iban_length, Iban, IbanError,
    MAX_IBAN_LENGTH,
};
