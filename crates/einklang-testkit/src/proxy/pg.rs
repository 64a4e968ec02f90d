//! The PostgreSQL side of the fault proxy (protocol 3.0). The startup
//! message (no type byte; an `SSLRequest` or `GSSENCRequest` is answered
//! `N` here) is forwarded, then both directions are relayed message by
//! message (a type byte and an int32 length) on two threads.
//!
//! Every request that the server answers with one `ReadyForQuery` — the
//! startup, a simple `Query`, an extended batch up to its `Sync`, a
//! `FunctionCall` — becomes an entry of a queue that the server-side
//! thread works off, so a fault follows the right answer even with
//! pipelining. Statements are matched by their first word (`COMMIT`) and
//! text: a `Query`'s own, an `Execute`'s through its portal and prepared
//! statement. Dropping an answer discards it up to its `ReadyForQuery`
//! and then closes the client: the server finished (a `COMMIT`
//! committed), the client lost its connection.

use super::wire::Reader;
use super::{close, connect, Fault, Faults, Mode};
use std::collections::{HashMap, VecDeque};
use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};

const SSL_REQUEST: u32 = 80_877_103;
const GSSENC_REQUEST: u32 = 80_877_104;
const CANCEL_REQUEST: u32 = 80_877_102;

/// A request awaiting its `ReadyForQuery`, with the fault for its answer.
#[derive(Default)]
struct Pending {
    fault: Option<Fault>,
    started: bool,
}

type Queue = Arc<Mutex<VecDeque<Pending>>>;

/// Relay one client connection until either side closes.
pub(super) fn relay(client: TcpStream, upstream: SocketAddr, faults: &Faults) -> io::Result<()> {
    let mut from_client = Reader::new(client.try_clone()?);
    let Some((startup, code)) = startup(&mut from_client, &client)? else {
        return Ok(());
    };
    let (server, id) = connect(&client, upstream, faults)?;
    let queue: Queue = Arc::default();
    if code != CANCEL_REQUEST {
        let fault = decide(faults, "STARTUP");
        if fault == Some(Fault::Reset) {
            close(&client, &server);
            faults.forget(id);
            return Ok(());
        }
        super::lock(&queue).push_back(Pending {
            fault,
            started: false,
        });
    }
    (&server).write_all(&startup)?;
    let answers = {
        let (server, client, queue, faults) = (
            server.try_clone()?,
            client.try_clone()?,
            queue.clone(),
            faults.clone(),
        );
        std::thread::spawn(move || backend(server, client, queue, &faults))
    };
    let result = frontend(&mut from_client, &server, &queue, faults);
    if result.is_err() {
        close(&client, &server);
    } else {
        let _ = server.shutdown(std::net::Shutdown::Write);
    }
    let _ = answers.join();
    close(&client, &server);
    faults.forget(id);
    result
}

/// The startup message, after answering encryption requests with `N`;
/// `None` when the client went away first.
fn startup(from_client: &mut Reader, client: &TcpStream) -> io::Result<Option<(Vec<u8>, u32)>> {
    loop {
        let Some(len) = from_client.exact_or_eof(4)? else {
            return Ok(None);
        };
        let n = u32::from_be_bytes(len[..4].try_into().expect("4 bytes")) as usize;
        if !(8..=10_000).contains(&n) {
            return Err(super::wire::invalid("a bad startup length"));
        }
        let body = from_client.exact(n - 4)?;
        let code = u32::from_be_bytes(body[..4].try_into().expect("4 bytes"));
        if code == SSL_REQUEST || code == GSSENC_REQUEST {
            (&*client).write_all(b"N")?;
            continue;
        }
        return Ok(Some(([len, body].concat(), code)));
    }
}

/// One typed message (type byte, length, body), raw; `None` at EOF.
fn message(r: &mut Reader) -> io::Result<Option<Vec<u8>>> {
    let Some(head) = r.exact_or_eof(5)? else {
        return Ok(None);
    };
    let n = u32::from_be_bytes(head[1..5].try_into().expect("4 bytes")) as usize;
    if n < 4 {
        return Err(super::wire::invalid("a bad message length"));
    }
    Ok(Some([head, r.exact(n - 4)?].concat()))
}

/// The NUL-terminated string a message body starts with, and what follows.
fn cstr(body: &[u8]) -> (String, &[u8]) {
    let end = body.iter().position(|b| *b == 0).unwrap_or(body.len());
    let rest = body.get(end + 1..).unwrap_or_default();
    (String::from_utf8_lossy(&body[..end]).into_owned(), rest)
}

fn decide(faults: &Faults, sql: &str) -> Option<Fault> {
    let word = sql
        .trim_start()
        .split(|c: char| c.is_whitespace() || c == ';')
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    faults.decide(Mode::Pg, &word, sql)
}

/// Client to server: note what each message asks, apply resets, forward.
fn frontend(
    from_client: &mut Reader,
    server: &TcpStream,
    queue: &Queue,
    faults: &Faults,
) -> io::Result<()> {
    let mut statements: HashMap<String, String> = HashMap::new();
    let mut portals: HashMap<String, String> = HashMap::new();
    let mut batch_open = false;
    while let Some(msg) = message(from_client)? {
        let body = &msg[5..];
        let mut fault = None;
        match msg[0] {
            b'Q' | b'E' => {
                let sql = match msg[0] {
                    b'Q' => cstr(body).0,
                    _ => portals.get(&cstr(body).0).cloned().unwrap_or_default(),
                };
                faults.count(|c| c.requests += 1);
                fault = decide(faults, &sql);
                if fault == Some(Fault::Reset) {
                    faults.count(|c| c.resets += 1);
                    return Err(io::Error::new(
                        io::ErrorKind::ConnectionReset,
                        "reset by a rule",
                    ));
                }
                faults.count(|c| c.forwarded += 1);
            }
            b'P' => {
                let (name, rest) = cstr(body);
                statements.insert(name, cstr(rest).0);
            }
            b'B' => {
                let (portal, rest) = cstr(body);
                let sql = statements.get(&cstr(rest).0).cloned().unwrap_or_default();
                portals.insert(portal, sql);
            }
            _ => {}
        }
        let mut q = super::lock(queue);
        match msg[0] {
            b'Q' | b'F' => q.push_back(Pending {
                fault,
                started: false,
            }),
            b'P' | b'B' | b'E' | b'D' | b'C' | b'S' => {
                if !batch_open {
                    q.push_back(Pending::default());
                    batch_open = true;
                }
                if fault.is_some() {
                    q.back_mut().expect("an open batch").fault = fault;
                }
                batch_open &= msg[0] != b'S';
            }
            _ => {}
        }
        drop(q);
        (&*server).write_all(&msg)?;
        faults.count(|c| c.bytes_up += msg.len() as u64);
    }
    Ok(())
}

/// Server to client: pass each answer on, or hold or drop it as its
/// request's fault says.
fn backend(server: TcpStream, client: TcpStream, queue: Queue, faults: &Faults) {
    let mut from_server = Reader::new(server.try_clone().expect("a socket"));
    while let Ok(Some(msg)) = message(&mut from_server) {
        faults.count(|c| c.bytes_down += msg.len() as u64);
        let (fault, first) = {
            let mut q = super::lock(&queue);
            let Some(p) = q.front_mut() else {
                if (&client).write_all(&msg).is_err() {
                    break;
                }
                continue; // unasked: a notification, a parameter status
            };
            let step = (p.fault.clone(), !p.started);
            p.started = true;
            if msg[0] == b'Z' {
                q.pop_front();
            }
            step
        };
        match fault {
            Some(Fault::DropAnswer) if msg[0] == b'Z' => {
                faults.count(|c| c.answers_dropped += 1);
                tracing::debug!("fault proxy: a PostgreSQL answer dropped");
                break;
            }
            Some(Fault::DropAnswer) => continue,
            Some(Fault::Delay(d)) if first => {
                std::thread::sleep(d);
                faults.count(|c| c.delayed += 1);
            }
            _ => {}
        }
        if (&client).write_all(&msg).is_err() {
            break;
        }
    }
    close(&client, &server);
}
