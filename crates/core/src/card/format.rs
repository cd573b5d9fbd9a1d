//! Live display formatting of a card number field: digit grouping and caret mapping.

use super::brand::{max_length_for, Brand};

/// How the digits of a card number are grouped for display.
///
/// Amex is 4-6-5; Diners Club with at most 14 digits is 4-6-4 (as printed on the 14-digit
/// cards); everything else is groups of four, with a final group of three for 19 digits.
/// Only ASCII digits in `digits` are counted.
pub fn group_sizes(digits: &str) -> &'static [usize] {
    let count = digits.bytes().filter(u8::is_ascii_digit).count();
    match Brand::detect(digits) {
        Some(Brand::Amex) => &[4, 6, 5],
        Some(Brand::DinersClub) if count <= 14 => &[4, 6, 4],
        _ => &[4, 4, 4, 4, 3],
    }
}

/// The digits of `input`, truncated to the longest valid length for their brand (19 when
/// unknown), and how many digits appeared before the UTF-16 offset `caret`.
fn digits_and_caret(input: &str, caret: usize) -> (String, usize) {
    let mut digits = String::new();
    let mut before = 0;
    let mut offset = 0;
    for ch in input.chars() {
        if ch.is_ascii_digit() {
            if offset < caret {
                before += 1;
            }
            // Never hold more than a card number's worth, so a pasted novel costs nothing.
            if digits.len() <= 19 {
                digits.push(ch);
            }
        }
        offset += ch.len_utf16();
    }
    digits.truncate(max_length_for(&digits));
    let before = before.min(digits.len());
    (digits, before)
}

/// Joins `digits` (ASCII) into groups of `sizes`, separated by single spaces. Any digits
/// beyond the groups go into the last group rather than being dropped.
fn group(digits: &str, sizes: &[usize]) -> String {
    let mut out = String::with_capacity(digits.len() + sizes.len());
    let mut rest = digits;
    for (i, &size) in sizes.iter().enumerate() {
        if rest.is_empty() {
            break;
        }
        let take = if i + 1 == sizes.len() {
            rest.len()
        } else {
            size.min(rest.len())
        };
        if !out.is_empty() {
            out.push(' ');
        }
        // `digits` is ASCII, so every index is a char boundary.
        out.push_str(&rest[..take]);
        rest = &rest[take..];
    }
    out
}

/// Formats a card number for display: keeps only the digits, truncates to the brand's
/// longest valid length (19 when unknown) and groups them with single ASCII spaces
/// (see [`group_sizes`]), with no trailing space. `"4242424242424242"` becomes
/// `"4242 4242 4242 4242"`.
pub fn format_number(digits_or_input: &str) -> String {
    reformat(digits_or_input, 0).text
}

/// The result of [`reformat`]: the text to put in the field and where the caret goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Formatted {
    /// The formatted card number (ASCII digits and single spaces).
    pub text: String,
    /// The caret position in `text`, in UTF-16 code units (equal to bytes: `text` is ASCII).
    pub caret: usize,
}

/// Reformats the field after an edit and maps the caret through the re-grouping.
///
/// `caret` is a position in `input` counted in UTF-16 code units (what the DOM's
/// `selectionStart` gives). The text is [`format_number`]`(input)`. The caret stays after the
/// same number of digits that were before it in the input, clamped to the truncated length:
/// it is placed right after the n-th digit (or at 0 when n is 0). So it never jumps past a
/// space the shopper did not type: typing the 4th digit of `"424|"` gives `"4242|"`, not
/// `"4242 |"`, and the space appears only once the 5th digit is typed.
///
/// One consequence for the widget: when a backspace removes only a space, the re-grouping
/// puts the space straight back. The widget should treat that case as deleting the digit
/// before the space.
pub fn reformat(input: &str, caret: usize) -> Formatted {
    let (digits, before) = digits_and_caret(input, caret);
    let sizes = group_sizes(&digits);
    let text = group(&digits, sizes);
    // A space precedes the n-th digit's successor for every group boundary strictly inside
    // the first `before` digits; boundaries are only rendered when digits follow them, and
    // `before <= digits.len()` guarantees that.
    let mut spaces = 0;
    let mut boundary = 0;
    for &size in &sizes[..sizes.len().saturating_sub(1)] {
        boundary += size;
        if boundary < before {
            spaces += 1;
        }
    }
    Formatted {
        caret: before + spaces,
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(input: &str, caret: usize) -> (String, usize) {
        let f = reformat(input, caret);
        (f.text, f.caret)
    }

    #[test]
    fn group_sizes_by_brand_and_length() {
        assert_eq!(group_sizes("378282246310005"), &[4, 6, 5]);
        assert_eq!(group_sizes("36227206271667"), &[4, 6, 4]);
        assert_eq!(group_sizes("362272062716671"), &[4, 4, 4, 4, 3]);
        assert_eq!(group_sizes("3056930009020004"), &[4, 4, 4, 4, 3]);
        assert_eq!(group_sizes("4242424242424242"), &[4, 4, 4, 4, 3]);
        assert_eq!(group_sizes(""), &[4, 4, 4, 4, 3]);
    }

    #[test]
    fn formats_common_lengths() {
        assert_eq!(format_number("4242424242424242"), "4242 4242 4242 4242");
        assert_eq!(format_number("378282246310005"), "3782 822463 10005");
        assert_eq!(format_number("36227206271667"), "3622 720627 1667");
        assert_eq!(
            format_number("6205500000000000004"),
            "6205 5000 0000 0000 004"
        );
        assert_eq!(format_number("4242"), "4242");
        assert_eq!(format_number("42424"), "4242 4");
        assert_eq!(format_number("3782822"), "3782 822");
        assert_eq!(format_number("37828224631"), "3782 822463 1");
        assert_eq!(format_number(""), "");
    }

    #[test]
    fn formatting_drops_non_digits_and_truncates() {
        assert_eq!(
            format_number("4242-4242 4242\u{a0}4242"),
            "4242 4242 4242 4242"
        );
        assert_eq!(format_number("a4b2c4d2"), "4242");
        // Amex stops at 15, Mastercard at 16, unknown and Visa at 19.
        assert_eq!(format_number("3782822463100059999"), "3782 822463 10005");
        assert_eq!(format_number("55555555555544449"), "5555 5555 5555 4444");
        assert_eq!(
            format_number("42424242424242424242424"),
            "4242 4242 4242 4242 424"
        );
        assert_eq!(
            format_number("99999999999999999999"),
            "9999 9999 9999 9999 999"
        );
    }

    #[test]
    fn caret_when_typing_at_the_end() {
        assert_eq!(fmt("4", 1), ("4".into(), 1));
        assert_eq!(fmt("4242", 4), ("4242".into(), 4));
        assert_eq!(fmt("42424", 5), ("4242 4".into(), 6));
        assert_eq!(fmt("4242 42424", 10), ("4242 4242 4".into(), 11));
        assert_eq!(fmt("3782 8224", 9), ("3782 8224".into(), 9));
        assert_eq!(fmt("3782 8224631", 12), ("3782 822463 1".into(), 13));
    }

    #[test]
    fn caret_when_typing_in_the_middle() {
        // "4242 4242" with the caret after "42", then "1" typed.
        assert_eq!(fmt("42142 4242", 3), ("4214 2424 2".into(), 3));
        // Typing right after a space: the caret follows the new digit.
        assert_eq!(fmt("4242 14242", 6), ("4242 1424 2".into(), 6));
        // Typing the digit that completes a group keeps the caret before the space.
        assert_eq!(fmt("42412 4242", 4), ("4241 2424 2".into(), 4));
    }

    #[test]
    fn caret_when_deleting() {
        // Backspace of the digit after a space: "4242 4|242" -> "4242 |242" in the DOM.
        assert_eq!(fmt("4242 242", 5), ("4242 242".into(), 4));
        // Delete in the middle of the first group.
        assert_eq!(fmt("424 4242", 2), ("4244 242".into(), 2));
        // Everything deleted.
        assert_eq!(fmt("", 0), ("".into(), 0));
    }

    #[test]
    fn caret_when_pasting() {
        let pasted = "4242-4242-4242-4242";
        assert_eq!(
            fmt(pasted, pasted.len()),
            ("4242 4242 4242 4242".into(), 19)
        );
        let pasted = "3782 822463 10005";
        assert_eq!(fmt(pasted, pasted.len()), (pasted.into(), 17));
    }

    #[test]
    fn caret_is_clamped_by_truncation() {
        // A 17th digit typed at the end of a Mastercard number is dropped.
        assert_eq!(
            fmt("5555 5555 5555 44449", 20),
            ("5555 5555 5555 4444".into(), 19)
        );
        // A caret beyond the input is treated as the end.
        assert_eq!(fmt("4242", 100), ("4242".into(), 4));
    }

    #[test]
    fn caret_counts_utf16_units() {
        // "😀" is two UTF-16 units, "é" one; neither is a digit.
        assert_eq!(fmt("😀42", 3), ("42".into(), 1));
        assert_eq!(fmt("é42", 2), ("42".into(), 1));
        assert_eq!(fmt("😀42", 1), ("42".into(), 0));
    }
}
