//! Capturing `tracing` output in a test: everything emitted at debug level
//! and above while a closure runs on this thread, formatted as the
//! binary's log lines are (spans with their fields, then the event's
//! fields), so a test can assert what appears — and what never does.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// A writer appending to a shared buffer.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut buf = self.0.lock().unwrap_or_else(|e| e.into_inner());
        buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Run `f` with a debug-level subscriber on this thread; its result and
/// the log it wrote.
pub fn capture<T>(f: impl FnOnce() -> T) -> (T, String) {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let result = tracing::subscriber::with_default(subscriber, || {
        // a callsite another test thread met first, with no subscriber,
        // may have cached "never"; ask every callsite again
        tracing::callsite::rebuild_interest_cache();
        f()
    });
    let bytes = buffer.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
    (result, String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn events_and_their_spans_are_captured() {
        let (n, log) = super::capture(|| {
            let _span = tracing::debug_span!("connector", name = "crm").entered();
            tracing::debug!(method = "GET", status = 200, "remote call");
            tracing::trace!("not at debug");
            7
        });
        assert_eq!(n, 7);
        assert!(log.contains("connector{name=\"crm\"}"), "{log}");
        assert!(log.contains("method=\"GET\" status=200"), "{log}");
        assert!(!log.contains("not at debug"), "{log}");
    }
}
