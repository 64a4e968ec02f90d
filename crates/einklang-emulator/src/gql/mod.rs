//! Just enough GraphQL for the emulators whose clients inline arguments
//! (monday.com: `boards(ids: [1]) { items_page(limit: 50) { … } }`): a
//! parser of one operation — fields with aliases and arguments (literals,
//! lists, objects, `$variables`), nested selections, inline fragments
//! (`... on EmailValue { email }`), variable defaults — and [`project`],
//! which answers exactly what was selected, as a real server does. Named
//! fragments, directives' effects and type checking are out of scope: a
//! document using fragments is refused, directives are skipped.
//! Grammar after the GraphQL specification (October 2021), §2.

use lex::{lex, Tok};
use serde_json::{Map, Value};

mod lex;

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
mod tests;
