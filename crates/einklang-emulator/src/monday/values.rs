//! monday.com column values: what a write may send per column type and
//! how a value reads back. After the monday docs "Changing column values"
//! and the per-column pages (email, phone, text, long text, numbers,
//! status, date; developer.monday.com/api-reference/docs/…): a write sends
//! a JSON object or a simple string per column (`{"email": "a@b.c",
//! "text": "a@b.c"}` or `"a@b.c a@b.c"`; `{"phone": "+49…",
//! "countryShortName": "DE"}` or `"+49… DE"`; a text column a plain
//! string); `null`, `""` or `{}` clears. A read gives `value`, a JSON
//! *string* (`"{\"email\":\"a@b.c\",\"text\":\"a@b.c\",\"changed_at\":…}"`,
//! a text column's `"\"hello\""`) or `null`, and `text`, the display text
//! (`""` when empty). Phones must carry a two-letter country code (the
//! changelog's phone validation). Display texts of email (the address) and
//! date (`date` or `date time`) are this emulator's reading of the docs.

use serde_json::{json, Map, Value};

/// A column of a board.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// Its id (`email`, `phone_mkx1`, …).
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its type: `name`, `text`, `long_text`, `email`, `phone`, `numbers`,
    /// `status`, `date` (others are stored as sent).
    pub kind: String,
    /// A status column's labels, by index.
    pub labels: Vec<String>,
}

/// The GraphQL type of a column's value (for `... on EmailValue`).
pub fn typename(kind: &str) -> &'static str {
    match kind {
        "email" => "EmailValue",
        "phone" => "PhoneValue",
        "text" => "TextValue",
        "long_text" => "LongTextValue",
        "numbers" => "NumbersValue",
        "status" => "StatusValue",
        "date" => "DateValue",
        _ => "ColumnValue",
    }
}

/// A write's value for `col`: what is stored (`None`: cleared), or the
/// message of a `ColumnValueException`.
pub fn parse(col: &Column, v: &Value) -> Result<Option<Value>, String> {
    let empty = match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    };
    if empty {
        return Ok(None);
    }
    let invalid = || {
        format!("invalid value, please check our API documentation for the correct data structure for this column ({})", col.kind)
    };
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let stored = match (col.kind.as_str(), v) {
        ("email", Value::String(s)) => email(
            s.split_once(' ')
                .map_or((s.as_str(), s.as_str()), |(a, b)| (a, b)),
        )?,
        ("email", Value::Object(_)) => email((
            &text("email").ok_or_else(invalid)?,
            &text("text").or(text("email")).unwrap_or_default(),
        ))?,
        ("phone", Value::String(s)) => {
            phone(s.rsplit_once(' ').map_or((s.as_str(), ""), |(a, b)| (a, b)))?
        }
        ("phone", Value::Object(_)) => phone((
            &text("phone").ok_or_else(invalid)?,
            &text("countryShortName").unwrap_or_default(),
        ))?,
        ("text", Value::String(s)) => json!(s),
        ("text", Value::Number(n)) => json!(n.to_string()),
        ("long_text", Value::String(s)) => json!({ "text": s }),
        ("long_text", Value::Object(_)) => json!({ "text": text("text").ok_or_else(invalid)? }),
        ("numbers", _) => numbers(v).ok_or_else(invalid)?,
        ("status", _) => status(col, v)?,
        ("date", Value::String(s)) => date(
            s.split_once(' ')
                .map_or((s.as_str(), None), |(d, t)| (d, Some(t))),
        )?,
        ("date", Value::Object(_)) => {
            date((&text("date").ok_or_else(invalid)?, text("time").as_deref()))?
        }
        ("text" | "long_text" | "email" | "phone" | "date", _) => return Err(invalid()),
        (_, other) => other.clone(),
    };
    Ok(Some(stored))
}

fn email((address, label): (&str, &str)) -> Result<Value, String> {
    if !address.contains('@') {
        return Err(format!("invalid email address: {address}"));
    }
    Ok(json!({"email": address, "text": if label.is_empty() { address } else { label }}))
}

fn phone((number, country): (&str, &str)) -> Result<Value, String> {
    let digits = number.chars().filter(char::is_ascii_digit).count();
    if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) || digits < 5 {
        return Err(format!(
            "invalid phone number or country code: {number} {country}"
        ));
    }
    Ok(json!({"phone": number, "countryShortName": country}))
}

fn numbers(v: &Value) -> Option<Value> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        _ => return None,
    };
    text.parse::<f64>().ok().map(|_| json!(text))
}

fn status(col: &Column, v: &Value) -> Result<Value, String> {
    let label = v.as_str().or_else(|| v.get("label")?.as_str());
    let index = match (label, v.get("index").and_then(Value::as_u64)) {
        (Some(l), _) => col.labels.iter().position(|x| x == l),
        (None, Some(i)) => Some(i as usize).filter(|i| *i < col.labels.len()),
        _ => None,
    };
    match index {
        Some(i) => Ok(json!({ "index": i })),
        None => Err(format!(
            "This status label doesn't exist, possible statuses are: {:?}",
            col.labels
        )),
    }
}

fn date((day, time): (&str, Option<&str>)) -> Result<Value, String> {
    let ok_day = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").is_ok();
    let ok_time = time.is_none_or(|t| chrono::NaiveTime::parse_from_str(t, "%H:%M:%S").is_ok());
    if !ok_day || !ok_time {
        return Err(format!(
            "invalid date, expected YYYY-MM-DD [HH:MM:SS]: {day} {}",
            time.unwrap_or("")
        ));
    }
    Ok(match time {
        Some(t) => json!({"date": day, "time": t}),
        None => json!({ "date": day }),
    })
}

/// A column's value as an item's `column_values` entry: `id`, `type`,
/// `text`, `value` (a JSON string or `null`), `column`, `__typename` and
/// the typed fields of its implementation (`email`, `phone`, `label`, …).
pub fn render(col: &Column, stored: Option<&Value>, changed_at: &str) -> Value {
    let mut out = json!({
        "__typename": typename(&col.kind), "id": col.id, "type": col.kind, "text": "", "value": null,
        "column": {"id": col.id, "title": col.title, "type": col.kind},
    });
    let Some(stored) = stored else {
        return out;
    };
    let (raw, text, typed) = shape(col, stored, changed_at);
    out["value"] = json!(raw.to_string());
    out["text"] = json!(text);
    if let (Value::Object(o), Value::Object(t)) = (&mut out, typed) {
        o.extend(t);
    }
    out
}

/// The raw value (before it becomes a string), the text and typed fields.
fn shape(col: &Column, stored: &Value, changed_at: &str) -> (Value, String, Value) {
    let s = |k: &str| {
        stored
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let stamped = |mut v: Value| {
        v["changed_at"] = json!(changed_at);
        v
    };
    match col.kind.as_str() {
        "email" => (
            stamped(stored.clone()),
            s("email"),
            json!({"email": s("email"), "label": s("text")}),
        ),
        "phone" => (
            stamped(stored.clone()),
            s("phone"),
            json!({"phone": s("phone"), "country_short_name": s("countryShortName")}),
        ),
        "long_text" => (stamped(stored.clone()), s("text"), json!({})),
        "status" => {
            let i = stored["index"].as_u64().unwrap_or(0) as usize;
            let label = col.labels.get(i).cloned().unwrap_or_default();
            let raw = json!({"index": i, "post_id": null, "changed_at": changed_at});
            (raw, label.clone(), json!({"index": i, "label": label}))
        }
        "date" => {
            let text = format!("{} {}", s("date"), s("time")).trim().to_string();
            (
                stamped(stored.clone()),
                text,
                json!({"date": s("date"), "time": stored.get("time")}),
            )
        }
        _ => match stored {
            Value::String(t) => (stored.clone(), t.clone(), json!({})),
            other => (other.clone(), other.to_string(), json!({})),
        },
    }
}

/// The `column_values` argument: a JSON *string* holding an object of
/// column id → value. Anything else is refused.
pub fn decode(arg: Option<&Value>) -> Result<Map<String, Value>, String> {
    match arg {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(o)) => Ok(o),
            _ => Err(format!("column_values is not a JSON object: {s}")),
        },
        Some(other) => Err(format!("column_values must be a JSON string, not {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(kind: &str) -> Column {
        Column {
            id: kind.into(),
            title: kind.into(),
            kind: kind.into(),
            labels: vec!["Working on it".into(), "Done".into()],
        }
    }

    fn read(kind: &str, write: Value) -> (Value, Value) {
        let c = col(kind);
        let stored = parse(&c, &write).unwrap();
        let out = render(&c, stored.as_ref(), "2026-01-26T10:00:00Z");
        let value = out["value"]
            .as_str()
            .map(|s| serde_json::from_str(s).unwrap())
            .unwrap_or(Value::Null);
        (value, out["text"].clone())
    }

    #[test]
    fn values_read_back_as_json_strings_with_a_display_text() {
        let (v, t) = read("email", json!({"email": "a@b.c", "text": "Anna"}));
        assert_eq!(
            (v, t),
            (
                json!({"email": "a@b.c", "text": "Anna", "changed_at": "2026-01-26T10:00:00Z"}),
                json!("a@b.c")
            )
        );
        let (v, t) = read("email", json!("a@b.c Anna Berger"));
        assert_eq!(
            (v["text"].clone(), t),
            (json!("Anna Berger"), json!("a@b.c"))
        );
        let (v, t) = read("phone", json!("+49 170 1234567 DE"));
        assert_eq!(
            (v["phone"].clone(), v["countryShortName"].clone(), t),
            (
                json!("+49 170 1234567"),
                json!("DE"),
                json!("+49 170 1234567")
            )
        );
        let (v, t) = read("text", json!("hello"));
        assert_eq!((v, t), (json!("hello"), json!("hello")));
        let (v, t) = read("status", json!({"label": "Done"}));
        assert_eq!((v["index"].clone(), t), (json!(1), json!("Done")));
        let (_, t) = read("date", json!({"date": "2026-02-01", "time": "09:30:00"}));
        assert_eq!(t, json!("2026-02-01 09:30:00"));
    }

    #[test]
    fn a_text_value_is_a_json_encoded_string() {
        let c = col("text");
        let out = render(&c, parse(&c, &json!("hi")).unwrap().as_ref(), "t");
        assert_eq!(out["value"], json!("\"hi\""));
    }

    #[test]
    fn empty_writes_clear_and_read_as_null() {
        for empty in [json!(null), json!(""), json!({})] {
            assert_eq!(parse(&col("email"), &empty).unwrap(), None);
        }
        let out = render(&col("email"), None, "t");
        assert_eq!(
            (out["value"].clone(), out["text"].clone()),
            (Value::Null, json!(""))
        );
    }

    #[test]
    fn invalid_values_are_refused() {
        assert!(parse(&col("email"), &json!("not-an-address")).is_err());
        assert!(
            parse(&col("phone"), &json!({"phone": "+49 170 1234567"})).is_err(),
            "no country code"
        );
        assert!(parse(&col("phone"), &json!("+49 170 1234567 Germany")).is_err());
        assert!(parse(&col("status"), &json!({"label": "Stuck"})).is_err());
        assert!(parse(&col("date"), &json!("01.02.2026")).is_err());
        assert!(parse(&col("numbers"), &json!("twelve")).is_err());
        assert!(parse(&col("text"), &json!({"text": "x"})).is_err());
    }

    #[test]
    fn column_values_must_be_a_json_string() {
        assert_eq!(
            decode(Some(&json!("{\"text\": \"x\"}"))).unwrap()["text"],
            json!("x")
        );
        assert!(decode(Some(&json!({"text": "x"}))).is_err());
        assert!(decode(Some(&json!("[1]"))).is_err());
    }
}
