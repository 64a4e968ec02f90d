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
        scheme: Scheme::Hmac,
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

fn espo_spec() -> Webhook {
    Webhook {
        scheme: Scheme::Espo {
            webhook_id: "66f0a1b2c3d4e5f60".into(),
        },
        signature_header: "Signature".into(),
        secret: "espo-secret-key".into(),
        ids: vec!["/*/id".into()],
        ..plain()
    }
}

/// EspoCRM's `Signature`, built as its docs say (PHP:
/// `base64_encode($webhookId . ':' . hash_hmac('sha256', $payload, $secretKey))`).
fn espo_signature(hook: &str, secret: &str, body: &[u8]) -> String {
    encode64(format!("{hook}:{}", sign(secret, body)).as_bytes())
}

#[test]
fn espo_signature_over_a_batch_names_every_record() {
    let spec = espo_spec();
    let body = br#"[{"id":"a1","lastName":"Berger"},{"id":"b2"},{"id":"a1","firstName":"Anna"}]"#;
    let sig = espo_signature("66f0a1b2c3d4e5f60", "espo-secret-key", body);
    let d = verify(&spec, &h(&[("Signature", &sig)]), body).unwrap();
    assert_eq!(d.ids, ["a1", "b2"], "every element, each id once");
    assert_eq!(
        d.keys,
        [format!("signature:{}", sign("espo-secret-key", body))]
    );
    // the emulator signs the same way
    let emu = einklang_emulator::espo::hooks::signature(
        "66f0a1b2c3d4e5f60",
        "espo-secret-key",
        std::str::from_utf8(body).unwrap(),
    );
    assert_eq!(emu, sig);
}

#[test]
fn espo_refuses_a_wrong_key_a_wrong_hook_a_changed_body_and_no_header() {
    let spec = espo_spec();
    let body = br#"[{"id":"a1"}]"#;
    let wrong_key = espo_signature("66f0a1b2c3d4e5f60", "other", body);
    let err = verify(&spec, &h(&[("Signature", &wrong_key)]), body).unwrap_err();
    assert!(err.contains("does not match"), "{err}");
    let other_hook = espo_signature("0000000000000000a", "espo-secret-key", body);
    let err = verify(&spec, &h(&[("Signature", &other_hook)]), body).unwrap_err();
    assert!(err.contains("not webhook_id `66f0a1b2c3d4e5f60`"), "{err}");
    let good = espo_signature("66f0a1b2c3d4e5f60", "espo-secret-key", body);
    let err = verify(&spec, &h(&[("Signature", &good)]), br#"[{"id":"a2"}]"#).unwrap_err();
    assert!(err.contains("does not match"), "{err}");
    let err = verify(&spec, &h(&[("X-Signature", &good)]), body).unwrap_err();
    assert!(err.contains("no `Signature` header"), "{err}");
    // the plain hex HMAC (another scheme's) is not EspoCRM's signature
    let err = verify(
        &spec,
        &h(&[("Signature", &sign("espo-secret-key", body))]),
        body,
    )
    .unwrap_err();
    assert!(err.contains("refused"), "{err}");
}

#[test]
fn hmac_base64_with_a_prefix_verifies_and_without_one_too() {
    let spec = Webhook {
        ids: vec!["/*/id".into()],
        ..plain()
    };
    let body = br#"[{"id":1},{"id":2}]"#;
    let hex = sign("s3cret", body);
    let raw: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    for given in [
        format!("sha256={}", encode64(&raw)),
        encode64(&raw),
        format!("sha256={hex}"),
    ] {
        let d = verify(&spec, &h(&[("X-Signature", &given)]), body).unwrap();
        assert_eq!(d.ids, ["1", "2"], "{given}");
    }
    let err = verify(
        &spec,
        &h(&[("X-Signature", &format!("sha256={}", sign("x", body)))]),
        body,
    )
    .unwrap_err();
    assert!(err.contains("does not match"), "{err}");
}

fn secret_spec(header: Option<&str>, param: Option<&str>) -> Webhook {
    Webhook {
        scheme: Scheme::Secret {
            header: header.map(str::to_string),
            param: param.map(str::to_string),
        },
        signature_header: String::new(),
        secret: "tok-77".into(),
        ids: vec!["/id".into()],
        ..plain()
    }
}

#[test]
fn a_shared_secret_in_a_header_or_a_query_parameter() {
    let body = br#"{"id":"r9"}"#;
    let in_header = secret_spec(Some("X-Webhook-Token"), None);
    let d = verify(&in_header, &h(&[("x-webhook-token", "tok-77")]), body).unwrap();
    assert_eq!(d.ids, ["r9"]);
    assert!(d.keys[0].starts_with("body:"), "{:?}", d.keys);
    let err = verify(&in_header, &h(&[("X-Webhook-Token", "tok-78")]), body).unwrap_err();
    assert!(err.contains("wrong"), "{err}");
    let err = verify(&in_header, &[], body).unwrap_err();
    assert!(err.contains("no `X-Webhook-Token` header"), "{err}");
    let in_query = secret_spec(None, Some("token"));
    let d = verify_call(&in_query, "a=1&token=tok%2D77", &[], body).unwrap();
    assert_eq!(d.ids, ["r9"]);
    let err = verify_call(&in_query, "token=tok-7", &[], body).unwrap_err();
    assert!(err.contains("query parameter `token`"), "{err}");
    let err = verify_call(&in_query, "", &[], body).unwrap_err();
    assert!(err.contains("no `token` query parameter"), "{err}");
    // the same body twice is the same call
    let again = verify_call(&in_query, "token=tok-77", &[], body).unwrap();
    assert_eq!(again.keys, d.keys);
}

#[test]
fn a_form_encoded_body_gives_its_ids() {
    let spec = Webhook {
        ids: vec!["/id".into(), "/contacts[update][0][id]".into()],
        ..secret_spec(Some("X-Token"), None)
    };
    let form = h(&[
        ("X-Token", "tok-77"),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ]);
    let body = b"contacts%5Bupdate%5D%5B0%5D%5Bid%5D=4711&account%5Bsubdomain%5D=x";
    assert_eq!(verify(&spec, &form, body).unwrap().ids, ["4711"]);
    // without the content type: a body that is not JSON but reads as a form
    let body = b"id=a+b&id=c%26d";
    let d = verify(&spec, &h(&[("X-Token", "tok-77")]), body).unwrap();
    assert_eq!(d.ids, ["a b", "c&d"], "a field given twice is a list");
    let err = verify(&spec, &h(&[("X-Token", "tok-77")]), b"{not json").unwrap_err();
    assert!(err.contains("not JSON"), "{err}");
}

fn graph_spec() -> Webhook {
    Webhook {
        scheme: Scheme::Graph,
        signature_header: String::new(),
        secret: "client-state-5".into(),
        ids: vec!["/value/*/resourceData/id".into()],
        ..plain()
    }
}

#[test]
fn graph_validation_token_is_echoed_and_notifications_need_the_client_state() {
    let spec = graph_spec();
    let d = verify_call(
        &spec,
        "validationToken=Validation%3A+Testing+client+application",
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(
        d.handshake.as_deref(),
        Some("Validation: Testing client application")
    );
    assert!(d.ids.is_empty() && d.keys.is_empty());
    let long = format!("validationToken={}", "x".repeat(MAX_TOKEN + 1));
    assert!(verify_call(&spec, &long, &[], b"").is_err());
    let body = br##"{"value":[
        {"subscriptionId":"s1","clientState":"client-state-5","changeType":"updated","resource":"Users/u/Contacts/AAA","resourceData":{"@odata.type":"#Microsoft.Graph.Contact","id":"AAA"}},
        {"subscriptionId":"s1","clientState":"client-state-5","changeType":"created","resource":"Users/u/Contacts/BBB","resourceData":{"id":"BBB"}}]}"##;
    let d = verify(&spec, &[], body).unwrap();
    assert_eq!(d.ids, ["AAA", "BBB"]);
    assert_eq!(d.handshake, None);
    let forged = String::from_utf8(body.to_vec())
        .unwrap()
        .replacen("client-state-5", "guess", 1);
    let err = verify(&spec, &[], forged.as_bytes()).unwrap_err();
    assert!(
        err.contains("notification 0") && err.contains("clientState"),
        "{err}"
    );
    let none = br#"{"value":[{"resourceData":{"id":"AAA"}}]}"#;
    assert!(verify(&spec, &[], none).is_err());
    assert!(verify(&spec, &[], br#"{"value":[]}"#).is_err());
    // a lifecycle notification names no record: it makes an ordinary run
    let missed = br#"{"value":[{"subscriptionId":"s1","clientState":"client-state-5","lifecycleEvent":"missed"}]}"#;
    let d = verify(&spec, &[], missed).unwrap();
    assert!(d.ids.is_empty() && d.handshake.is_none(), "{d:?}");
    let forged = br#"{"value":[{"clientState":"x","lifecycleEvent":"missed"}]}"#;
    assert!(verify(&spec, &[], forged).is_err());
}

#[test]
fn a_star_takes_every_element_and_nested_lists() {
    let v: Value = serde_json::from_str(
        r#"{"a":[{"b":[1,2]},{"b":3},{"c":4}],"o":{"x":{"id":"p"},"y":{"id":"q"}}}"#,
    )
    .unwrap();
    let got: Vec<String> = select(&v, "/a/*/b").iter().map(|v| v.to_string()).collect();
    assert_eq!(got, ["[1,2]", "3"]);
    assert_eq!(select(&v, "/o/*/id").len(), 2);
    assert_eq!(select(&v, "/a/1/b")[0], &Value::from(3));
    assert!(select(&v, "/nothing/*").is_empty());
}
