//! English and German: the page's language is the `lang` cookie the
//! switch sets, else the first of English or German the browser's
//! `Accept-Language` names, else English. Texts sit where they are used,
//! as `lang.t("English", "Deutsch")`.

use axum::extract::{Path, Query};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// A page's language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// German.
    De,
}

impl Lang {
    /// The text in this language.
    pub fn t(self, en: &'static str, de: &'static str) -> &'static str {
        match self {
            Lang::En => en,
            Lang::De => de,
        }
    }

    /// Its code (`en`, `de`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }

    fn parse(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_', ';']).next()?;
        match primary.to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "de" => Some(Lang::De),
            _ => None,
        }
    }

    /// The language of a request (see the module docs).
    pub fn of(headers: &HeaderMap) -> Lang {
        if let Some(l) = super::session::cookie(headers, "lang").and_then(Lang::parse) {
            return l;
        }
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mut offered: Vec<(f32, usize, Lang)> = accept
            .split(',')
            .enumerate()
            .filter_map(|(i, part)| {
                let lang = Lang::parse(part)?;
                let q = part
                    .split(';')
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                (q > 0.0).then_some((q, i, lang))
            })
            .collect();
        offered.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        offered.first().map(|o| o.2).unwrap_or(Lang::En)
    }
}

#[derive(Deserialize)]
pub(crate) struct Back {
    back: Option<String>,
}

/// `GET /lang/{en|de}?back=/path`: remember the choice, go back.
pub(crate) async fn switch(Path(code): Path<String>, Query(b): Query<Back>) -> Response {
    let Some(lang) = Lang::parse(&code) else {
        return (StatusCode::NOT_FOUND, "English (en) or German (de)").into_response();
    };
    let cookie = format!(
        "lang={}; Path=/; Max-Age=31536000; SameSite=Lax",
        lang.code()
    );
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie),
            (header::LOCATION, super::local_path(b.back.as_deref())),
        ],
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(accept: &str, cookie: Option<&str>) -> Lang {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_LANGUAGE, accept.parse().unwrap());
        if let Some(c) = cookie {
            h.insert(header::COOKIE, c.parse().unwrap());
        }
        Lang::of(&h)
    }

    #[test]
    fn the_browser_chooses_unless_the_switch_did() {
        assert_eq!(with("de-DE,de;q=0.9,en;q=0.8", None), Lang::De);
        assert_eq!(with("nl-NL,nl;q=0.9,de;q=0.5,en;q=0.7", None), Lang::En);
        assert_eq!(with("sl,de;q=0.8", None), Lang::De);
        assert_eq!(with("fr", None), Lang::En);
        assert_eq!(with("de;q=0", None), Lang::En);
        assert_eq!(with("de-AT", Some("lang=en")), Lang::En);
        assert_eq!(with("en", Some("lang=de")), Lang::De);
    }
}
