use super::*;

fn sign(secret: &str, content: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(content);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn plain() -> Webhook {
    Webhook {
        signature_header: "X-Signature".into(),
        secret: "s3cret".into(),
        ids: vec!["/key".into(), "/keys".into()],
        delivery_header: None,
        timestamp_header: None,
        signed: "{body}".into(),
        tolerance_s: 300,
        replay_window_s: 600,
    }
}

fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn verifies_and_extracts() {
    let spec = plain();
    let body = br#"{"event":"contacts.items.update","keys":["1","2"],"collection":"contacts"}"#;
    let good = h(&[("x-signature", &format!("sha256={}", sign("s3cret", body)))]);
    assert_eq!(verify(&spec, &good, body).unwrap().ids, ["1", "2"]);
    let bad = h(&[("X-Signature", &sign("other", body))]);
    assert!(verify(&spec, &bad, body)
        .unwrap_err()
        .contains("does not match"));
    assert!(verify(&spec, &[], body)
        .unwrap_err()
        .contains("no `X-Signature` header"));
    let create = br#"{"event":"contacts.items.create","key":5}"#;
    let sig = sign("s3cret", create);
    assert_eq!(
        verify(&spec, &h(&[("X-Signature", &sig)]), create)
            .unwrap()
            .ids,
        ["5"]
    );
    assert_eq!(base64("aGk="), Some(b"hi".to_vec()));
}

/// The replay key is the MAC einklang computed, not the header's text:
/// the same signature in base64 or with another prefix is the same key.
#[test]
fn a_re_encoded_signature_is_the_same_replay_key() {
    let spec = plain();
    let body = br#"{"key":7}"#;
    let hex = sign("s3cret", body);
    let raw: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let b64 = encode64(&raw);
    let a = verify(&spec, &h(&[("X-Signature", &hex)]), body).unwrap();
    let b = verify(&spec, &h(&[("X-Signature", &format!("v1={b64}"))]), body).unwrap();
    assert_eq!(a.keys, b.keys);
    assert_eq!(a.keys, [format!("signature:{hex}")]);
    assert_eq!(a.remember, Duration::from_secs(600));
}

fn encode64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    out
}

#[test]
fn a_delivery_id_is_a_replay_key_and_required_when_configured() {
    let spec = Webhook {
        delivery_header: Some("X-GitHub-Delivery".into()),
        ..plain()
    };
    let body = br#"{"key":1}"#;
    let sig = sign("s3cret", body);
    let d = verify(
        &spec,
        &h(&[("X-Signature", &sig), ("x-github-delivery", "d-42")]),
        body,
    )
    .unwrap();
    assert_eq!(d.id.as_deref(), Some("d-42"));
    assert!(
        d.keys.contains(&"delivery:d-42".to_string()),
        "{:?}",
        d.keys
    );
    let err = verify(&spec, &h(&[("X-Signature", &sig)]), body).unwrap_err();
    assert!(err.contains("no `X-GitHub-Delivery` header"), "{err}");
}

/// Stripe style: `Stripe-Signature: t=…,v1=…` over `"{t}.{body}"`.
#[test]
fn a_signed_timestamp_must_lie_within_the_tolerance() {
    let spec = Webhook {
        signature_header: "Stripe-Signature".into(),
        timestamp_header: Some("Stripe-Signature".into()),
        signed: "{timestamp}.{body}".into(),
        tolerance_s: 300,
        ..plain()
    };
    let body = br#"{"key":"cus_1"}"#;
    let t = 1_700_000_000i64;
    let sig = sign(
        "s3cret",
        format!("{t}.{}", std::str::from_utf8(body).unwrap()).as_bytes(),
    );
    let headers = h(&[("Stripe-Signature", &format!("t={t},v1={sig},v0=00ff"))]);
    let ok = verify_at(&spec, &headers, body, t + 299).unwrap();
    assert_eq!(ok.ids, ["cus_1"]);
    assert_eq!(ok.remember, Duration::from_secs(600), "max(600, 2 × 300)");
    let late = verify_at(&spec, &headers, body, t + 301).unwrap_err();
    assert!(
        late.contains("301 s away") && late.contains("tolerance_s = 300"),
        "{late}"
    );
    assert!(
        verify_at(&spec, &headers, body, t - 301).is_err(),
        "from the future"
    );
    // a fresh timestamp on a captured signature does not verify
    let moved = h(&[("Stripe-Signature", &format!("t={},v1={sig}", t + 1000))]);
    let err = verify_at(&spec, &moved, body, t + 1000).unwrap_err();
    assert!(err.contains("does not match"), "{err}");
}

/// Slack style: the timestamp in a header of its own, `v0:{t}:{body}`.
#[test]
fn a_timestamp_header_of_its_own_is_signed_with_the_body() {
    let spec = Webhook {
        signature_header: "X-Slack-Signature".into(),
        timestamp_header: Some("X-Slack-Request-Timestamp".into()),
        signed: "v0:{timestamp}:{body}".into(),
        tolerance_s: 60,
        replay_window_s: 10,
        ..plain()
    };
    let body = br#"{"keys":["a"]}"#;
    let sig = sign("s3cret", br#"v0:1000:{"keys":["a"]}"#);
    let headers = h(&[
        ("X-Slack-Signature", &format!("v0={sig}")),
        ("X-Slack-Request-Timestamp", "1000"),
    ]);
    let d = verify_at(&spec, &headers, body, 1030).unwrap();
    assert_eq!(d.remember, Duration::from_secs(120), "2 × tolerance");
    let no_time = h(&[("X-Slack-Signature", &format!("v0={sig}"))]);
    let err = verify_at(&spec, &no_time, body, 1030).unwrap_err();
    assert!(
        err.contains("no `X-Slack-Request-Timestamp` header"),
        "{err}"
    );
    let garbled = h(&[
        ("X-Slack-Signature", &format!("v0={sig}")),
        ("X-Slack-Request-Timestamp", "yesterday"),
    ]);
    let err = verify_at(&spec, &garbled, body, 1030).unwrap_err();
    assert!(err.contains("holds no timestamp"), "{err}");
}
