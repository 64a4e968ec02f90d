//! E-mail addresses: is this text one?
//!
//! The syntax is checked by the `email_address` crate (RFC 5321/5322: a
//! dot-atom or quoted local part of at most 64 bytes, domain labels of
//! letters, digits and inner hyphens, or an address literal; UTF-8 per
//! RFC 6531, so `jürgen@müller.de` passes), so `b1@example.org"x"y` is no
//! address. einklang adds what an address book field needs:
//!
//! - the domain has a dot (`anna@localhost` is no contact's address);
//! - no display name (`Anna <anna@x.de>`), no whitespace, `,` or `;`
//!   anywhere: a list field splits at `,` and `;`, and RFC-valid quoted
//!   local parts with spaces are not found in address books;
//! - dots in an unquoted local part may stand anywhere (`taro..y@`,
//!   `hanako.@`): RFC 5322 forbids it, but Japanese carriers handed out
//!   such addresses for years, they are delivered, and address books hold
//!   them.

use email_address::{EmailAddress, Options};

/// Is `s` (already trimmed and lower-cased) an e-mail address?
pub(super) fn is_address(s: &str) -> bool {
    if s.chars().any(|c| c.is_whitespace() || c == ',' || c == ';') {
        return false;
    }
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    let options = Options::default()
        .with_required_tld()
        .without_display_text();
    let relaxed;
    let checked = match local.starts_with('"') {
        true => s,
        false => {
            let parts: Vec<&str> = local.split('.').filter(|p| !p.is_empty()).collect();
            relaxed = format!("{}@{domain}", parts.join("."));
            &relaxed
        }
    };
    EmailAddress::parse_with_options(checked, options).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn addresses_address_books_hold_pass() {
        for ok in [
            "anna@novak.si",
            "anna.novak+newsletter@firma.example.de",
            "first_last-2@mail.sub.example.co.uk",
            "o'brien@example.ie",
            "123@x.de",
            "jürgen@müller.de",
            "δοκιμή@παράδειγμα.δοκιμή",
            "info@xn--mller-kva.de",
            "a@my-firm.museum",
            "\"quoted@at\"@example.org",
            "taro..y@docomo.ne.jp",
            "hanako.@ezweb.ne.jp",
            "root@[192.168.1.1]",
        ] {
            assert!(is_address(ok), "{ok} should pass");
        }
    }

    #[test]
    fn junk_is_no_address() {
        for bad in [
            "b1@example.org\"x\"y",
            "a\"b@example.org",
            "anna@localhost",
            "anna@@x.de",
            "anna@x..de",
            "anna@-x.de",
            "anna@x.de.",
            "@x.de",
            "anna@",
            "no-at-sign",
            "a b@x.de",
            "\"a b\"@x.de",
            "a@x.de,b@y.de",
            "anna <anna@x.de>",
            "...@x.de",
        ] {
            assert!(!is_address(bad), "{bad} should fail");
        }
    }

    fn label() -> impl Strategy<Value = String> {
        "[a-z0-9äöü]([a-z0-9-]{0,8}[a-z0-9])?"
    }

    proptest! {
        #[test]
        fn ordinary_addresses_pass_and_junk_after_the_domain_fails(
            local in "[a-z0-9_%+'-]{1,12}(\\.[a-z0-9_%+-]{1,8}){0,2}",
            labels in prop::collection::vec(label(), 1..4),
            tld in "[a-z]{2,6}",
            junk in "[\"<>() ,;\\\\]",
        ) {
            let address = format!("{local}@{}.{tld}", labels.join("."));
            prop_assert!(is_address(&address), "{}", address);
            let broken = format!("{address}{junk}x");
            prop_assert!(!is_address(&broken), "{}", broken);
        }
    }
}
