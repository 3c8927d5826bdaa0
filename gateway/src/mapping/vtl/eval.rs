//! Evaluation of a parsed template.

use std::collections::HashMap;

use indexmap::IndexMap;

use super::ast::{Accessor, BinOp, Expr, Macro, Node, Pos, Reference};
use super::value::Value;
use super::{RenderOptions, Template, Vars, VtlError};

/// Velocity's `velocimacro.max.depth`.
const MAX_MACRO_DEPTH: usize = 20;
/// Largest range literal a template may build.
const MAX_RANGE: i64 = 100_000;

enum Control {
    Normal,
    Break,
    Stop,
}

struct Renderer<'t, 'v> {
    name: &'t str,
    macros: &'t HashMap<String, Macro>,
    vars: &'v mut Vars,
    opts: RenderOptions,
    macro_depth: usize,
    steps: u64,
}

pub(super) fn render(
    t: &Template,
    vars: &mut Vars,
    opts: RenderOptions,
) -> Result<String, VtlError> {
    let mut r = Renderer {
        name: &t.name,
        macros: &t.macros,
        vars,
        opts,
        macro_depth: 0,
        steps: 0,
    };
    let mut out = String::new();
    r.nodes(&t.nodes, &mut out)?;
    Ok(out)
}

impl Renderer<'_, '_> {
    fn error(&self, pos: Pos, message: impl Into<String>) -> VtlError {
        VtlError::new(self.name, pos, message)
    }

    fn nodes(&mut self, nodes: &[Node], out: &mut String) -> Result<Control, VtlError> {
        for node in nodes {
            match self.node(node, out)? {
                Control::Normal => {}
                other => return Ok(other),
            }
        }
        Ok(Control::Normal)
    }

    /// Count one step of work and check the output's size.
    fn tick(&mut self, pos: Pos, len: usize) -> Result<(), VtlError> {
        self.steps += 1;
        if self.steps > self.opts.max_steps {
            return Err(self.error(
                pos,
                format!(
                    "the template did more than {} steps of work",
                    self.opts.max_steps
                ),
            ));
        }
        if len > self.opts.max_len {
            return Err(self.error(
                pos,
                format!(
                    "the template built text longer than {} bytes",
                    self.opts.max_len
                ),
            ));
        }
        Ok(())
    }

    fn node(&mut self, node: &Node, out: &mut String) -> Result<Control, VtlError> {
        self.tick(Pos::default(), out.len())?;
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Ref(r) => {
                let v = self.reference(r)?;
                if matches!(v, Value::Void) {
                    // A void method prints nothing, quiet or not.
                } else if v.is_null() {
                    if !r.quiet && !self.opts.null_as_empty {
                        out.push_str(&r.literal);
                    }
                } else {
                    v.render_into(out);
                }
            }
            Node::EscapedRef {
                backslashes,
                reference,
            } => {
                let v = self.reference(reference).unwrap_or(Value::Null);
                if v.is_null() {
                    out.extend(std::iter::repeat_n('\\', *backslashes));
                    out.push_str(&reference.literal);
                } else {
                    out.extend(std::iter::repeat_n('\\', backslashes / 2));
                    if backslashes % 2 == 1 {
                        out.push_str(&reference.literal);
                    } else {
                        v.render_into(out);
                    }
                }
            }
            Node::Set { target, value, pos } => {
                let v = self.expr(value)?;
                // Velocity 1.7 leaves the target unchanged when the value is null.
                if !v.is_null() {
                    self.assign(target, v, *pos)?;
                }
            }
            Node::If {
                branches,
                otherwise,
            } => {
                for (cond, body) in branches {
                    if self.expr(cond)?.truthy() {
                        return self.nodes(body, out);
                    }
                }
                if let Some(body) = otherwise {
                    return self.nodes(body, out);
                }
            }
            Node::Foreach {
                var,
                iterable,
                body,
            } => return self.foreach(var, iterable, body, out),
            Node::Break => return Ok(Control::Break),
            Node::Stop => return Ok(Control::Stop),
            Node::MacroCall {
                name,
                args,
                literal,
                pos,
            } => {
                let Some(m) = self.macros.get(name) else {
                    out.push_str(literal);
                    return Ok(Control::Normal);
                };
                if self.macro_depth >= MAX_MACRO_DEPTH {
                    return Err(self.error(*pos, format!("macro #{name} recurses too deeply")));
                }
                let values = args
                    .iter()
                    .map(|a| self.expr(a))
                    .collect::<Result<Vec<_>, _>>()?;
                let saved: Vec<(String, Option<Value>)> = m
                    .params
                    .iter()
                    .map(|p| (p.clone(), self.vars.get(p).cloned()))
                    .collect();
                for (i, p) in m.params.iter().enumerate() {
                    match values.get(i) {
                        Some(v) if !v.is_null() => {
                            self.vars.insert(p.clone(), v.clone());
                        }
                        _ => {
                            self.vars.remove(p);
                        }
                    }
                }
                self.macro_depth += 1;
                let flow = self.nodes(&m.body, out);
                self.macro_depth -= 1;
                restore(self.vars, saved);
                if let Control::Stop = flow? {
                    return Ok(Control::Stop);
                }
            }
        }
        Ok(Control::Normal)
    }

    fn foreach(
        &mut self,
        var: &str,
        iterable: &Expr,
        body: &[Node],
        out: &mut String,
    ) -> Result<Control, VtlError> {
        let items: Vec<Value> = match self.expr(iterable)? {
            Value::List(l, _) => l.borrow().clone(),
            Value::Map(m) => m.borrow().values().cloned().collect(),
            _ => return Ok(Control::Normal),
        };
        let names = [var, "foreach", "velocityCount", "velocityHasNext"];
        let saved: Vec<(String, Option<Value>)> = names
            .iter()
            .map(|n| (n.to_string(), self.vars.get(*n).cloned()))
            .collect();
        let parent = self.vars.get("foreach").cloned().unwrap_or(Value::Null);
        let total = items.len();
        let mut flow = Control::Normal;
        for (i, item) in items.into_iter().enumerate() {
            if self.opts.max_loop.is_some_and(|max| i >= max) {
                break;
            }
            if item.is_null() {
                self.vars.remove(var);
            } else {
                self.vars.insert(var.to_string(), item);
            }
            let has_next = i + 1 < total;
            self.vars.insert(
                "foreach".into(),
                Value::Host(std::rc::Rc::new(LoopScope {
                    index: i,
                    has_next,
                    parent: parent.clone(),
                })),
            );
            self.vars
                .insert("velocityCount".into(), Value::Int(i as i64 + 1));
            self.vars
                .insert("velocityHasNext".into(), Value::Bool(has_next));
            match self.nodes(body, out)? {
                Control::Normal => {}
                Control::Break => break,
                Control::Stop => {
                    flow = Control::Stop;
                    break;
                }
            }
        }
        restore(self.vars, saved);
        Ok(flow)
    }

    fn assign(&mut self, target: &Reference, v: Value, pos: Pos) -> Result<(), VtlError> {
        let Some((last, path)) = target.chain.split_last() else {
            self.vars.insert(target.root.clone(), v);
            return Ok(());
        };
        let base = self.walk(target, path)?;
        match (last, &base) {
            (Accessor::Property(name), Value::Map(m)) => {
                m.borrow_mut().insert(name.clone(), v);
                Ok(())
            }
            (Accessor::Index(e), _) => {
                let idx = self.expr(e)?;
                match &base {
                    Value::Map(m) => {
                        m.borrow_mut().insert(idx.render(), v);
                        Ok(())
                    }
                    Value::List(l, _) => {
                        let mut l = l.borrow_mut();
                        match idx.as_i64().and_then(|i| usize::try_from(i).ok()) {
                            Some(i) if i < l.len() => {
                                l[i] = v;
                                Ok(())
                            }
                            _ => Err(self.error(
                                pos,
                                format!("{} is not an index of {}", idx.render(), target.literal),
                            )),
                        }
                    }
                    _ => Ok(()),
                }
            }
            (Accessor::Method(..), _) => Err(self.error(
                pos,
                format!("cannot assign to a method call in {}", target.literal),
            )),
            // Velocity logs and skips a set on something without that property.
            _ => Ok(()),
        }
    }

    fn walk(&mut self, r: &Reference, chain: &[Accessor]) -> Result<Value, VtlError> {
        let mut cur = self.vars.get(&r.root).cloned().unwrap_or(Value::Null);
        for acc in chain {
            if cur.is_null() {
                return Ok(Value::Null);
            }
            let step = match acc {
                Accessor::Property(name) => cur.property(name),
                Accessor::Method(name, args) => {
                    let args = args
                        .iter()
                        .map(|a| self.expr(a))
                        .collect::<Result<Vec<_>, _>>()?;
                    cur.call(name, &args).map(|v| v.unwrap_or(Value::Null))
                }
                Accessor::Index(e) => {
                    let idx = self.expr(e)?;
                    cur.index(&idx)
                }
            };
            cur = step.map_err(|t| self.error(r.pos, format!("{} failed: {}", r.literal, t.0)))?;
        }
        Ok(cur)
    }

    fn reference(&mut self, r: &Reference) -> Result<Value, VtlError> {
        self.walk(r, &r.chain)
    }

    fn expr(&mut self, e: &Expr) -> Result<Value, VtlError> {
        self.tick(Pos::default(), 0)?;
        let v = self.expr_inner(e)?;
        if let Value::Str(s) = &v {
            self.tick(Pos::default(), s.len())?;
        }
        Ok(v)
    }

    fn expr_inner(&mut self, e: &Expr) -> Result<Value, VtlError> {
        Ok(match e {
            Expr::Str(s) => Value::str(s.as_str()),
            Expr::Interpolated(nodes) => {
                let mut s = String::new();
                self.nodes(nodes, &mut s)?;
                Value::str(s)
            }
            Expr::Int(n) => Value::Int(*n),
            Expr::Float(f) => Value::Float(*f),
            Expr::Bool(b) => Value::Bool(*b),
            Expr::List(items) => Value::list(
                items
                    .iter()
                    .map(|i| self.expr(i))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Map(entries) => {
                let mut m = IndexMap::new();
                for (k, v) in entries {
                    let k = self.expr(k)?.render();
                    let v = self.expr(v)?;
                    m.insert(k, v);
                }
                Value::map(m)
            }
            Expr::Range(a, b) => {
                let (a, b) = (self.expr(a)?, self.expr(b)?);
                match (a.as_i64(), b.as_i64()) {
                    (Some(a), Some(b)) => {
                        if (a - b).abs() > MAX_RANGE {
                            return Ok(Value::Null);
                        }
                        let items: Vec<Value> = if a <= b {
                            (a..=b).map(Value::Int).collect()
                        } else {
                            (b..=a).rev().map(Value::Int).collect()
                        };
                        Value::list(items)
                    }
                    _ => Value::Null,
                }
            }
            Expr::Ref(r) => self.reference(r)?,
            Expr::Not(x) => Value::Bool(!self.expr(x)?.truthy()),
            Expr::Neg(x) => match self.expr(x)? {
                Value::Int(n) => n
                    .checked_neg()
                    .map_or(Value::Float(-(n as f64)), Value::Int),
                Value::Float(f) => Value::Float(-f),
                _ => Value::Null,
            },
            Expr::Binary(op, a, b) => self.binary(*op, a, b)?,
        })
    }

    fn binary(&mut self, op: BinOp, a: &Expr, b: &Expr) -> Result<Value, VtlError> {
        match op {
            BinOp::And => {
                return Ok(Value::Bool(
                    self.expr(a)?.truthy() && self.expr(b)?.truthy(),
                ))
            }
            BinOp::Or => {
                return Ok(Value::Bool(
                    self.expr(a)?.truthy() || self.expr(b)?.truthy(),
                ))
            }
            _ => {}
        }
        let (x, y) = (self.expr(a)?, self.expr(b)?);
        Ok(match op {
            BinOp::Eq => Value::Bool(x.velocity_eq(&y)),
            BinOp::Ne => Value::Bool(!x.velocity_eq(&y)),
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let (Some(p), Some(q)) = (x.as_f64(), y.as_f64()) else {
                    return Ok(Value::Bool(false));
                };
                Value::Bool(match op {
                    BinOp::Lt => p < q,
                    BinOp::Le => p <= q,
                    BinOp::Gt => p > q,
                    _ => p >= q,
                })
            }
            _ => arithmetic(op, &x, &y),
        })
    }
}

/// `$foreach`: where the loop is.
struct LoopScope {
    index: usize,
    has_next: bool,
    parent: Value,
}

impl super::value::Host for LoopScope {
    fn property(&self, name: &str) -> Option<Value> {
        Some(match name {
            "index" => Value::Int(self.index as i64),
            "count" => Value::Int(self.index as i64 + 1),
            "hasNext" => Value::Bool(self.has_next),
            "first" => Value::Bool(self.index == 0),
            "last" => Value::Bool(!self.has_next),
            "parent" => self.parent.clone(),
            _ => return None,
        })
    }

    fn call(&self, name: &str, args: &[Value]) -> Result<Option<Value>, String> {
        if !args.is_empty() {
            return Ok(None);
        }
        let prop = match name {
            "getIndex" => "index",
            "getCount" => "count",
            "hasNext" | "getHasNext" => "hasNext",
            "isFirst" | "getFirst" => "first",
            "isLast" | "getLast" => "last",
            "getParent" => "parent",
            _ => return Ok(None),
        };
        Ok(self.property(prop))
    }

    fn render(&self) -> String {
        "$foreach".into()
    }
}

fn restore(vars: &mut Vars, saved: Vec<(String, Option<Value>)>) {
    for (name, prev) in saved {
        match prev {
            Some(v) => {
                vars.insert(name, v);
            }
            None => {
                vars.remove(&name);
            }
        }
    }
}

/// Velocity's arithmetic: integers stay integers (widening on overflow), any float makes a
/// float, `+` with a string concatenates, division by zero and null operands give null.
fn arithmetic(op: BinOp, x: &Value, y: &Value) -> Value {
    if x.is_null() || y.is_null() {
        return Value::Null;
    }
    if let (Value::Int(a), Value::Int(b)) = (x, y) {
        let (a, b) = (*a, *b);
        let exact = match op {
            BinOp::Add => a.checked_add(b),
            BinOp::Sub => a.checked_sub(b),
            BinOp::Mul => a.checked_mul(b),
            BinOp::Div if b == 0 => return Value::Null,
            BinOp::Div => a.checked_div(b),
            BinOp::Mod if b == 0 => return Value::Null,
            BinOp::Mod => a.checked_rem(b),
            _ => return Value::Null,
        };
        if let Some(n) = exact {
            return Value::Int(n);
        }
    }
    match (x.as_f64(), y.as_f64()) {
        (Some(a), Some(b)) => Value::Float(match op {
            BinOp::Add => a + b,
            BinOp::Sub => a - b,
            BinOp::Mul => a * b,
            BinOp::Div if b == 0.0 => return Value::Null,
            BinOp::Div => a / b,
            BinOp::Mod if b == 0.0 => return Value::Null,
            BinOp::Mod => a % b,
            _ => return Value::Null,
        }),
        _ if op == BinOp::Add && (matches!(x, Value::Str(_)) || matches!(y, Value::Str(_))) => {
            Value::str(format!("{}{}", x.render(), y.render()))
        }
        _ => Value::Null,
    }
}
