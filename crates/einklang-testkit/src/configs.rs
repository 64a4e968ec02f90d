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

/// `[connectors.NAME]` on the contacts of `mailbox` in the Microsoft Graph
/// emulator at `base_url` (its `/graph/v1.0`), with a token from
/// `token_url` for the emulator's client: versions `changeKey`, a listing
/// of 5 a page by `@odata.nextLink`, the contacts delta feed (its
/// `@odata.deltaLink` the cursor, `@removed` entries deletes), and writes
/// with `If-Match`.
pub fn graph_connector(name: &str, base_url: &str, token_url: &str, mailbox: &str) -> String {
    let contacts = format!("/users/{mailbox}/contacts");
    format!(
        r#"[connectors.{name}]
kind = "http"
base_url = "{base_url}"
auth = {{ oauth2 = {{ token_url = "{token_url}", client_id = "einklang-graph-app", client_secret = "graph-s3cret", scope = "https://graph.microsoft.com/.default" }} }}
version = "changeKey"
list = {{ path = "{contacts}", records = "/value", paginate = "next_link", next = "/@odata.nextLink", params = {{ "$top" = 5 }} }}
changes = {{ path = "/users/{mailbox}/contactFolders/contacts/contacts/delta", delta = "/@odata.deltaLink", next = "/@odata.nextLink", removed = "/@removed" }}
get = {{ path = "{contacts}/{{id}}" }}
create = {{ path = "{contacts}" }}
update = {{ path = "{contacts}/{{id}}" }}
delete = {{ path = "{contacts}/{{id}}" }}
conditional = "If-Match"
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

    #[test]
    fn the_graph_connector_is_one_table_on_the_mailbox() {
        let text = graph_connector(
            "graph",
            "http://127.0.0.1:9/graph/v1.0",
            "http://127.0.0.1:9/login/t/oauth2/v2.0/token",
            "info@bau.de",
        );
        assert!(text.starts_with("[connectors.graph]\nkind = \"http\"\n"));
        assert!(text.contains("base_url = \"http://127.0.0.1:9/graph/v1.0\"\n"));
        assert!(text.contains("token_url = \"http://127.0.0.1:9/login/t/oauth2/v2.0/token\""));
        assert!(text.contains("get = { path = \"/users/info@bau.de/contacts/{id}\" }\n"));
        assert!(
            text.contains("path = \"/users/info@bau.de/contactFolders/contacts/contacts/delta\"")
        );
        assert!(text.ends_with("conditional = \"If-Match\"\n"));
    }
}
