//! Filter expressions over raw records: `created_at >= 2025-01-01 and status_id != 143`.
//!
//! Grammar (case-insensitive keywords):
//! ```text
//! expr    := or
//! or      := and ("or" and)*
//! and     := not ("and" not)*
//! not     := "not" not | primary
//! primary := "(" expr ")" | comparison
//! comparison := path op literal | path "in" "(" literal ("," literal)* ")"
//!             | path "is" ["not"] "empty"
//! op      := "=" | "==" | "!=" | "<" | "<=" | ">" | ">="
//! literal := number | 'text' | "text" | date (YYYY-MM-DD) | datetime (RFC 3339) | true | false | null
//! ```
//! Comparing a date literal with a number treats the number as epoch
//! seconds; with a string, the string is parsed as a date or date-time.

use serde::{Deserialize, Serialize};

/// A parsed filter, with its source text kept for messages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Filter {
    /// The expression as written in the config.
    pub source: String,
    /// The parsed tree.
    pub expr: Expr,
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CmpOp {
    /// `=` or `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A literal in a filter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Literal {
    /// A number.
    Number(f64),
    /// Quoted text.
    Text(String),
    /// A date `YYYY-MM-DD`.
    Date(chrono::NaiveDate),
    /// A date-time (RFC 3339), in UTC.
    DateTime(chrono::DateTime<chrono::Utc>),
    /// `true` / `false`.
    Bool(bool),
    /// `null`.
    Null,
}

/// A filter expression tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Expr {
    /// Both hold.
    And(Box<Expr>, Box<Expr>),
    /// Either holds.
    Or(Box<Expr>, Box<Expr>),
    /// Negation.
    Not(Box<Expr>),
    /// `path op literal`.
    Cmp {
        /// Field path (dotted for nested objects).
        path: String,
        /// Operator.
        op: CmpOp,
        /// Right-hand side.
        value: Literal,
    },
    /// `path in (a, b, c)`.
    In {
        /// Field path.
        path: String,
        /// Allowed values.
        values: Vec<Literal>,
    },
    /// `path is empty` (`negated`: `is not empty`).
    IsEmpty {
        /// Field path.
        path: String,
        /// `is not empty`.
        negated: bool,
    },
}

/// A syntax error in a filter, with the 0-based character column within the expression.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at column {column} of the filter)")]
pub struct ParseError {
    /// 0-based char offset within the filter text.
    pub column: usize,
    /// What was expected or found.
    pub message: String,
}

/// Parse a filter expression.
pub fn parse(source: &str) -> Result<Filter, ParseError> {
    let tokens = lex(source)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        end: source.chars().count(),
    };
    let expr = p.or()?;
    if let Some((col, tok)) = p.tokens.get(p.pos) {
        return Err(ParseError {
            column: *col,
            message: format!("unexpected {}", tok.describe()),
        });
    }
    Ok(Filter {
        source: source.to_string(),
        expr,
    })
}

impl Filter {
    /// Evaluate against a raw record. A missing field compares as null.
    /// Errors when the comparison makes no sense (text vs. date that does not parse).
    pub fn eval(&self, raw: &serde_json::Map<String, serde_json::Value>) -> Result<bool, String> {
        eval::expr(&self.expr, raw)
    }

    /// Every path the filter reads, in order of appearance.
    pub fn paths(&self) -> Vec<&str> {
        let mut out = Vec::new();
        let mut stack = vec![&self.expr];
        while let Some(e) = stack.pop() {
            match e {
                Expr::And(a, b) | Expr::Or(a, b) => {
                    stack.push(b);
                    stack.push(a);
                }
                Expr::Not(a) => stack.push(a),
                Expr::Cmp { path, .. } | Expr::In { path, .. } | Expr::IsEmpty { path, .. } => {
                    out.push(path.as_str())
                }
            }
        }
        out
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Text(String),
    Number(f64, String),
    Op(CmpOp),
    LParen,
    RParen,
    Comma,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Text(s) => format!("text '{s}'"),
            Tok::Number(_, s) => format!("number {s}"),
            Tok::Op(_) => "an operator".into(),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::Comma => "`,`".into(),
        }
    }
    fn keyword(&self, kw: &str) -> bool {
        matches!(self, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }
}

fn lex(source: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let err = |column: usize, message: &str| ParseError {
        column,
        message: message.to_string(),
    };
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push((start, Tok::LParen));
                i += 1
            }
            ')' => {
                out.push((start, Tok::RParen));
                i += 1
            }
            ',' => {
                out.push((start, Tok::Comma));
                i += 1
            }
            '=' | '!' | '<' | '>' => {
                let next = chars.get(i + 1).copied();
                let (op, len) = match (c, next) {
                    ('=', Some('=')) => (CmpOp::Eq, 2),
                    ('=', _) => (CmpOp::Eq, 1),
                    ('!', Some('=')) => (CmpOp::Ne, 2),
                    ('<', Some('=')) => (CmpOp::Le, 2),
                    ('<', Some('>')) => (CmpOp::Ne, 2),
                    ('<', _) => (CmpOp::Lt, 1),
                    ('>', Some('=')) => (CmpOp::Ge, 2),
                    ('>', _) => (CmpOp::Gt, 1),
                    _ => return Err(err(start, "`!` must be followed by `=`")),
                };
                out.push((start, Tok::Op(op)));
                i += len;
            }
            '\'' | '"' => {
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(err(start, "unterminated text literal")),
                        Some(&q) if q == c => {
                            if chars.get(i + 1) == Some(&c) {
                                text.push(c);
                                i += 2;
                            } else {
                                i += 1;
                                break;
                            }
                        }
                        Some(&ch) => {
                            text.push(ch);
                            i += 1
                        }
                    }
                }
                out.push((start, Tok::Text(text)));
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric()
                        || matches!(chars[i], '.' | '-' | ':' | '+'))
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                match word.parse::<f64>() {
                    Ok(n) => out.push((start, Tok::Number(n, word))),
                    Err(_) => out.push((start, Tok::Ident(word))),
                }
            }
            c if c.is_alphanumeric() || c == '_' || c == '/' => {
                i = path_end(&chars, i);
                let word: String = chars[start..i].iter().collect();
                if word.contains('[') || word.starts_with('/') {
                    // a path into nested values: checked here, located
                    if let Err(e) = crate::path::Path::parse(&word) {
                        return Err(err(start + e.column, &e.message));
                    }
                }
                out.push((start, Tok::Ident(word)));
            }
            _ => return Err(err(start, &format!("unexpected character `{c}`"))),
        }
    }
    Ok(out)
}

/// Where a field path that starts at `i` ends: letters, digits, `_ . - /`
/// and bracketed steps (`[field_id=12]`, `["a b"]`, `[*]`).
fn path_end(chars: &[char], mut i: usize) -> usize {
    while let Some(&c) = chars.get(i) {
        match c {
            c if c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '/' | '~') => i += 1,
            '[' => {
                let mut quoted = false;
                while let Some(&c) = chars.get(i) {
                    i += 1;
                    match c {
                        '"' => quoted = !quoted,
                        ']' if !quoted => break,
                        _ => {}
                    }
                }
            }
            _ => break,
        }
    }
    i
}

struct Parser {
    tokens: Vec<(usize, Tok)>,
    pos: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|(_, t)| t)
    }
    fn column(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |(c, _)| *c)
    }
    fn error<T>(&self, expected: &str) -> Result<T, ParseError> {
        let found = self
            .peek()
            .map_or("the end of the filter".to_string(), Tok::describe);
        Err(ParseError {
            column: self.column(),
            message: format!("expected {expected}, found {found}"),
        })
    }
    fn eat_keyword(&mut self, kw: &str) -> bool {
        if self.peek().is_some_and(|t| t.keyword(kw)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek() == Some(tok) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.and()?;
        while self.eat_keyword("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }
    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.not()?;
        while self.eat_keyword("and") {
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }
    fn not(&mut self) -> Result<Expr, ParseError> {
        if self.eat_keyword("not") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        if self.eat(&Tok::LParen) {
            let inner = self.or()?;
            if !self.eat(&Tok::RParen) {
                return self.error("`)`");
            }
            return Ok(inner);
        }
        self.comparison()
    }
    fn comparison(&mut self) -> Result<Expr, ParseError> {
        let path = match self.peek() {
            Some(Tok::Ident(s)) if !is_reserved(s) => s.clone(),
            _ => return self.error("a field name"),
        };
        self.pos += 1;
        if let Some(Tok::Op(op)) = self.peek().cloned() {
            self.pos += 1;
            let value = self.literal()?;
            return Ok(Expr::Cmp { path, op, value });
        }
        if self.eat_keyword("in") {
            if !self.eat(&Tok::LParen) {
                return self.error("`(` after `in`");
            }
            let mut values = vec![self.literal()?];
            while self.eat(&Tok::Comma) {
                values.push(self.literal()?);
            }
            if !self.eat(&Tok::RParen) {
                return self.error("`,` or `)`");
            }
            return Ok(Expr::In { path, values });
        }
        if self.eat_keyword("is") {
            let negated = self.eat_keyword("not");
            if !self.eat_keyword("empty") {
                return self.error("`empty`");
            }
            return Ok(Expr::IsEmpty { path, negated });
        }
        self.error("an operator (= != < <= > >=), `in` or `is`")
    }
    fn literal(&mut self) -> Result<Literal, ParseError> {
        let lit = match self.peek() {
            Some(Tok::Text(s)) => Literal::Text(s.clone()),
            Some(Tok::Number(n, word)) => literal_from_word(word).unwrap_or(Literal::Number(*n)),
            Some(Tok::Ident(word)) => match literal_from_word(word) {
                Some(l) => l,
                None => return self.error("a literal (number, 'text', date, true, false or null)"),
            },
            _ => return self.error("a literal (number, 'text', date, true, false or null)"),
        };
        self.pos += 1;
        Ok(lit)
    }
}

fn is_reserved(word: &str) -> bool {
    ["and", "or", "not", "in", "is", "empty"]
        .iter()
        .any(|k| word.eq_ignore_ascii_case(k))
}

fn literal_from_word(word: &str) -> Option<Literal> {
    if word.eq_ignore_ascii_case("true") {
        return Some(Literal::Bool(true));
    }
    if word.eq_ignore_ascii_case("false") {
        return Some(Literal::Bool(false));
    }
    if word.eq_ignore_ascii_case("null") {
        return Some(Literal::Null);
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(word, "%Y-%m-%d") {
        return Some(Literal::Date(d));
    }
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(word) {
        return Some(Literal::DateTime(dt.with_timezone(&chrono::Utc)));
    }
    None
}

pub(crate) mod eval;

#[cfg(test)]
mod tests;
