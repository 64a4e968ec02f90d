//! Who is calling: `GET /lookup/phone` finds the records carrying a number
//! whatever its format, through the match keys matching on ingest keeps.

mod common;

use axum::http::StatusCode;
use common::{call, token_of};
use einklang_engine::{run_job, NoProgress, RunOptions};

const CONFIG: &str = r#"
store = "hub.db"
tenant = "acme"
region = "DE"

[entities.contact]
name = "text"
phone = "text"

[connectors.people]
kind = "csv"
path = "people.csv"

[map.people.contact]
id = "id"
fields = { name = "name", phone = "phone" }

[jobs.import]
pull = ["people"]

[matching.contact]
compare = [
  { field = "name", kind = "name" },
  { field = "phone", kind = "phone" },
]
"#;

#[tokio::test]
async fn a_number_in_any_format_finds_the_records_carrying_it() {
    let hub = common::hub_with(CONFIG, None);
    std::fs::write(
        hub.dir.path().join("people.csv"),
        "id,name,phone\n1,Anna Berg,+49 152 4857109\n2,Bo Lind,030 1234567\n3,Cem Acar,\n",
    )
    .unwrap();
    let mut store = common::open(&hub.config);
    run_job(
        &hub.config,
        store.as_mut(),
        "import",
        &RunOptions::default(),
        &NoProgress,
    )
    .unwrap();
    let view = token_of("acme", "view");
    for typed in [
        "0152/4857109",
        "+49 (152) 485-71-09",
        "0049 1524857109",
        "+4915248571 09",
    ] {
        let uri = format!(
            "/lookup/phone?number={}",
            typed
                .replace('+', "%2B")
                .replace(' ', "%20")
                .replace('/', "%2F")
        );
        let (status, body, _) = call(&hub, "GET", &uri, Some(&view), None).await;
        assert_eq!(status, StatusCode::OK, "{typed}: {body}");
        let records = body["records"].as_array().unwrap();
        assert_eq!(records.len(), 1, "{typed}: {body}");
        assert_eq!(records[0]["values"]["name"], "Anna Berg");
        assert_eq!(records[0]["entity"], "contact");
    }
    let (_, body, _) = call(
        &hub,
        "GET",
        "/lookup/phone?number=%2B49301234567",
        Some(&view),
        None,
    )
    .await;
    assert_eq!(body["records"][0]["values"]["name"], "Bo Lind", "{body}");
    let (_, body, _) = call(
        &hub,
        "GET",
        "/lookup/phone?number=0711%20999999",
        Some(&view),
        None,
    )
    .await;
    assert_eq!(body["records"], serde_json::json!([]), "nobody has it");
    let (status, _, _) = call(&hub, "GET", "/lookup/phone?number=anna", Some(&view), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = call(
        &hub,
        "GET",
        "/lookup/phone?number=0152",
        Some(&token_of("other", "ops")),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another tenant's token");
    let (status, _, _) = call(&hub, "GET", "/lookup/phone?number=0152", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
