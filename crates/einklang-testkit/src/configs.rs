//! Connector tables for the emulated seed systems that tests of more than
//! one crate write into their `einklang.toml`.

/// `[connectors.NAME]` on the `Beteiligte` of the Advoware emulator at
/// `base_url` (its root, ending in `/`) with a bearer `token` the emulator
/// issued: ids `betNr`, the version `rowId`, a create re-read (Advoware's
/// `POST` answers without `rowId`) and a `PUT` update, as Advoware takes it.
pub fn advoware_connector(name: &str, base_url: &str, token: &str) -> String {
    format!(
        r#"[connectors.{name}]
kind = "http"
base_url = "{base_url}api/v1/advonet"
auth = {{ bearer = "{token}" }}
id = "betNr"
version = "rowId"
list = {{ path = "/Beteiligte" }}
get = {{ path = "/Beteiligte/{{id}}", record = "/0" }}
create = {{ path = "/Beteiligte", reread = true }}
update = {{ method = "PUT", path = "/Beteiligte/{{id}}", record = "/0" }}
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_advoware_connector_is_one_table_with_its_urls_filled() {
        let text = advoware_connector("advo", "http://127.0.0.1:9/advoware/", "t0k");
        assert!(text.starts_with("[connectors.advo]\nkind = \"http\"\n"));
        assert!(text.contains("base_url = \"http://127.0.0.1:9/advoware/api/v1/advonet\"\n"));
        assert!(text.contains("auth = { bearer = \"t0k\" }\n"));
        assert!(text.contains("get = { path = \"/Beteiligte/{id}\", record = \"/0\" }\n"));
        assert!(text.ends_with("record = \"/0\" }\n"));
    }
}
