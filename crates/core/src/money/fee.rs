//! Donor fee coverage: the amount a donor may add so the organisation receives their full gift.
//! One rule, used by the checkout page (to show the exact figure) and the host (to charge it).

/// A fee rule: `basis_points` of the amount (290 = 2.9 %), rounded up, plus `fixed` minor units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeeRule {
    /// Hundredths of a percent.
    pub basis_points: i64,
    /// Minor units added on top.
    pub fixed: i64,
}

impl FeeRule {
    /// A rule from a percentage such as 2.9 (rounded to a hundredth of a percent).
    pub fn from_percent(percent: f64, fixed: i64) -> FeeRule {
        FeeRule {
            basis_points: (percent * 100.0).round() as i64,
            fixed,
        }
    }

    /// The fee on `amount` minor units (never negative; saturates instead of overflowing).
    pub fn fee_on(self, amount: i64) -> i64 {
        if amount <= 0 {
            return 0;
        }
        let variable = amount
            .saturating_mul(self.basis_points.max(0))
            .saturating_add(9_999)
            / 10_000;
        variable.saturating_add(self.fixed.max(0))
    }
}

#[cfg(test)]
mod tests {
    use super::FeeRule;

    #[test]
    fn percent_rounds_up_plus_fixed() {
        let r = FeeRule::from_percent(2.9, 30);
        assert_eq!(r.basis_points, 290);
        assert_eq!(r.fee_on(2500), 73 + 30); // 72.5 → 73
        assert_eq!(r.fee_on(1000), 29 + 30);
        assert_eq!(r.fee_on(0), 0);
        assert_eq!(FeeRule::from_percent(0.0, 0).fee_on(5000), 0);
        assert!(r.fee_on(i64::MAX) > 0, "no overflow panic");
    }
}
