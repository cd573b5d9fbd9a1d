//! Pure shared logic of paywidget (card rules, money, the wire contract [`api`]), used by the wasm widget and the servers.
//!
//! Everything here is deterministic and free of I/O so that the browser widget and the
//! servers agree byte for byte on what a valid card number or amount is. Inputs are parsed
//! once, at the boundary, into newtypes ([`card::CardNumber`], [`card::Expiry`],
//! [`card::Cvc`], [`money::Amount`]); every error is an enum whose `Display` text can be
//! shown to a shopper as is.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod bank;
pub mod card;
pub mod lang;
pub mod money;
#[cfg(feature = "signature")]
pub mod signature;
