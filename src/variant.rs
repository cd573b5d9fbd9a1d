//! Which form variant this wasm binary is (`paywidget_core::api::FormVariant`), fixed at compile
//! time by the crate's features, so each build carries only its variant's code: a branch under
//! a `false` constant here is removed from the binary.

use paywidget_core::api::FormVariant;

/// Frequencies, the recurring terms and the "Make it monthly?" prompt are in this build.
pub const RECURRING: bool = cfg!(feature = "recurring");
/// SEPA Direct Debit ("Card | Bank account", the IBAN field and the mandate) is in this build:
/// it rides with the recurring one, so the one-time card form carries none of it.
pub const SEPA: bool = RECURRING;
/// Licences (a price or tiers) are in this build.
pub const LICENCE: bool = cfg!(feature = "licence");
/// The gateway's own card fields are in this build.
pub const GATEWAY_FIELDS: bool = cfg!(feature = "gateway-fields");

/// This build's variant.
pub const VARIANT: FormVariant = if GATEWAY_FIELDS {
    FormVariant::Full
} else if LICENCE {
    FormVariant::Licence
} else if RECURRING {
    FormVariant::Recurring
} else {
    FormVariant::Once
};

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_build_is_the_full_form() {
        // Tests, clippy and the other pages build with the default features: everything.
        assert_eq!(super::VARIANT, paywidget_core::api::FormVariant::Full);
    }
}
