//! The state machine behind the card-number input: grouping, caret, brand and when to show errors.
//!
//! This is plain Rust so it can be unit-tested natively; the Leptos component only feeds DOM
//! events in and writes the results back to the DOM.

use paywidget_core::card::{self, Brand, CardNumber, NumberError};

/// What kind of edit produced an `input` event, from the DOM's `InputEvent.inputType`.
///
/// Only deletions need special treatment: deleting a space that the widget inserted must delete
/// the digit next to it, or the re-grouping would put the space straight back and the key would
/// appear dead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EditKind {
    /// Backspace: `deleteContentBackward`.
    DeleteBackward,
    /// The Delete key: `deleteContentForward`.
    DeleteForward,
    /// Typing, pasting, autofill, drag and drop and anything else.
    Other,
}

impl EditKind {
    /// Maps `InputEvent.inputType` to the edits this field distinguishes.
    pub fn from_input_type(input_type: &str) -> Self {
        match input_type {
            "deleteContentBackward" => EditKind::DeleteBackward,
            "deleteContentForward" => EditKind::DeleteForward,
            _ => EditKind::Other,
        }
    }
}

/// The text and caret to write back into the input after an edit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    /// The grouped number, e.g. `4242 4242 42`.
    pub text: String,
    /// The caret position in `text`, in UTF-16 code units (the text is ASCII).
    pub caret: usize,
}

/// The card-number field: the shown text, whether the shopper has left the field, and the
/// validation state derived from them.
///
/// Its `Debug` shows only the digit count and brand: the text is card data.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CardNumberField {
    text: String,
    touched: bool,
}

impl CardNumberField {
    /// An empty, untouched field.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies an `input` event: `raw` is the input's value after the browser's edit and `caret`
    /// its `selectionStart` (UTF-16 code units). Returns what the input must show.
    pub fn on_input(&mut self, raw: &str, caret: usize, kind: EditKind) -> Edit {
        let (raw, caret) = self.undo_separator_only_delete(raw, caret, kind);
        let formatted = card::reformat(&raw, caret);
        self.text = formatted.text.clone();
        Edit {
            text: formatted.text,
            caret: formatted.caret,
        }
    }

    /// When a deletion removed only a separator (the digits are unchanged), removes the digit
    /// on the side the key points to instead; returns the input and caret to re-group.
    fn undo_separator_only_delete(
        &self,
        raw: &str,
        caret: usize,
        kind: EditKind,
    ) -> (String, usize) {
        let digits_now = card::digits_only(raw);
        if kind == EditKind::Other || digits_now != card::digits_only(&self.text) {
            return (raw.to_owned(), caret);
        }
        let before = digits_before_caret(raw, caret);
        let remove = match kind {
            EditKind::DeleteBackward if before > 0 => before - 1,
            EditKind::DeleteForward if before < digits_now.len() => before,
            _ => return (raw.to_owned(), caret),
        };
        let mut digits = digits_now;
        digits.remove(remove);
        // The caret sits after `remove` digits, in a digits-only string (ASCII: units = bytes).
        (digits, remove)
    }

    /// Marks the field as left by the shopper: from now on an incomplete number is an error.
    pub fn on_blur(&mut self) {
        // An untouched empty field is not an error: a shopper tabbing through should not be told off.
        if !self.text.is_empty() {
            self.touched = true;
        }
    }

    /// The text the input shows.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The brand detected from the digits typed so far, if any.
    pub fn brand(&self) -> Option<Brand> {
        Brand::detect(&card::digits_only(&self.text))
    }

    /// The parsed number once it is complete and valid.
    pub fn number(&self) -> Option<CardNumber> {
        CardNumber::parse(&self.text).ok()
    }

    /// The error to show now, if any: after the shopper left the field, or as soon as typing
    /// more digits cannot fix it (a complete number that fails the checksum, too many digits).
    pub fn visible_error(&self) -> Option<NumberError> {
        match CardNumber::parse(&self.text) {
            Ok(_) => None,
            Err(NumberError::Empty) => None,
            Err(e) if self.touched || e.is_final() => Some(e),
            Err(_) => None,
        }
    }

    /// The error to show once the form was submitted: as [`Self::visible_error`], and also
    /// for an empty or incomplete number.
    pub fn error_on_submit(&self) -> Option<NumberError> {
        CardNumber::parse(&self.text).err()
    }

    /// The message for [`Self::visible_error`], as shown and announced to screen readers.
    pub fn error_message(&self) -> Option<String> {
        self.visible_error().map(|e| crate::i18n::t(e.key()))
    }
}

impl std::fmt::Debug for CardNumberField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardNumberField")
            .field("digits", &card::digits_only(&self.text).len())
            .field("brand", &self.brand())
            .field("touched", &self.touched)
            .finish()
    }
}

/// How many digits of `raw` stand before the caret (counted in UTF-16 code units).
fn digits_before_caret(raw: &str, caret: usize) -> usize {
    let mut units = 0;
    let mut digits = 0;
    for c in raw.chars() {
        if units >= caret {
            break;
        }
        units += c.len_utf16();
        if c.is_ascii_digit() {
            digits += 1;
        }
    }
    digits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(field: &mut CardNumberField, s: &str) -> Edit {
        let mut edit = Edit {
            text: String::new(),
            caret: 0,
        };
        for c in s.chars() {
            let mut raw = field.text().to_owned();
            raw.push(c);
            edit = field.on_input(&raw, raw.len(), EditKind::Other);
        }
        edit
    }

    #[test]
    fn typing_groups_and_keeps_caret_at_end() {
        let mut f = CardNumberField::new();
        let e = typed(&mut f, "42424242");
        assert_eq!(e.text, "4242 4242");
        assert_eq!(e.caret, e.text.len());
        assert_eq!(f.brand(), Some(Brand::Visa));
        assert_eq!(f.visible_error(), None, "no error mid-typing");
    }

    #[test]
    fn complete_valid_number_has_no_error() {
        let mut f = CardNumberField::new();
        typed(&mut f, "4242424242424242");
        assert_eq!(f.text(), "4242 4242 4242 4242");
        assert_eq!(
            f.number().map(|n| n.last4().to_owned()),
            Some("4242".into())
        );
        f.on_blur();
        assert_eq!(f.visible_error(), None);
    }

    #[test]
    fn complete_number_failing_checksum_errors_before_blur() {
        let mut f = CardNumberField::new();
        typed(&mut f, "4242424242424241");
        assert_eq!(
            f.error_message().as_deref(),
            Some("Your card number is invalid.")
        );
    }

    #[test]
    fn incomplete_number_errors_only_after_blur() {
        let mut f = CardNumberField::new();
        typed(&mut f, "424242");
        assert_eq!(f.visible_error(), None);
        f.on_blur();
        assert_eq!(f.visible_error(), Some(NumberError::Incomplete));
        // Typing on to a valid number clears it.
        typed(&mut f, "4242424242");
        assert_eq!(f.visible_error(), None);
    }

    #[test]
    fn submit_shows_even_empty_and_incomplete_numbers() {
        let mut f = CardNumberField::new();
        assert_eq!(f.error_on_submit(), Some(NumberError::Empty));
        typed(&mut f, "4242");
        assert_eq!(f.visible_error(), None);
        assert_eq!(f.error_on_submit(), Some(NumberError::Incomplete));
    }

    #[test]
    fn blur_on_empty_field_is_not_an_error() {
        let mut f = CardNumberField::new();
        f.on_blur();
        assert_eq!(f.visible_error(), None);
    }

    #[test]
    fn backspace_over_a_space_deletes_the_digit_before_it() {
        let mut f = CardNumberField::new();
        typed(&mut f, "42424242");
        // "4242 |4242": the browser deletes the space and puts the caret at 4.
        let e = f.on_input("42424242", 4, EditKind::DeleteBackward);
        assert_eq!(e.text, "4244 242");
        assert_eq!(e.caret, 3);
    }

    #[test]
    fn delete_key_over_a_space_deletes_the_digit_after_it() {
        let mut f = CardNumberField::new();
        typed(&mut f, "42425555");
        // "4242| 5555": Delete removes the space, caret stays at 4.
        let e = f.on_input("42425555", 4, EditKind::DeleteForward);
        assert_eq!(e.text, "4242 555");
        assert_eq!(e.caret, 4);
    }

    #[test]
    fn ordinary_backspace_removes_a_digit_and_regroups() {
        let mut f = CardNumberField::new();
        typed(&mut f, "424242424");
        // "4242 4242 4|" → backspace removes the last 4 (and the browser leaves "4242 4242 ").
        let e = f.on_input("4242 4242 ", 10, EditKind::DeleteBackward);
        assert_eq!(e.text, "4242 4242");
        assert_eq!(e.caret, 9);
    }

    #[test]
    fn typing_in_the_middle_keeps_the_caret_after_the_new_digit() {
        let mut f = CardNumberField::new();
        typed(&mut f, "42424242");
        // Insert "9" after the first two digits: "42|42 4242" → "429|42 4242".
        let e = f.on_input("42942 4242", 3, EditKind::Other);
        assert_eq!(e.text, "4294 2424 2");
        assert_eq!(e.caret, 3);
    }

    #[test]
    fn paste_with_dashes_is_grouped() {
        let mut f = CardNumberField::new();
        let e = f.on_input("3782-822463-10005", 17, EditKind::Other);
        assert_eq!(e.text, "3782 822463 10005");
        assert_eq!(e.caret, e.text.len());
        assert_eq!(f.brand(), Some(Brand::Amex));
        assert!(f.number().is_some());
    }

    #[test]
    fn letters_are_dropped_while_typing() {
        let mut f = CardNumberField::new();
        let e = f.on_input("4242abc", 7, EditKind::Other);
        // Only digits reach the shown text, so a stray key is ignored rather than scolded.
        assert_eq!(e.text, "4242");
        assert_eq!(e.caret, 4);
        assert_eq!(f.visible_error(), None);
    }

    #[test]
    fn edit_kind_from_input_type() {
        assert_eq!(
            EditKind::from_input_type("deleteContentBackward"),
            EditKind::DeleteBackward
        );
        assert_eq!(
            EditKind::from_input_type("deleteContentForward"),
            EditKind::DeleteForward
        );
        assert_eq!(
            EditKind::from_input_type("insertFromPaste"),
            EditKind::Other
        );
    }

    #[test]
    fn digits_before_caret_counts_utf16_units() {
        assert_eq!(digits_before_caret("42 42", 3), 2);
        assert_eq!(digits_before_caret("42 42", 4), 3);
        // '€' is one UTF-16 unit, '😀' two.
        assert_eq!(digits_before_caret("4😀2", 3), 1);
        assert_eq!(digits_before_caret("4😀2", 4), 2);
    }

    #[test]
    fn debug_never_shows_the_digits() {
        let mut f = CardNumberField::new();
        typed(&mut f, "4242424242424242");
        let shown = format!("{f:?}");
        assert!(!shown.contains("4242"), "{shown}");
        assert!(shown.contains("digits: 16"), "{shown}");
    }
}
