//! The HTTP/1.1 side of the fault proxy: one server connection per
//! client connection, requests relayed one at a time (keep-alive carries
//! several), each matched against the rules before it is forwarded. Heads
//! and bodies are passed on as read; only a fault changes what the client
//! sees. A server that closes an idle connection has it closed towards
//! the client too, as a direct connection would.

use super::head::{answer, copy_body, Framing, Head};
use super::wire::Reader;
use super::{close, connect, Fault, Faults, Mode};
use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Relay one client connection until either side closes.
pub(super) fn relay(client: TcpStream, upstream: SocketAddr, faults: &Faults) -> io::Result<()> {
    let (server, id) = connect(&client, upstream, faults)?;
    let result = requests(&client, &server, faults);
    close(&client, &server);
    faults.forget(id);
    result
}

fn requests(client: &TcpStream, server: &TcpStream, faults: &Faults) -> io::Result<()> {
    let mut from_client = Reader::new(client.try_clone()?);
    let mut from_server = Reader::new(server.try_clone()?);
    let (mut to_client, mut to_server) = (client.try_clone()?, server.try_clone()?);
    loop {
        if !next_request(&from_client, client, server, faults)? {
            return Ok(());
        }
        let Some(raw) = from_client.head()? else {
            return Ok(());
        };
        let req = Head::parse(&raw, true)?;
        faults.count(|c| c.requests += 1);
        let fault = faults.decide(Mode::Http, &req.method, &req.target);
        match &fault {
            Some(Fault::Reset) => {
                faults.count(|c| c.resets += 1);
                return Ok(());
            }
            Some(Fault::Inject { status, headers }) => {
                copy_body(&mut from_client, req.request_framing()?, &mut io::sink())?;
                // counted first: the client may look as soon as it has the answer
                faults.count(|c| c.injected += 1);
                to_client.write_all(&answer(*status, headers, "injected by the fault proxy\n"))?;
                continue;
            }
            _ => {}
        }
        to_server.write_all(&raw)?;
        let body = copy_body(&mut from_client, req.request_framing()?, &mut to_server)?;
        faults.count(|c| {
            c.forwarded += 1;
            c.bytes_up += raw.len() as u64 + body;
        });
        let delay = match fault {
            Some(Fault::Delay(d)) => Some(d),
            _ => None,
        };
        let drop = fault == Some(Fault::DropAnswer);
        let mut sink = io::sink();
        let out: &mut dyn Write = if drop { &mut sink } else { &mut to_client };
        let keep = response(&mut from_server, &req.method, delay, out, faults)?;
        if drop {
            faults.count(|c| c.answers_dropped += 1);
            tracing::debug!(method = %req.method, target = %req.target, "fault proxy: answer dropped");
            return Ok(());
        }
        if !keep {
            return Ok(());
        }
    }
}

/// Relay the answer to one request (interim `1xx` answers included) to
/// `out`; whether the connection stays open.
fn response(
    from_server: &mut Reader,
    method: &str,
    mut delay: Option<Duration>,
    out: &mut dyn Write,
    faults: &Faults,
) -> io::Result<bool> {
    loop {
        let Some(raw) = from_server.head()? else {
            return Ok(false); // the server closed without answering
        };
        let res = Head::parse(&raw, false)?;
        if let Some(d) = delay.take() {
            std::thread::sleep(d);
            faults.count(|c| c.delayed += 1);
        }
        out.write_all(&raw)?;
        let framing = res.response_framing(method)?;
        let body = copy_body(from_server, framing, out)?;
        faults.count(|c| c.bytes_down += raw.len() as u64 + body);
        if (100..200).contains(&res.status) && res.status != 101 {
            continue;
        }
        return Ok(!res.closes() && framing != Framing::UntilEof && res.status != 101);
    }
}

/// Wait until the client sends its next request; `false` when the client
/// closed, the server closed the idle connection, or the proxy stops.
fn next_request(
    from_client: &Reader,
    client: &TcpStream,
    server: &TcpStream,
    faults: &Faults,
) -> io::Result<bool> {
    if from_client.buffered() > 0 {
        return Ok(true);
    }
    let mut byte = [0u8; 1];
    client.set_read_timeout(Some(Duration::from_millis(100)))?;
    let ready = loop {
        match client.peek(&mut byte) {
            Ok(n) => break n > 0,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e),
        }
        if faults.stopping() || server_closed(server)? {
            break false;
        }
    };
    client.set_read_timeout(None)?;
    Ok(ready)
}

/// Whether the server closed its side (nothing should arrive unasked).
fn server_closed(server: &TcpStream) -> io::Result<bool> {
    server.set_nonblocking(true)?;
    let mut byte = [0u8; 1];
    let closed = match server.peek(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => false,
        Err(_) => true,
    };
    server.set_nonblocking(false)?;
    Ok(closed)
}
