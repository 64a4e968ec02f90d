//! The tokens of a GraphQL document (GraphQL spec, October 2021, §2.1):
//! punctuators, names, numbers and strings with their escapes; commas,
//! white space and comments are skipped.

/// A token.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok {
    Punct(char),
    Spread,
    Name(String),
    Int(i64),
    Float(f64),
    Str(String),
}

/// Tokens with their line and column (from 1).
pub(super) fn lex(src: &str) -> Result<Vec<(Tok, usize, usize)>, String> {
    let chars: Vec<char> = src.chars().collect();
    let (mut i, mut line, mut col) = (0, 1, 1);
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        let at = (line, col);
        let len = match c {
            '\n' => {
                (line, col) = (line + 1, 0);
                1
            }
            ' ' | '\t' | '\r' | ',' | '\u{feff}' => 1,
            '#' => chars[i..].iter().take_while(|c| **c != '\n').count(),
            '.' if chars[i..].starts_with(&['.', '.', '.']) => {
                out.push((Tok::Spread, at.0, at.1));
                3
            }
            '{' | '}' | '(' | ')' | '[' | ']' | ':' | '$' | '!' | '=' | '@' => {
                out.push((Tok::Punct(c), at.0, at.1));
                1
            }
            '"' => {
                let (s, n) =
                    string(&chars[i..]).ok_or(format!("Unterminated string at [{line}, {col}]"))?;
                out.push((Tok::Str(s), at.0, at.1));
                n
            }
            c if c == '-' || c.is_ascii_digit() => {
                let (t, n) =
                    number(&chars[i..]).ok_or(format!("Invalid number at [{line}, {col}]"))?;
                out.push((t, at.0, at.1));
                n
            }
            c if c == '_' || c.is_ascii_alphabetic() => {
                let n = chars[i..]
                    .iter()
                    .take_while(|c| **c == '_' || c.is_ascii_alphanumeric())
                    .count();
                out.push((Tok::Name(chars[i..i + n].iter().collect()), at.0, at.1));
                n
            }
            c => return Err(format!("Parse error on \"{c}\" at [{line}, {col}]")),
        };
        i += len;
        col += len;
    }
    Ok(out)
}

/// A quoted string at the start of `chars`: its text and length.
fn string(chars: &[char]) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut i = 1;
    while i < chars.len() {
        match chars[i] {
            '"' => return Some((out, i + 1)),
            '\\' => {
                let e = *chars.get(i + 1)?;
                if e == 'u' {
                    let hex: String = chars.get(i + 2..i + 6)?.iter().collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                    i += 6;
                    continue;
                }
                out.push(match e {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    other => other,
                });
                i += 2;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    None
}

/// A number at the start of `chars`: its token and length.
fn number(chars: &[char]) -> Option<(Tok, usize)> {
    let n = chars
        .iter()
        .enumerate()
        .take_while(|(i, c)| c.is_ascii_digit() || "+-.eE".contains(**c) && (*i > 0 || **c == '-'))
        .count();
    let text: String = chars[..n].iter().collect();
    if let Ok(i) = text.parse::<i64>() {
        return Some((Tok::Int(i), n));
    }
    text.parse::<f64>().ok().map(|f| (Tok::Float(f), n))
}
