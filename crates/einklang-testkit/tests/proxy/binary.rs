//! `einklang-faultproxy`, the binary: rules from the command line and
//! from its control port, counters read back.

use crate::{agent, call};
use einklang_emulator::{Emulator, Options};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Kill the child when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_binary_takes_rules_on_its_control_port() {
    let emu = Emulator::start(Options::default());
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_einklang-faultproxy"))
            .args([
                "--upstream",
                &emu.url,
                "--mode",
                "http",
                "--rule",
                "inject status=503 times=1",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let mut addr = |prefix: &str| {
        let line = lines.next().unwrap().unwrap();
        line.strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{line}"))
            .to_string()
    };
    let (listen, control) = (addr("listening on "), addr("control on "));
    let a = agent();
    let api = format!("http://{listen}/api/v4/contacts");
    assert_eq!(
        call(&a, "GET", &api, &[], "").unwrap().0,
        503,
        "the rule from --rule"
    );
    let rules = format!("http://{control}/rules");
    let (status, _, text) = call(
        &a,
        "POST",
        &rules,
        &[],
        "inject status=429 retry-after=1 times=1\n",
    )
    .unwrap();
    assert_eq!((status, text.as_str()), (200, "added 1\n"));
    let (status, head, _) = call(&a, "GET", &api, &[], "").unwrap();
    assert_eq!(status, 429);
    assert!(head.contains("retry-after: 1"), "{head}");
    assert_eq!(call(&a, "GET", &api, &[], "").unwrap().0, 204);
    let (_, _, counters) = call(&a, "GET", &format!("http://{control}/counters"), &[], "").unwrap();
    assert!(
        counters.contains("injected 2\n") && counters.contains("forwarded 1\n"),
        "{counters}"
    );
    let (status, _, text) = call(&a, "POST", &rules, &[], "explode now\n").unwrap();
    assert_eq!(status, 400, "{text}");
    assert_eq!(call(&a, "DELETE", &rules, &[], "").unwrap().0, 200);
    assert_eq!(call(&a, "GET", &rules, &[], "").unwrap().2, "");
}
