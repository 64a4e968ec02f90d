//! The employes.nl-like API over HTTP: auth, paging with its limits and
//! a list that changes between pages, contracts as history, the ugly
//! values, failures and the rate limit.

use super::EmployesOptions;
use crate::testclient::get;
use crate::{Emulator, Options};
use serde_json::{json, Value};

fn auth(emu: &Emulator) -> String {
    format!("Bearer {}", emu.employes().token())
}

fn page(emu: &Emulator, query: &str) -> Value {
    let url = format!("{}/employees?{query}", emu.employes().base_url());
    let r = get(&url, &[("Authorization", &auth(emu))]);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

#[test]
fn employees_page_in_number_order_with_totals_and_an_empty_page_past_the_end() {
    let emu = Emulator::start(Options::default());
    let ids = emu.employes().seed(57);
    let first = page(&emu, "per_page=25");
    assert_eq!(
        (
            first["page"].clone(),
            first["pages"].clone(),
            first["total"].clone()
        ),
        (json!(1), json!(3), json!(57))
    );
    assert_eq!(first["data"].as_array().unwrap().len(), 25);
    assert_eq!(first["data"][0]["id"], json!(ids[0]));
    let mut seen = Vec::new();
    for p in 1..=3 {
        let body = page(&emu, &format!("page={p}&per_page=25"));
        seen.extend(
            body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["employee_number"].as_u64().unwrap()),
        );
    }
    assert_eq!(seen.len(), 57);
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "number order: {seen:?}"
    );
    let past = page(&emu, "page=4&per_page=25");
    assert_eq!(past["data"], json!([]), "200 and nothing, not 204");
    // more than 100 a page is clamped; no per_page is 25
    assert_eq!(page(&emu, "per_page=500")["per_page"], json!(100));
    assert_eq!(page(&emu, "")["data"].as_array().unwrap().len(), 25);
}

#[test]
fn a_list_that_changes_between_pages_moves_employees_across_them() {
    let emu = Emulator::start(Options::default());
    let e = emu.employes();
    e.seed(10);
    let first = page(&emu, "page=1&per_page=5");
    // a new hire with a low employee number lands on page 1 meanwhile:
    // page 2 now starts with what page 1 ended with
    e.insert(json!({"first_name": "Lotte", "surname": "Mulder", "employee_number": 1}));
    let second = page(&emu, "page=2&per_page=5");
    assert_eq!(first["data"][4]["id"], second["data"][0]["id"]);
    assert_eq!(second["total"], json!(11));
}

#[test]
fn contracts_are_the_history_with_money_as_text_and_open_ends() {
    let emu = Emulator::start(Options::default());
    let e = emu.employes();
    let id = e.insert(json!({"first_name": "Sanne", "surname": "de Vries"}));
    let url = |path: &str| format!("{}/employees/{id}{path}", e.base_url());
    let a = auth(&emu);
    let none = get(&url("/employments"), &[("Authorization", &a)]);
    assert_eq!(
        none.json(),
        json!({"data": []}),
        "a new hire has no contract yet"
    );
    e.employ(
        &id,
        json!({"start_date": "2024-09-01", "hours_per_week": 32, "salary": "2845.50"}),
    );
    e.employ(
        &id,
        json!({"start_date": "2025-03-01", "hours_per_week": 31.5, "salary": "2990.00"}),
    );
    e.amend(&id, json!({"salary": "3045.00"}));
    let list = get(&url("/employments"), &[("Authorization", &a)]).json()["data"].clone();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(
        list[0]["end_date"],
        json!("2025-02-28"),
        "the earlier contract ends the day before"
    );
    assert_eq!(list[1]["end_date"], Value::Null);
    assert_eq!(list[1]["salary"], json!("3045.00"));
    assert_eq!(list[1]["hours_per_week"], json!(31.5));
    let one = get(&url(""), &[("Authorization", &a)]);
    assert_eq!(one.json()["first_name"], json!("Sanne"));
    e.remove(&id);
    assert_eq!(get(&url(""), &[("Authorization", &a)]).status, 404);
    assert_eq!(
        get(&url("/employments"), &[("Authorization", &a)]).status,
        404
    );
}

#[test]
fn auth_company_failures_and_the_rate_limit_answer_first() {
    let emu = Emulator::start(Options {
        employes: EmployesOptions {
            rps: Some(3),
            ..EmployesOptions::default()
        },
        ..Options::default()
    });
    let e = emu.employes();
    e.seed(2);
    let list = format!("{}/employees", e.base_url());
    assert_eq!(get(&list, &[]).status, 401);
    assert_eq!(get(&list, &[("Authorization", "Bearer wrong")]).status, 401);
    let other = list.replace(&EmployesOptions::default().company, "someone-else");
    assert_eq!(get(&other, &[("Authorization", &auth(&emu))]).status, 404);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    e.fail_next(&[500]);
    let failed = get(&list, &[("Authorization", &auth(&emu))]);
    assert_eq!(failed.status, 500);
    assert!(failed.body.contains("Injected failure"));
    let mut limited = None;
    for _ in 0..5 {
        let r = get(&list, &[("Authorization", &auth(&emu))]);
        if r.status == 429 {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("a 429 past 3 requests a second");
    assert_eq!(r.header("retry-after"), "1");
    assert!(e.count("429") >= 1);
}
