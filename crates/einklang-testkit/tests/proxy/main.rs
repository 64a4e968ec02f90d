//! The fault proxy against real servers: the REST emulator and Radicale
//! over HTTP (`http`), PostgreSQL over its wire protocol (`pg`), and the
//! `einklang-faultproxy` binary driven through its control port
//! (`binary`). Radicale and PostgreSQL come from scripts/test; under
//! `CI=true` their absence fails the tests that need them.

mod binary;
mod http;
mod pg;

/// An HTTP client that takes every status as an answer.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .allow_non_standard_methods(true)
        .build()
        .into()
}

/// One request: (status, headers as `name: value` lines, body), or the
/// transport error.
pub fn call(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<(u16, String, String), ureq::Error> {
    let mut req = ureq::http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut res = agent.run(req.body(body.to_string()).unwrap())?;
    let head: String = res
        .headers()
        .iter()
        .map(|(k, v)| format!("{k}: {}\n", v.to_str().unwrap_or("")))
        .collect();
    let text = res.body_mut().read_to_string()?;
    Ok((res.status().as_u16(), head, text))
}
