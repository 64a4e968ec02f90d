//! Tests for filter parsing and evaluation.

use super::*;
use proptest::prelude::*;
use serde_json::json;

fn eval(filter: &str, raw: serde_json::Value) -> Result<bool, String> {
    parse(filter).unwrap().eval(raw.as_object().unwrap())
}

#[test]
fn parses_the_seed_filter() {
    let f = parse("created_at >= 2025-01-01 and status_id != 143").unwrap();
    assert_eq!(
        f.expr,
        Expr::And(
            Box::new(Expr::Cmp {
                path: "created_at".into(),
                op: CmpOp::Ge,
                value: Literal::Date(chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()),
            }),
            Box::new(Expr::Cmp {
                path: "status_id".into(),
                op: CmpOp::Ne,
                value: Literal::Number(143.0)
            }),
        )
    );
}

#[test]
fn precedence_not_and_or() {
    let raw = json!({"a": 1, "b": 2});
    assert_eq!(eval("a = 1 or b = 3 and b = 4", raw.clone()), Ok(true));
    assert_eq!(eval("(a = 1 or b = 3) and b = 4", raw.clone()), Ok(false));
    assert_eq!(eval("not a = 2 AND b == 2", raw), Ok(true));
}

#[test]
fn comparisons_across_types() {
    let raw = json!({"n": "143", "s": "won", "d": "2025-03-01 10:00:00", "e": 1735689600, "b": "ja", "addr": {"city": "Ljubljana"}});
    assert_eq!(eval("n = 143", raw.clone()), Ok(true));
    assert_eq!(eval("n > 100.5", raw.clone()), Ok(true));
    assert_eq!(eval("s = 'won'", raw.clone()), Ok(true));
    assert_eq!(eval("s in ('open', \"won\")", raw.clone()), Ok(true));
    assert_eq!(eval("d >= 2025-03-01", raw.clone()), Ok(true));
    assert_eq!(eval("d < 2025-03-01T09:00:00Z", raw.clone()), Ok(false));
    assert_eq!(
        eval("e >= 2025-01-01 and e < 2025-01-02", raw.clone()),
        Ok(true)
    );
    assert_eq!(eval("b = true", raw.clone()), Ok(true));
    assert_eq!(eval("addr.city = 'Ljubljana'", raw.clone()), Ok(true));
    assert_eq!(eval("s = 143", raw.clone()), Ok(false));
    assert!(eval("s > 143", raw)
        .unwrap_err()
        .contains("field `s` holds 'won', which is not a number"));
}

#[test]
fn missing_fields_and_emptiness() {
    let raw = json!({"e": "", "x": null});
    assert_eq!(eval("missing = 1", raw.clone()), Ok(false));
    assert_eq!(eval("missing != 1", raw.clone()), Ok(true));
    assert_eq!(eval("missing > 1", raw.clone()), Ok(false));
    assert_eq!(eval("x = null", raw.clone()), Ok(true));
    assert_eq!(
        eval("e is empty and missing is empty", raw.clone()),
        Ok(true)
    );
    assert_eq!(eval("e is not empty", raw), Ok(false));
}

#[test]
fn errors_point_at_the_column() {
    let err = |s: &str| parse(s).unwrap_err();
    assert_eq!(err("status_id !! 143").column, 10);
    let e = err("a = 1 and");
    assert_eq!(
        (e.column, e.message.as_str()),
        (9, "expected a field name, found the end of the filter")
    );
    assert_eq!(err("a = 'open").message, "unterminated text literal");
    assert_eq!(
        err("(a = 1").message,
        "expected `)`, found the end of the filter"
    );
    assert_eq!(err("a in (1, 2").column, 10);
    assert!(err("a = 1 b").message.contains("unexpected `b`"));
    assert!(err("a").message.starts_with("expected an operator"));
    assert_eq!(err("a = 1 # x").column, 6);
}

proptest! {
    #[test]
    fn parse_never_panics(s in "\\PC{0,40}") {
        let _ = parse(&s);
    }

    #[test]
    fn comparison_agrees_with_rust(a in -1000i64..1000, b in -1000i64..1000) {
        let raw = json!({"v": a});
        prop_assert_eq!(eval(&format!("v < {b}"), raw.clone()), Ok(a < b));
        prop_assert_eq!(eval(&format!("v >= {b}"), raw.clone()), Ok(a >= b));
        prop_assert_eq!(eval(&format!("not v = {b}"), raw), Ok(a != b));
    }
}

#[test]
fn paths_reach_keyed_elements_and_pointers() {
    let lead = json!({
        "status_id": 79790631,
        "custom_fields_values": [{"field_id": 1218176, "values": [{"value": 1735718400}]}],
        "_embedded": {"contacts": [{"id": 9, "is_main": true}]}
    });
    let f =
        "custom_fields_values[field_id=1218176].values[0].value >= 1735689600 and status_id != 143";
    assert_eq!(eval(f, lead.clone()), Ok(true));
    assert_eq!(
        eval("_embedded.contacts[is_main=true].id = 9", lead.clone()),
        Ok(true)
    );
    assert_eq!(
        eval("/custom_fields_values/0/field_id = 1218176", lead.clone()),
        Ok(true)
    );
    assert_eq!(
        eval("custom_fields_values[field_id=1].values is empty", lead),
        Ok(true)
    );
}

#[test]
fn a_bad_path_in_a_filter_is_located() {
    let e = parse("status_id = 1 and cf[field_id=1.values[0] > 2").unwrap_err();
    assert_eq!(e.column, 30, "{e:?}");
    assert!(e.message.contains("must be quoted"), "{e:?}");
}
