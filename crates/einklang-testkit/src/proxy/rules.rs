//! Fault rules: what to do to which requests, how many times, and the
//! text form the `einklang-faultproxy` control port takes
//! (`drop-answer method=POST path=/items times=1`).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// What a rule does to a request it matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forward the request, read the server's whole answer, then close the
    /// client's connection without sending it: the server applied the
    /// request, the client sees EOF.
    DropAnswer,
    /// Close the client's connection (and the server's) before forwarding.
    Reset,
    /// Forward, and hold the answer this long before sending it on.
    Delay(Duration),
    /// Answer this status without forwarding (HTTP only; a PostgreSQL
    /// proxy never applies it).
    Inject {
        /// Status code.
        status: u16,
        /// Extra headers (`Retry-After`).
        headers: Vec<(String, String)>,
    },
}

/// Which requests a fault applies to, and how often.
///
/// `method` is the HTTP method (case-insensitive) or, for PostgreSQL, the
/// first word of the statement (`COMMIT`, `SELECT`; `STARTUP` for the
/// startup message); `path` a substring of the request target or of the
/// statement's text. Without `times` a rule applies to every match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The fault.
    pub fault: Fault,
    /// Method or statement word to match (`None`: any).
    pub method: Option<String>,
    /// Substring of the path or statement to match (`None`: any).
    pub path: Option<String>,
    /// How many matches it applies to (`None`: all).
    pub times: Option<u32>,
}

impl Rule {
    fn of(fault: Fault) -> Rule {
        Rule {
            fault,
            method: None,
            path: None,
            times: None,
        }
    }

    /// Drop the answer after the server gave it ([`Fault::DropAnswer`]).
    pub fn drop_answer() -> Rule {
        Rule::of(Fault::DropAnswer)
    }

    /// Close the connection before forwarding ([`Fault::Reset`]).
    pub fn reset() -> Rule {
        Rule::of(Fault::Reset)
    }

    /// Hold the answer for `d` ([`Fault::Delay`]).
    pub fn delay(d: Duration) -> Rule {
        Rule::of(Fault::Delay(d))
    }

    /// Answer `status` instead of the server ([`Fault::Inject`]).
    pub fn inject(status: u16) -> Rule {
        Rule::of(Fault::Inject {
            status,
            headers: Vec::new(),
        })
    }

    /// Only requests with this method (statements with this first word).
    pub fn method(mut self, method: &str) -> Rule {
        self.method = Some(method.to_string());
        self
    }

    /// Only requests whose target (statement) contains `part`.
    pub fn path(mut self, part: &str) -> Rule {
        self.path = Some(part.to_string());
        self
    }

    /// Only the next `n` matches.
    pub fn times(mut self, n: u32) -> Rule {
        self.times = Some(n);
        self
    }

    /// Only the next match.
    pub fn once(self) -> Rule {
        self.times(1)
    }

    /// A header of an injected answer (ignored by other faults).
    pub fn header(mut self, name: &str, value: &str) -> Rule {
        if let Fault::Inject { headers, .. } = &mut self.fault {
            headers.push((name.to_string(), value.to_string()));
        }
        self
    }

    /// Whether the rule matches a request.
    pub(super) fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self.path.as_deref().is_none_or(|p| path.contains(p))
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.fault {
            Fault::DropAnswer => write!(f, "drop-answer")?,
            Fault::Reset => write!(f, "reset")?,
            Fault::Delay(d) => write!(f, "delay ms={}", d.as_millis())?,
            Fault::Inject { status, headers } => {
                write!(f, "inject status={status}")?;
                for (k, v) in headers {
                    write!(f, " header={k}:{v}")?;
                }
            }
        }
        if let Some(m) = &self.method {
            write!(f, " method={m}")?;
        }
        if let Some(p) = &self.path {
            write!(f, " path={p}")?;
        }
        if let Some(n) = self.times {
            write!(f, " times={n}")?;
        }
        Ok(())
    }
}

impl FromStr for Rule {
    type Err = String;

    /// `FAULT key=value…`: faults `drop-answer`, `reset`, `delay ms=N`,
    /// `inject status=N [retry-after=S] [header=Name:value]`; keys
    /// `method`, `path`, `times`.
    fn from_str(text: &str) -> Result<Rule, String> {
        let mut words = text.split_whitespace();
        let kind = words.next().ok_or("an empty rule")?;
        let pairs: Vec<(&str, &str)> = words
            .map(|w| w.split_once('=').ok_or(format!("`{w}` is not key=value")))
            .collect::<Result<_, _>>()?;
        let get = |key: &str| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
        let number = |key: &str| -> Result<u64, String> {
            let v = get(key).ok_or(format!("`{kind}` needs {key}=N"))?;
            v.parse().map_err(|_| format!("{key}={v} is not a number"))
        };
        let mut rule = match kind {
            "drop-answer" => Rule::drop_answer(),
            "reset" => Rule::reset(),
            "delay" => Rule::delay(Duration::from_millis(number("ms")?)),
            "inject" => Rule::inject(number("status")? as u16),
            _ => {
                return Err(format!(
                    "unknown fault `{kind}` (drop-answer, reset, delay, inject)"
                ))
            }
        };
        for (key, value) in &pairs {
            rule = match *key {
                "method" => rule.method(value),
                "path" => rule.path(value),
                "times" => rule.times(number("times")? as u32),
                "retry-after" => rule.header("Retry-After", value),
                "header" => {
                    let (k, v) = value.split_once(':').ok_or("header=Name:value")?;
                    rule.header(k, v)
                }
                "ms" | "status" => rule,
                _ => return Err(format!("unknown key `{key}`")),
            };
        }
        Ok(rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_read_and_print_as_text() {
        let r: Rule = "inject status=429 retry-after=2 method=GET times=1"
            .parse()
            .unwrap();
        assert_eq!(
            r,
            Rule::inject(429)
                .header("Retry-After", "2")
                .method("GET")
                .once()
        );
        assert_eq!(r.to_string().parse::<Rule>().unwrap(), r);
        let d: Rule = "delay ms=250 path=/x".parse().unwrap();
        assert_eq!(d, Rule::delay(Duration::from_millis(250)).path("/x"));
        assert!("explode".parse::<Rule>().is_err());
        assert!("delay".parse::<Rule>().is_err());
        assert!("reset times=x".parse::<Rule>().is_err());
    }

    #[test]
    fn a_rule_matches_by_method_and_path_part() {
        let r = Rule::drop_answer().method("post").path("/contacts");
        assert!(r.matches("POST", "/api/v4/contacts?x=1"));
        assert!(!r.matches("GET", "/api/v4/contacts"));
        assert!(!r.matches("POST", "/api/v4/events"));
        assert!(Rule::reset().matches("COMMIT", "COMMIT"));
    }
}
