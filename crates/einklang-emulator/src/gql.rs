//! Just enough GraphQL for the emulators whose clients inline arguments
//! (monday.com: `boards(ids: [1]) { items_page(limit: 50) { … } }`): a
//! parser of one operation — fields with aliases and arguments (literals,
//! lists, objects, `$variables`), nested selections, inline fragments
//! (`... on EmailValue { email }`), variable defaults — and [`project`],
//! which answers exactly what was selected, as a real server does. Named
//! fragments, directives' effects and type checking are out of scope: a
//! document using fragments is refused, directives are skipped.
//! Grammar after the GraphQL specification (October 2021), §2.

use serde_json::{Map, Value};

/// An argument value as written.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    /// `12`.
    Int(i64),
    /// `1.5`.
    Float(f64),
    /// `"text"`.
    Str(String),
    /// `true`.
    Bool(bool),
    /// `null`.
    Null,
    /// `asc` (an enum value).
    Enum(String),
    /// `[…]`.
    List(Vec<Arg>),
    /// `{k: v}`.
    Object(Vec<(String, Arg)>),
    /// `$name`.
    Var(String),
}

impl Arg {
    /// The value as JSON, with variables taken from `vars`.
    pub fn value(&self, vars: &Map<String, Value>) -> Value {
        match self {
            Arg::Int(i) => Value::from(*i),
            Arg::Float(f) => Value::from(*f),
            Arg::Str(s) | Arg::Enum(s) => Value::from(s.clone()),
            Arg::Bool(b) => Value::from(*b),
            Arg::Null => Value::Null,
            Arg::List(l) => Value::Array(l.iter().map(|a| a.value(vars)).collect()),
            Arg::Object(o) => {
                Value::Object(o.iter().map(|(k, a)| (k.clone(), a.value(vars))).collect())
            }
            Arg::Var(v) => vars.get(v).cloned().unwrap_or(Value::Null),
        }
    }
}

/// A selected field.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Field {
    /// `alias:` before the name.
    pub alias: Option<String>,
    /// The field's name.
    pub name: String,
    /// Arguments in order.
    pub args: Vec<(String, Arg)>,
    /// The sub-selection (empty for a leaf).
    pub selection: Vec<Selection>,
}

impl Field {
    /// The key of this field in the answer: the alias or the name.
    pub fn key(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.name)
    }

    /// An argument's value (`None` when absent or a missing variable).
    pub fn arg(&self, name: &str, vars: &Map<String, Value>) -> Option<Value> {
        let (_, a) = self.args.iter().find(|(k, _)| k == name)?;
        Some(a.value(vars)).filter(|v| !v.is_null() || matches!(a, Arg::Null))
    }
}

/// One entry of a selection set.
#[derive(Clone, Debug, PartialEq)]
pub enum Selection {
    /// A field.
    Field(Field),
    /// `... on Type { … }` (or `... { … }`).
    Inline {
        /// The type condition.
        on: Option<String>,
        /// Its fields.
        selection: Vec<Selection>,
    },
}

/// A parsed operation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Operation {
    /// `mutation` (else a query).
    pub mutation: bool,
    /// The root fields.
    pub selection: Vec<Selection>,
    /// Defaults of the declared variables.
    pub defaults: Map<String, Value>,
}

impl Operation {
    /// The root fields (inline fragments at the root flattened).
    pub fn fields(&self) -> Vec<&Field> {
        fields_of(&self.selection)
    }
}

fn fields_of(selection: &[Selection]) -> Vec<&Field> {
    let mut out = Vec::new();
    for s in selection {
        match s {
            Selection::Field(f) => out.push(f),
            Selection::Inline { selection, .. } => out.extend(fields_of(selection)),
        }
    }
    out
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Punct(char),
    Spread,
    Name(String),
    Int(i64),
    Float(f64),
    Str(String),
}

/// Tokens with their line and column (from 1).
fn lex(src: &str) -> Result<Vec<(Tok, usize, usize)>, String> {
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

/// Parse a document's first operation.
pub fn parse(src: &str) -> Result<Operation, String> {
    let mut p = Parser {
        toks: lex(src)?,
        at: 0,
    };
    let op = p.operation()?;
    if p.toks[p.at..]
        .iter()
        .any(|(t, ..)| *t == Tok::Name("fragment".into()))
    {
        return Err("Fragments are not supported by the emulator".into());
    }
    Ok(op)
}

struct Parser {
    toks: Vec<(Tok, usize, usize)>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|(t, ..)| t)
    }

    fn next(&mut self) -> Result<Tok, String> {
        let t = self.toks.get(self.at).map(|(t, ..)| t.clone());
        self.at += 1;
        t.ok_or_else(|| "Parse error on end of document".to_string())
    }

    fn error(&self) -> String {
        let Some((t, l, c)) = self.toks.get(self.at) else {
            return "Parse error on end of document".into();
        };
        let text = match t {
            Tok::Punct(p) => p.to_string(),
            Tok::Spread => "...".into(),
            Tok::Name(n) => n.clone(),
            Tok::Int(i) => i.to_string(),
            Tok::Float(f) => f.to_string(),
            Tok::Str(s) => s.clone(),
        };
        format!("Parse error on \"{text}\" at [{l}, {c}]")
    }

    fn eat(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(&Tok::Punct(c));
        self.at += hit as usize;
        hit
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn name(&mut self) -> Result<String, String> {
        match self.peek() {
            Some(Tok::Name(n)) => {
                let n = n.clone();
                self.at += 1;
                Ok(n)
            }
            _ => Err(self.error()),
        }
    }

    fn operation(&mut self) -> Result<Operation, String> {
        let mut op = Operation::default();
        if let Some(Tok::Name(kind)) = self.peek() {
            op.mutation = kind == "mutation";
            if !["query", "mutation", "subscription"].contains(&kind.as_str()) {
                return Err(self.error());
            }
            self.at += 1;
            if matches!(self.peek(), Some(Tok::Name(_))) {
                self.at += 1;
            }
            if self.eat('(') {
                op.defaults = self.variables()?;
            }
            self.directives()?;
        }
        op.selection = self.selection_set()?;
        Ok(op)
    }

    /// `$a: Type = default, …)`: the defaults.
    fn variables(&mut self) -> Result<Map<String, Value>, String> {
        let mut defaults = Map::new();
        while !self.eat(')') {
            self.expect('$')?;
            let name = self.name()?;
            self.expect(':')?;
            self.var_type()?;
            if self.eat('=') {
                defaults.insert(name, self.value()?.value(&Map::new()));
            }
            self.directives()?;
        }
        Ok(defaults)
    }

    fn var_type(&mut self) -> Result<(), String> {
        if self.eat('[') {
            self.var_type()?;
            self.expect(']')?;
        } else {
            self.name()?;
        }
        self.eat('!');
        Ok(())
    }

    fn directives(&mut self) -> Result<(), String> {
        while self.eat('@') {
            self.name()?;
            if self.eat('(') {
                self.arguments()?;
            }
        }
        Ok(())
    }

    fn selection_set(&mut self) -> Result<Vec<Selection>, String> {
        self.expect('{')?;
        let mut out = Vec::new();
        while !self.eat('}') {
            out.push(self.selection()?);
        }
        Ok(out)
    }

    fn selection(&mut self) -> Result<Selection, String> {
        if self.peek() == Some(&Tok::Spread) {
            self.at += 1;
            let on = match self.peek() {
                Some(Tok::Name(n)) if n == "on" => {
                    self.at += 1;
                    Some(self.name()?)
                }
                Some(Tok::Name(_)) => {
                    return Err("Fragments are not supported by the emulator".into())
                }
                _ => None,
            };
            self.directives()?;
            let selection = self.selection_set()?;
            return Ok(Selection::Inline { on, selection });
        }
        Ok(Selection::Field(self.field()?))
    }

    fn field(&mut self) -> Result<Field, String> {
        let mut f = Field {
            name: self.name()?,
            ..Field::default()
        };
        if self.eat(':') {
            f.alias = Some(std::mem::replace(&mut f.name, self.name()?));
        }
        if self.eat('(') {
            f.args = self.arguments()?;
        }
        self.directives()?;
        if self.peek() == Some(&Tok::Punct('{')) {
            f.selection = self.selection_set()?;
        }
        Ok(f)
    }

    /// `name: value, …)`.
    fn arguments(&mut self) -> Result<Vec<(String, Arg)>, String> {
        let mut args = Vec::new();
        while !self.eat(')') {
            let name = self.name()?;
            self.expect(':')?;
            args.push((name, self.value()?));
        }
        Ok(args)
    }

    fn value(&mut self) -> Result<Arg, String> {
        Ok(match self.next()? {
            Tok::Punct('$') => Arg::Var(self.name()?),
            Tok::Int(i) => Arg::Int(i),
            Tok::Float(f) => Arg::Float(f),
            Tok::Str(s) => Arg::Str(s),
            Tok::Name(n) => match n.as_str() {
                "true" => Arg::Bool(true),
                "false" => Arg::Bool(false),
                "null" => Arg::Null,
                _ => Arg::Enum(n),
            },
            Tok::Punct('[') => {
                let mut items = Vec::new();
                while !self.eat(']') {
                    items.push(self.value()?);
                }
                Arg::List(items)
            }
            Tok::Punct('{') => {
                let mut fields = Vec::new();
                while !self.eat('}') {
                    let k = self.name()?;
                    self.expect(':')?;
                    fields.push((k, self.value()?));
                }
                Arg::Object(fields)
            }
            _ => {
                self.at -= 1;
                return Err(self.error());
            }
        })
    }
}

/// Computes a field's raw value from its parent object when the value
/// depends on the field's arguments (`items_page(limit: 50)`); `None`: take
/// the parent's entry of the field's name.
pub type Hook<'a> = dyn FnMut(&Map<String, Value>, &Field) -> Option<Value> + 'a;

/// `value` cut down to `selection`: each selected field under its alias or
/// name, `null` when missing, inline fragments applied when the object's
/// `__typename` matches. An empty selection keeps a value whole.
pub fn project(value: &Value, selection: &[Selection], hook: &mut Hook) -> Value {
    if selection.is_empty() {
        return value.clone();
    }
    match value {
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| project(v, selection, hook)).collect())
        }
        Value::Object(obj) => {
            let mut out = Map::new();
            select_into(obj, selection, hook, &mut out);
            Value::Object(out)
        }
        other => other.clone(),
    }
}

fn select_into(
    obj: &Map<String, Value>,
    selection: &[Selection],
    hook: &mut Hook,
    out: &mut Map<String, Value>,
) {
    for s in selection {
        match s {
            Selection::Field(f) => {
                let raw = hook(obj, f).or_else(|| obj.get(&f.name).cloned());
                let v = raw.map_or(Value::Null, |r| project(&r, &f.selection, hook));
                out.insert(f.key().to_string(), v);
            }
            Selection::Inline { on, selection } => {
                let typename = obj.get("__typename").and_then(Value::as_str);
                if on.as_deref().is_none_or(|t| Some(t) == typename) {
                    select_into(obj, selection, hook, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_query_with_inline_arguments_parses() {
        let op = parse(
            "query Items($c: String = \"x\") { boards(ids: [12, 13]) { id items_page(limit: 2, cursor: $c) { cursor items { id name } } } }",
        )
        .unwrap();
        assert!(!op.mutation);
        assert_eq!(op.defaults["c"], json!("x"));
        let boards = op.fields()[0];
        assert_eq!(boards.name, "boards");
        assert_eq!(boards.arg("ids", &Map::new()), Some(json!([12, 13])));
        let Selection::Field(page) = &boards.selection[1] else {
            panic!()
        };
        let vars = json!({"c": "abc"}).as_object().cloned().unwrap();
        assert_eq!(page.arg("cursor", &vars), Some(json!("abc")));
        assert_eq!(page.arg("limit", &vars), Some(json!(2)));
    }

    #[test]
    fn strings_aliases_and_objects_parse() {
        let op = parse(r#"mutation { made: create_item(board_id: 1, item_name: "A \"q\" \u00e9", column_values: "{\"email\":{}}", opts: {a: [true, null, asc]}) { id } }"#).unwrap();
        assert!(op.mutation);
        let f = op.fields()[0];
        assert_eq!((f.key(), f.name.as_str()), ("made", "create_item"));
        let vars = Map::new();
        assert_eq!(f.arg("item_name", &vars), Some(json!("A \"q\" é")));
        assert_eq!(f.arg("column_values", &vars), Some(json!("{\"email\":{}}")));
        assert_eq!(
            f.arg("opts", &vars),
            Some(json!({"a": [true, null, "asc"]}))
        );
        assert_eq!(f.arg("missing", &vars), None);
    }

    #[test]
    fn bad_documents_are_refused_with_a_position() {
        let e = parse("query { boards(ids: ) { id } }").unwrap_err();
        assert!(e.starts_with("Parse error on"), "{e}");
        assert!(e.contains("[1, 21]"), "{e}");
        let e = parse("{ a { ...Parts } } fragment Parts on X { id }").unwrap_err();
        assert!(e.contains("Fragments"), "{e}");
        assert!(parse("{ a(x: \"open").is_err());
    }

    #[test]
    fn projection_answers_what_was_selected() {
        let op =
            parse("{ items { id alias: name column_values { id ... on EmailValue { email } } } }")
                .unwrap();
        let data = json!({"items": [{"id": "1", "name": "A", "state": "active", "column_values": [
            {"__typename": "EmailValue", "id": "e", "email": "a@b.c", "text": "a@b.c"},
            {"__typename": "TextValue", "id": "t", "text": "x"}]}]});
        let out = project(&data, &op.selection, &mut |_, _| None);
        assert_eq!(
            out,
            json!({"items": [{"id": "1", "alias": "A", "column_values": [{"id": "e", "email": "a@b.c"}, {"id": "t"}]}]})
        );
    }

    #[test]
    fn a_hook_computes_fields_from_their_arguments() {
        let op = parse("{ nums(upto: 3) }").unwrap();
        let mut hook = |_: &Map<String, Value>, f: &Field| {
            let n = f.arg("upto", &Map::new())?.as_u64()?;
            Some(json!((1..=n).collect::<Vec<_>>()))
        };
        assert_eq!(
            project(&json!({}), &op.selection, &mut hook),
            json!({"nums": [1, 2, 3]})
        );
    }
}
