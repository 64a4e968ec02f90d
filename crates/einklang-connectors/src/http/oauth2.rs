//! OAuth2 client credentials (Microsoft 365 Graph style): the token request
//! is a form with the client id and secret (and a scope, if configured);
//! caching, sharing and renewal are `token`'s.

use super::token::TokenRequest;

/// `grant_type=client_credentials&client_id=…&client_secret=…[&scope=…]`.
pub(super) fn request(
    token_url: &str,
    client_id: &str,
    client_secret: &str,
    scope: Option<&str>,
) -> TokenRequest {
    let enc = crate::dav::percent_encode;
    let mut form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        enc(client_id),
        enc(client_secret)
    );
    if let Some(s) = scope {
        form.push_str(&format!("&scope={}", enc(s)));
    }
    TokenRequest {
        url: token_url.to_string(),
        content_type: "application/x-www-form-urlencoded",
        body: form,
    }
}
