//! Email addresses, parsed once at the boundary the way the mailer will write them (one parser
//! for `mail.from`, merchants' notification addresses and shoppers' addresses). No I/O: the
//! configuration and the mail room both build on it.

use lettre::message::Mailbox;

/// An email address (optionally with a display name: `Acme <sales@acme.example>`), parsed the
/// way the mailer will write it, so an accepted address is always deliverable.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailAddress(Mailbox);

/// Not an email address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not an email address")]
pub struct InvalidEmail;

impl EmailAddress {
    /// Parses `a@b.example` or `Name <a@b.example>` (at most 254 characters).
    pub fn parse(text: &str) -> Result<EmailAddress, InvalidEmail> {
        let text = text.trim();
        if text.len() > 254 {
            return Err(InvalidEmail);
        }
        text.parse::<Mailbox>()
            .map(EmailAddress)
            .map_err(|_| InvalidEmail)
    }

    /// For lettre.
    pub fn mailbox(&self) -> &Mailbox {
        &self.0
    }

    /// `donor@example.org` → `d•••@example.org`: the confirmation page only reminds.
    pub fn masked(&self) -> String {
        let user = self.0.email.user();
        format!(
            "{}•••@{}",
            user.chars().next().unwrap_or('•'),
            self.0.email.domain()
        )
    }
}

impl std::str::FromStr for EmailAddress {
    type Err = InvalidEmail;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EmailAddress::parse(s)
    }
}

impl std::fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EmailAddress({})", self.0)
    }
}
