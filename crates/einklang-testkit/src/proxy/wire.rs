//! Reading a byte stream in protocol units — an HTTP head, a line, a
//! counted run of bytes — and copying them on unchanged. What a reader
//! read ahead stays buffered for the next unit.

use std::io::{self, Read, Write};
use std::net::TcpStream;

/// Longest HTTP head (request or status line plus headers) accepted.
const MAX_HEAD: usize = 1 << 20;

/// A buffered reader of one side of a connection.
pub(super) struct Reader {
    stream: TcpStream,
    buf: Vec<u8>,
    start: usize,
}

impl Reader {
    pub fn new(stream: TcpStream) -> Reader {
        Reader {
            stream,
            buf: Vec::with_capacity(64 * 1024),
            start: 0,
        }
    }

    /// Bytes read ahead and not yet taken.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Read more; `false` at EOF.
    fn fill(&mut self) -> io::Result<bool> {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > 32 * 1024 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let mut chunk = [0u8; 32 * 1024];
        let n = self.stream.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    /// Take `n` buffered bytes.
    fn take(&mut self, n: usize) -> Vec<u8> {
        let out = self.buf[self.start..self.start + n].to_vec();
        self.start += n;
        out
    }

    /// The bytes up to and including the first `needle`; `None` at EOF
    /// before the first byte, an error at EOF after it.
    fn until(&mut self, needle: &[u8], max: usize) -> io::Result<Option<Vec<u8>>> {
        let mut searched: usize = 0;
        loop {
            let pending = &self.buf[self.start..];
            let from = searched.saturating_sub(needle.len());
            if let Some(i) = find(&pending[from..], needle) {
                return Ok(Some(self.take(from + i + needle.len())));
            }
            searched = pending.len();
            if searched > max {
                return Err(invalid("an HTTP head or line is too long"));
            }
            if !self.fill()? {
                return match self.buffered() {
                    0 => Ok(None),
                    _ => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "cut off")),
                };
            }
        }
    }

    /// An HTTP head, up to and including the blank line; `None` when the
    /// peer closed between messages.
    pub fn head(&mut self) -> io::Result<Option<Vec<u8>>> {
        self.until(b"\r\n\r\n", MAX_HEAD)
    }

    /// One line, with its `\n`.
    pub fn line(&mut self) -> io::Result<Vec<u8>> {
        self.until(b"\n", 64 * 1024)?
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "cut off"))
    }

    /// Exactly `n` bytes.
    pub fn exact(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.buffered() < n {
            if !self.fill()? {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "cut off"));
            }
        }
        Ok(self.take(n))
    }

    /// Exactly `n` bytes, or `None` at EOF before the first.
    pub fn exact_or_eof(&mut self, n: usize) -> io::Result<Option<Vec<u8>>> {
        if self.buffered() == 0 && !self.fill()? {
            return Ok(None);
        }
        self.exact(n).map(Some)
    }

    /// Copy exactly `n` bytes to `out`.
    pub fn copy(&mut self, mut n: u64, out: &mut dyn Write) -> io::Result<u64> {
        let total = n;
        while n > 0 {
            if self.buffered() == 0 && !self.fill()? {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "cut off"));
            }
            let k = (self.buffered() as u64).min(n) as usize;
            out.write_all(&self.buf[self.start..self.start + k])?;
            self.start += k;
            n -= k as u64;
        }
        Ok(total)
    }

    /// Copy everything up to EOF to `out`.
    pub fn copy_to_eof(&mut self, out: &mut dyn Write) -> io::Result<u64> {
        let mut total = 0;
        loop {
            let k = self.buffered();
            out.write_all(&self.buf[self.start..])?;
            self.start += k;
            total += k as u64;
            if !self.fill()? {
                return Ok(total);
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// An `InvalidData` error.
pub(super) fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}
