//! Test-card expiry dates from the clock: always in the future, so the suites never start
//! failing when a hard-coded year passes.

/// December, three years after the year of `unix_secs`: `(month, year)`.
pub fn expiry_at(unix_secs: i64) -> (u8, u16) {
    // 365.2425 days per year is exact enough for "three years from now".
    let year = 1970 + unix_secs.div_euclid(31_556_952);
    (12, u16::try_from(year + 3).unwrap_or(u16::MAX))
}

/// [`expiry_at`] now, by the system clock (the one the browser and the sandbox use).
pub fn expiry() -> (u8, u16) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    expiry_at(now)
}

/// The expiry as a shopper types it into the checkout: `MMYY`.
pub fn expiry_typed() -> String {
    let (month, year) = expiry();
    format!("{month:02}{:02}", year % 100)
}

/// The expiry as the gateway's form fields take it: (`exp_month`, `exp_year`).
pub fn expiry_fields() -> (String, String) {
    let (month, year) = expiry();
    (month.to_string(), year.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn always_three_years_ahead() {
        assert_eq!(expiry_at(1_798_761_600), (12, 2030)); // 2027-01-01
        assert_eq!(expiry_at(1_924_992_000), (12, 2034)); // 2031-01-01
        let typed = expiry_typed();
        assert_eq!(typed.len(), 4);
        assert!(typed.starts_with("12"));
    }
}
