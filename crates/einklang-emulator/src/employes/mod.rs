//! An employes.nl-like payroll API (seed 004: the childcare employer's
//! snapshot of all employees, the history of each, and the changes between
//! two snapshots). employes.nl publishes no open reference; the shapes
//! below follow what the seed uses (employees with salary, hours and
//! contract dates, paged) and common payroll REST APIs. Where this is the
//! emulator's own choice it says so.
//!
//! Routes (base `{emu}/employes/v4/{company}`; a bearer token):
//! - `GET …/employees?page=N&per_page=M`: 1-based pages, `per_page` at
//!   most 100 (default 25; more is clamped, as many payroll APIs do —
//!   this emulator's choice), ordered by employee number; the answer is
//!   `{data, page, per_page, pages, total}`. A page past the end is
//!   `200` with an empty `data` (not Kommo's `204`).
//! - `GET …/employees/{id}`: one employee, `404` when there is none.
//! - `GET …/employees/{id}/employments`: the employee's contracts, oldest
//!   first — `{data: [{id, start_date, end_date, hours_per_week, salary,
//!   salary_period, function}]}`; the last is the current one.
//!
//! Ugly cases kept (the seed's payroll data, and what such APIs do):
//! money as a decimal string (`"3245.50"`), hours as a number that may be
//! fractional (`31.5`), `end_date: null` for an open-ended contract, an
//! employee without any employment yet (a new hire), `employee_number`
//! beside the opaque `id`, and paging over a list that changes between
//! two pages (tests insert between calls). `401` without or with a wrong
//! token, `404` for another company, `429` with `Retry-After` past the
//! rate limit, and queued failures (`fail_next`) answer before anything
//! else.

mod routes;
#[cfg(test)]
mod tests;

pub(crate) use routes::{api, control};

use crate::common::{Clock, Gate};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The account's settings.
#[derive(Clone, Debug)]
pub struct EmployesOptions {
    /// The bearer token expected.
    pub token: String,
    /// The company id in the path.
    pub company: String,
    /// Requests per second before `429` (none: unlimited).
    pub rps: Option<u32>,
}

impl Default for EmployesOptions {
    fn default() -> EmployesOptions {
        EmployesOptions {
            token: "employes-test-token".into(),
            company: "7f1c-kinderopvang".into(),
            rps: None,
        }
    }
}

/// The company's employees and their contracts.
#[derive(Debug)]
pub struct EmployesState {
    /// Settings.
    pub options: EmployesOptions,
    /// Requests, the rate limit, failures.
    pub gate: Gate,
    /// The clock (`updated_at`).
    pub clock: Clock,
    /// Employees by id.
    pub employees: BTreeMap<String, Map<String, Value>>,
    /// Contracts by employee id, oldest first.
    pub employments: BTreeMap<String, Vec<Value>>,
    next: u64,
}

impl EmployesState {
    /// An empty company.
    pub fn new(options: EmployesOptions) -> EmployesState {
        EmployesState {
            gate: Gate::limited(options.rps),
            options,
            clock: Clock::default(),
            employees: BTreeMap::new(),
            employments: BTreeMap::new(),
            next: 0,
        }
    }

    /// Add an employee (`employee_number` given or the next one); its id.
    pub fn insert(&mut self, fields: &Map<String, Value>) -> String {
        self.next += 1;
        let id = format!("emp-{:08x}", 0x5ee_d000 + self.next);
        let mut record = fields.clone();
        record.insert("id".into(), json!(id));
        record
            .entry("employee_number")
            .or_insert_with(|| json!(1000 + self.next));
        record.insert(
            "updated_at".into(),
            json!(crate::common::iso(self.clock.now())),
        );
        self.employees.insert(id.clone(), record);
        self.employments.entry(id.clone()).or_default();
        id
    }

    /// Change an employee's fields (`null` removes one).
    pub fn update(&mut self, id: &str, fields: &Map<String, Value>) -> bool {
        let now = crate::common::iso(self.clock.now());
        let Some(record) = self.employees.get_mut(id) else {
            return false;
        };
        for (k, v) in fields {
            match v {
                Value::Null => drop(record.remove(k)),
                v => drop(record.insert(k.clone(), v.clone())),
            }
        }
        record.insert("updated_at".into(), json!(now));
        true
    }

    /// Start a contract (the current one ends the day before, when it is
    /// open-ended); its id.
    pub fn employ(&mut self, id: &str, contract: &Map<String, Value>) -> Option<String> {
        let list = self.employments.get_mut(id)?;
        let start = contract
            .get("start_date")
            .and_then(Value::as_str)
            .unwrap_or("");
        if let Some(last) = list.last_mut() {
            if last["end_date"].is_null() {
                last["end_date"] = json!(day_before(start));
            }
        }
        let cid = format!("{id}-c{}", list.len() + 1);
        let mut c = json!({"id": cid, "start_date": start, "end_date": null,
                           "hours_per_week": 0, "salary": "0.00", "salary_period": "month", "function": ""});
        for (k, v) in contract {
            c[k] = v.clone();
        }
        list.push(c);
        let fields = Map::new();
        self.update(id, &fields);
        Some(cid)
    }

    /// Remove an employee and their contracts (left the company and was
    /// deleted in payroll).
    pub fn remove(&mut self, id: &str) -> bool {
        self.employments.remove(id);
        self.employees.remove(id).is_some()
    }

    /// Add `count` made-up employees ([`seeded`]) with a contract each;
    /// their ids.
    pub fn seed(&mut self, count: u64) -> Vec<String> {
        let first = self.employees.len() as u64;
        (first + 1..=first + count)
            .map(|n| {
                let (e, c) = seeded(n);
                let id = self.insert(e.as_object().unwrap_or(&Map::new()));
                self.employ(&id, c.as_object().unwrap_or(&Map::new()));
                id
            })
            .collect()
    }

    /// Employees in employee-number order.
    pub fn ordered(&self) -> Vec<&Map<String, Value>> {
        let mut all: Vec<_> = self.employees.values().collect();
        all.sort_by_key(|e| {
            (
                e["employee_number"].as_u64().unwrap_or(u64::MAX),
                e["id"].to_string(),
            )
        });
        all
    }
}

/// `2025-03-01` → `2025-02-28`; anything unreadable stays as it is.
fn day_before(date: &str) -> String {
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.pred_opt())
        .map_or(date.to_string(), |d| d.to_string())
}

/// A made-up employee `n` of a childcare company (Dutch names, a
/// contract with salary and hours).
pub fn seeded(n: u64) -> (Value, Value) {
    let first = ["Sanne", "Daan", "Fleur", "Bram", "Noor", "Jesse"][n as usize % 6];
    let last = ["de Vries", "Jansen", "Bakker", "Visser", "Smit", "van Dijk"]
        [n as usize % 6 / 2 + n as usize % 3];
    let employee = json!({
        "first_name": first, "surname": format!("{last} {n}"),
        "email": format!("{}.{n}@kinderopvang.example", first.to_lowercase()),
        "date_of_birth": format!("19{}-0{}-1{}", 80 + n % 20, 1 + n % 9, n % 10),
    });
    let hours = [24.0, 32.0, 31.5, 36.0][n as usize % 4];
    let function = ["Pedagogisch medewerker", "Groepshulp", "Locatiemanager"][n as usize % 3];
    let contract = json!({
        "start_date": format!("202{}-0{}-01", n % 5, 1 + n % 9),
        "hours_per_week": hours,
        "salary": format!("{}.{:02}", 2400 + (n * 37) % 1500, n % 100),
        "function": function,
    });
    (employee, contract)
}

/// A handle on the company, for tests.
pub struct EmployesHandle {
    pub(crate) url: String,
    pub(crate) state: Arc<Mutex<EmployesState>>,
}

crate::common::controls!(EmployesHandle);

impl EmployesHandle {
    /// The API base: `{emu}/employes/v4/{company}`.
    pub fn base_url(&self) -> String {
        let company = self.state.lock().unwrap().options.company.clone();
        format!("{}/employes/v4/{company}", self.url)
    }

    /// The bearer token the API expects.
    pub fn token(&self) -> String {
        self.state.lock().unwrap().options.token.clone()
    }

    /// Add an employee; their id.
    pub fn insert(&self, fields: Value) -> String {
        let fields = fields.as_object().cloned().unwrap_or_default();
        self.state.lock().unwrap().insert(&fields)
    }

    /// Change an employee.
    pub fn update(&self, id: &str, fields: Value) {
        let fields = fields.as_object().cloned().unwrap_or_default();
        self.state.lock().unwrap().update(id, &fields);
    }

    /// Start a contract for an employee; its id.
    pub fn employ(&self, id: &str, contract: Value) -> Option<String> {
        let contract = contract.as_object().cloned().unwrap_or_default();
        self.state.lock().unwrap().employ(id, &contract)
    }

    /// Change the current contract in place (a correction of salary or
    /// hours without a new contract).
    pub fn amend(&self, id: &str, fields: Value) {
        let mut s = self.state.lock().unwrap();
        if let Some(c) = s.employments.get_mut(id).and_then(|l| l.last_mut()) {
            for (k, v) in fields.as_object().into_iter().flatten() {
                c[k] = v.clone();
            }
        }
        s.update(id, &Map::new());
    }

    /// Remove an employee.
    pub fn remove(&self, id: &str) {
        self.state.lock().unwrap().remove(id);
    }

    /// Add `count` made-up employees with a contract each; their ids.
    pub fn seed(&self, count: u64) -> Vec<String> {
        self.state.lock().unwrap().seed(count)
    }

    /// An employee as stored.
    pub fn get(&self, id: &str) -> Option<Map<String, Value>> {
        self.state.lock().unwrap().employees.get(id).cloned()
    }

    /// An employee's contracts, oldest first.
    pub fn employments(&self, id: &str) -> Vec<Value> {
        let s = self.state.lock().unwrap();
        s.employments.get(id).cloned().unwrap_or_default()
    }

    /// Every employee, in employee-number order.
    pub fn all(&self) -> Vec<Map<String, Value>> {
        let s = self.state.lock().unwrap();
        s.ordered().into_iter().cloned().collect()
    }
}
