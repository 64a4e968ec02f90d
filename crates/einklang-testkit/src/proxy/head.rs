//! HTTP/1.1 message heads: the request or status line, the headers the
//! proxy needs (framing and `Connection`), and how the body that follows
//! is delimited (RFC 9112 §6). Copying bodies by their framing is here
//! too, so a body is passed on byte for byte, chunk extensions and
//! trailers included.

use super::wire::{invalid, Reader};
use std::io::{self, Write};

/// A parsed head; the raw bytes are forwarded, never re-serialised.
#[derive(Debug)]
pub(super) struct Head {
    /// Request method, or empty for a response.
    pub method: String,
    /// Request target, or empty for a response.
    pub target: String,
    /// Response status, or 0 for a request.
    pub status: u16,
    /// `HTTP/1.1`.
    pub version: String,
    headers: Vec<(String, String)>,
}

/// How a body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Framing {
    /// No body.
    None,
    /// `Content-Length`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the server closes (a response without length).
    UntilEof,
}

impl Head {
    /// Parse a head as [`Reader::head`] returns it.
    pub fn parse(raw: &[u8], request: bool) -> io::Result<Head> {
        let text = std::str::from_utf8(raw).map_err(|_| invalid("a head that is not UTF-8"))?;
        let mut lines = text.split("\r\n");
        let first = lines.next().unwrap_or_default();
        let mut parts = first.splitn(3, ' ');
        let (a, b) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let mut head = Head {
            method: String::new(),
            target: String::new(),
            status: 0,
            version: String::new(),
            headers: Vec::new(),
        };
        if request {
            head.method = a.to_string();
            head.target = b.to_string();
            head.version = parts.next().unwrap_or("").to_string();
        } else {
            head.version = a.to_string();
            head.status = b.parse().map_err(|_| invalid("a bad status line"))?;
        }
        if !head.version.starts_with("HTTP/1.") {
            return Err(invalid("not HTTP/1.x"));
        }
        for line in lines.filter(|l| !l.is_empty()) {
            let (k, v) = line
                .split_once(':')
                .ok_or_else(|| invalid("a bad header"))?;
            head.headers
                .push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
        Ok(head)
    }

    /// The first value of a header (name in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn chunked(&self) -> bool {
        self.header("transfer-encoding")
            .and_then(|te| te.rsplit(',').next())
            .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
    }

    fn length(&self) -> io::Result<Option<u64>> {
        self.header("content-length")
            .map(|v| v.parse().map_err(|_| invalid("a bad Content-Length")))
            .transpose()
    }

    /// The framing of a request's body.
    pub fn request_framing(&self) -> io::Result<Framing> {
        Ok(match (self.chunked(), self.length()?) {
            (true, _) => Framing::Chunked,
            (false, Some(n)) => Framing::Length(n),
            (false, None) => Framing::None,
        })
    }

    /// The framing of a response's body, given its request's method.
    pub fn response_framing(&self, method: &str) -> io::Result<Framing> {
        if method.eq_ignore_ascii_case("HEAD") || matches!(self.status, 100..=199 | 204 | 304) {
            return Ok(Framing::None);
        }
        Ok(match (self.chunked(), self.length()?) {
            (true, _) => Framing::Chunked,
            (false, Some(n)) => Framing::Length(n),
            (false, None) => Framing::UntilEof,
        })
    }

    /// Whether the connection ends after this message.
    pub fn closes(&self) -> bool {
        let connection = self.header("connection").unwrap_or("").to_ascii_lowercase();
        connection.contains("close")
            || (self.version == "HTTP/1.0" && !connection.contains("keep-alive"))
    }
}

/// Copy a body of the given framing from `r` to `out`; the bytes copied.
pub(super) fn copy_body(r: &mut Reader, framing: Framing, out: &mut dyn Write) -> io::Result<u64> {
    match framing {
        Framing::None => Ok(0),
        Framing::Length(n) => r.copy(n, out),
        Framing::UntilEof => r.copy_to_eof(out),
        Framing::Chunked => copy_chunked(r, out),
    }
}

fn copy_chunked(r: &mut Reader, out: &mut dyn Write) -> io::Result<u64> {
    let mut total = 0;
    loop {
        let line = r.line()?;
        out.write_all(&line)?;
        total += line.len() as u64;
        let text = std::str::from_utf8(&line).map_err(|_| invalid("a bad chunk size"))?;
        let size = text.split(';').next().unwrap_or("").trim();
        let size = u64::from_str_radix(size, 16).map_err(|_| invalid("a bad chunk size"))?;
        if size == 0 {
            // trailers, up to an empty line
            loop {
                let line = r.line()?;
                out.write_all(&line)?;
                total += line.len() as u64;
                if line == b"\r\n" || line == b"\n" {
                    return Ok(total);
                }
            }
        }
        total += r.copy(size + 2, out)?;
    }
}

/// The head and body of an answer the proxy makes up itself.
pub(super) fn answer(status: u16, headers: &[(String, String)], body: &str) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Injected",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_follows_rfc_9112() {
        let req = Head::parse(b"PUT /a HTTP/1.1\r\nContent-Length: 12\r\n\r\n", true).unwrap();
        assert_eq!((req.method.as_str(), req.target.as_str()), ("PUT", "/a"));
        assert_eq!(req.request_framing().unwrap(), Framing::Length(12));
        let get = Head::parse(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", true).unwrap();
        assert_eq!(get.request_framing().unwrap(), Framing::None);
        let res = Head::parse(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 3\r\n\r\n",
            false,
        )
        .unwrap();
        assert_eq!(res.response_framing("GET").unwrap(), Framing::Chunked);
        assert_eq!(res.response_framing("HEAD").unwrap(), Framing::None);
        let old = Head::parse(b"HTTP/1.0 200 OK\r\n\r\n", false).unwrap();
        assert_eq!(old.response_framing("GET").unwrap(), Framing::UntilEof);
        assert!(old.closes());
        let empty = Head::parse(b"HTTP/1.1 204 No Content\r\n\r\n", false).unwrap();
        assert_eq!(empty.response_framing("DELETE").unwrap(), Framing::None);
        assert!(!empty.closes());
        assert!(Head::parse(b"SSH-2.0\r\n\r\n", false).is_err());
    }
}
